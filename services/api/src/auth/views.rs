//! What the account routes answer: sessions, users and API tokens, never a secret but the one
//! token a client has just been issued. The OpenAPI document derives its schemas from these.

use chrono::{DateTime, Utc};
use healthmon_store::accounts::{Role, Token, User};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub expires_at: DateTime<Utc>,
    #[schema(value_type = crate::openapi::schemas::Role)]
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    #[schema(value_type = crate::openapi::schemas::Role)]
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self { username: user.username.clone(), role: user.role, created_at: user.created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<UserView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: Uuid,
    #[schema(required = true)]
    pub name: Option<String>,
    pub username: String,
    #[schema(value_type = crate::openapi::schemas::Role)]
    pub role: Role,
    pub created_at: DateTime<Utc>,
    /// Null: never expires.
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&Token> for TokenView {
    fn from(token: &Token) -> Self {
        Self {
            id: token.id,
            name: token.name.clone(),
            username: token.username.clone(),
            role: token.role,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenView>,
}

/// A new API token; `token` is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    #[serde(flatten)]
    pub view: TokenView,
    pub token: String,
}
