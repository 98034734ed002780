//! The conversions from accounts as stored to what the account routes answer
//! (`healthmon_wire::auth`): never a secret but the one token a client has just been issued.

use healthmon_store::accounts::{Role, Token, User};
use healthmon_wire::auth as wire;

pub fn role(role: Role) -> wire::Role {
    match role {
        Role::Admin => wire::Role::Admin,
        Role::Viewer => wire::Role::Viewer,
    }
}

pub fn user(user: &User) -> wire::UserView {
    wire::UserView { username: user.username.clone(), role: role(user.role), created_at: user.created_at }
}

pub fn token(token: &Token) -> wire::TokenView {
    wire::TokenView {
        id: token.id,
        name: token.name.clone(),
        username: token.username.clone(),
        role: role(token.role),
        created_at: token.created_at,
        expires_at: token.expires_at,
        last_used_at: token.last_used_at,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use healthmon_store::accounts::{Role, Token, TokenKind, User};
    use serde_json::{Value, json};
    use uuid::Uuid;

    fn json_of(view: impl serde::Serialize) -> Value {
        serde_json::to_value(view).expect("a view serializes")
    }

    /// The JSON the account routes sent before the wire types, for the same accounts.
    #[test]
    fn account_views_are_the_json_the_api_sent_before() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().expect("a time");
        for role in [Role::Admin, Role::Viewer] {
            let user = User { username: "ops".into(), password_hash: "$argon2id$…".into(), role, created_at: at };
            assert_eq!(
                json_of(super::user(&user)),
                json!({"username": "ops", "role": role.as_str(), "created_at": at})
            );
            for (name, expires_at, last_used_at) in [(Some("ci".to_owned()), Some(at), Some(at)), (None, None, None)] {
                let token = Token {
                    id: Uuid::now_v7(),
                    hash: "ab12".into(),
                    kind: TokenKind::Api,
                    name: name.clone(),
                    username: "ops".into(),
                    role,
                    created_at: at,
                    expires_at,
                    last_used_at,
                };
                let view = json!({"id": token.id, "name": name, "username": "ops", "role": role.as_str(),
                                  "created_at": at, "expires_at": expires_at, "last_used_at": last_used_at});
                assert_eq!(json_of(super::token(&token)), view);
                let created = healthmon_wire::TokenCreated { view: super::token(&token), token: "hm_secret".into() };
                let mut shown = view.clone();
                shown["token"] = json!("hm_secret");
                assert_eq!(json_of(created), shown);
            }
        }
    }
}
