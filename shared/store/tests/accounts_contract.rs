//! The `Accounts` contract (users and tokens), run against both Postgres and SQLite.

mod support;

use chrono::{Duration, Utc};
use healthmon_store::accounts::{KNOWN_CLIENTS_PER_USER, Role, Token, TokenKind, User, UserDeletion};
use support::Backend;
use uuid::Uuid;

contract_tests!(
    users_are_created_once_and_read_back,
    the_last_admin_cannot_be_deleted,
    concurrent_deletes_never_remove_the_last_admin,
    tokens_are_found_by_hash_touched_listed_and_revoked,
    login_clients_are_remembered_per_user_newest_kept_and_go_with_the_user,
);

fn user(name: &str, role: Role) -> User {
    User {
        username: name.into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{name}"),
        role,
        created_at: healthmon_store::now(),
    }
}

fn token(username: &str, kind: TokenKind) -> Token {
    let now = healthmon_store::now();
    Token {
        id: Uuid::now_v7(),
        hash: format!("{:064x}", Uuid::new_v4().as_u128()),
        username: username.into(),
        role: Role::Viewer,
        kind,
        name: (kind == TokenKind::Api).then(|| "ci".to_owned()),
        created_at: now,
        expires_at: Some(now + Duration::hours(12)),
        last_used_at: None,
    }
}

async fn users_are_created_once_and_read_back(backend: &Backend) {
    let store = &backend.store;
    assert_eq!(store.user_count().await.unwrap(), 0);
    let alice = user("alice", Role::Admin);
    assert!(store.create_user(&alice).await.unwrap());
    assert!(!store.create_user(&user("alice", Role::Viewer)).await.unwrap(), "a taken name is refused");
    assert!(store.create_user(&user("bob", Role::Viewer)).await.unwrap());
    assert_eq!(store.user("alice").await.unwrap(), Some(alice));
    assert_eq!(store.user("nobody").await.unwrap(), None);
    let names: Vec<String> = store.users().await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert_eq!(store.user_count().await.unwrap(), 2);
}

async fn the_last_admin_cannot_be_deleted(backend: &Backend) {
    let store = &backend.store;
    for (name, role) in [("a", Role::Admin), ("b", Role::Admin), ("v", Role::Viewer)] {
        store.create_user(&user(name, role)).await.unwrap();
    }
    assert_eq!(store.delete_user("v").await.unwrap(), UserDeletion::Deleted);
    assert_eq!(store.delete_user("a").await.unwrap(), UserDeletion::Deleted);
    assert_eq!(store.delete_user("b").await.unwrap(), UserDeletion::LastAdmin);
    assert_eq!(store.delete_user("nobody").await.unwrap(), UserDeletion::NotFound);
    assert!(store.user("b").await.unwrap().is_some());
}

async fn concurrent_deletes_never_remove_the_last_admin(backend: &Backend) {
    let (store, other) = (backend.store.clone(), backend.another_handle().await);
    store.create_user(&user("a", Role::Admin)).await.unwrap();
    store.create_user(&user("b", Role::Admin)).await.unwrap();
    let (first, second) = tokio::join!(store.delete_user("a"), other.delete_user("b"));
    let mut outcomes = [first.unwrap(), second.unwrap()];
    outcomes.sort_by_key(|o| *o == UserDeletion::Deleted);
    assert_eq!(outcomes, [UserDeletion::LastAdmin, UserDeletion::Deleted]);
    let admins = store.users().await.unwrap().into_iter().filter(|u| u.role == Role::Admin).count();
    assert_eq!(admins, 1);
}

async fn tokens_are_found_by_hash_touched_listed_and_revoked(backend: &Backend) {
    let store = &backend.store;
    store.create_user(&user("alice", Role::Admin)).await.unwrap();
    store.create_user(&user("bob", Role::Viewer)).await.unwrap();
    let session = token("alice", TokenKind::Session);
    let alice_api = token("alice", TokenKind::Api);
    let bob_api = token("bob", TokenKind::Api);
    for t in [&session, &alice_api, &bob_api] {
        store.create_token(t).await.unwrap();
    }
    assert_eq!(store.token_by_hash(&session.hash).await.unwrap(), Some(session.clone()));
    assert_eq!(store.token_by_hash("0000").await.unwrap(), None);

    let used = healthmon_store::now() + Duration::seconds(5);
    store.touch_token(session.id, used).await.unwrap();
    assert_eq!(store.token_by_hash(&session.hash).await.unwrap().unwrap().last_used_at, Some(used));

    let alices: Vec<Uuid> = store.api_tokens(Some("alice")).await.unwrap().iter().map(|t| t.id).collect();
    assert_eq!(alices, [alice_api.id], "session tokens are not listed");
    assert_eq!(store.api_tokens(None).await.unwrap().len(), 2);

    assert!(store.revoke_token(session.id).await.unwrap());
    assert!(!store.revoke_token(session.id).await.unwrap());
    assert_eq!(store.token_by_hash(&session.hash).await.unwrap(), None);

    assert_eq!(store.delete_user("bob").await.unwrap(), UserDeletion::Deleted);
    assert_eq!(store.token_by_hash(&bob_api.hash).await.unwrap(), None, "a deleted user's tokens go with them");
    assert!(Utc::now() > session.created_at);
}

async fn login_clients_are_remembered_per_user_newest_kept_and_go_with_the_user(backend: &Backend) {
    let store = &backend.store;
    store.create_user(&user("alice", Role::Viewer)).await.unwrap();
    store.create_user(&user("bob", Role::Viewer)).await.unwrap();
    let start = healthmon_store::now();
    assert!(!store.is_known_login_client("alice", "10.0.0.1").await.unwrap());
    store.remember_login_client("alice", "10.0.0.1", start).await.unwrap();
    store.remember_login_client("alice", "10.0.0.1", start + Duration::seconds(1)).await.unwrap();
    assert!(store.is_known_login_client("alice", "10.0.0.1").await.unwrap());
    assert!(!store.is_known_login_client("bob", "10.0.0.1").await.unwrap(), "per user");
    assert!(!store.is_known_login_client("alice", "10.0.0.2").await.unwrap(), "per client");

    // Logins from ever more clients keep only the newest; 10.0.0.1 logs in again along the way
    for n in 0..KNOWN_CLIENTS_PER_USER + 5 {
        store
            .remember_login_client("alice", &format!("2001:db8:{n}::/64"), start + Duration::seconds(2 + n))
            .await
            .unwrap();
        if n == 10 {
            store.remember_login_client("alice", "10.0.0.1", start + Duration::seconds(2 + n)).await.unwrap();
        }
    }
    assert!(store.is_known_login_client("alice", "10.0.0.1").await.unwrap(), "refreshed, so kept");
    assert!(!store.is_known_login_client("alice", "2001:db8:0::/64").await.unwrap(), "the oldest is forgotten");
    let newest = format!("2001:db8:{}::/64", KNOWN_CLIENTS_PER_USER + 4);
    assert!(store.is_known_login_client("alice", &newest).await.unwrap());

    assert_eq!(store.delete_user("alice").await.unwrap(), UserDeletion::Deleted);
    store.create_user(&user("alice", Role::Viewer)).await.unwrap();
    assert!(!store.is_known_login_client("alice", "10.0.0.1").await.unwrap(), "a new alice starts afresh");
}
