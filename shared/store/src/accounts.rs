//! Users and their tokens: the `Accounts` half of the store.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a caller may do; ordered, so a token can be limited to "no higher than its owner".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads only.
    Viewer,
    /// Everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    /// An argon2id PHC string; never the password.
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User").field("username", &self.username).field("role", &self.role).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// From a login; expires.
    Session,
    /// Long-lived, for automation; named, listed and revoked by its owner.
    Api,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Session => "session",
            TokenKind::Api => "api",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "session" => Some(TokenKind::Session),
            "api" => Some(TokenKind::Api),
            _ => None,
        }
    }
}

/// A stored token: only the SHA-256 of its secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: Uuid,
    /// Hex SHA-256 of the token's secret text.
    pub hash: String,
    pub username: String,
    pub role: Role,
    pub kind: TokenKind,
    pub name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserDeletion {
    Deleted,
    NotFound,
    /// Refused: it is the last admin.
    LastAdmin,
}

#[async_trait]
pub trait Accounts: Send + Sync {
    async fn user_count(&self) -> anyhow::Result<u64>;

    /// Returns false when the username is taken.
    async fn create_user(&self, user: &User) -> anyhow::Result<bool>;

    async fn user(&self, username: &str) -> anyhow::Result<Option<User>>;

    async fn users(&self) -> anyhow::Result<Vec<User>>;

    /// Deletes the user and every token of theirs, unless that would leave no admin; the check
    /// and the delete happen atomically, so two concurrent deletes cannot remove the last two admins.
    async fn delete_user(&self, username: &str) -> anyhow::Result<UserDeletion>;

    async fn create_token(&self, token: &Token) -> anyhow::Result<()>;

    /// The token with this hash whose owner still exists (expired ones too: the caller decides).
    async fn token_by_hash(&self, hash: &str) -> anyhow::Result<Option<Token>>;

    async fn touch_token(&self, id: Uuid, at: DateTime<Utc>) -> anyhow::Result<()>;

    /// Returns false when no such token exists.
    async fn revoke_token(&self, id: Uuid) -> anyhow::Result<bool>;

    /// API tokens, of one user or of everyone.
    async fn api_tokens(&self, username: Option<&str>) -> anyhow::Result<Vec<Token>>;

    /// Records a successful login of `username` from `client` (the login limiter's text for a
    /// client address), keeping the [`KNOWN_CLIENTS_PER_USER`] most recent clients per user.
    async fn remember_login_client(&self, username: &str, client: &str, at: DateTime<Utc>) -> anyhow::Result<()>;

    /// Whether `username` has logged in from `client` before (and is still among its most recent).
    async fn is_known_login_client(&self, username: &str, client: &str) -> anyhow::Result<bool>;
}

/// How many clients a user's login history keeps: enough for home, office, phone and travel.
pub const KNOWN_CLIENTS_PER_USER: i64 = 20;
