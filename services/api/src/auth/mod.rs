//! Authentication: users with argon2id passwords, opaque bearer tokens stored as SHA-256, the
//! login limiter, and the first-start admin.

pub mod bootstrap;
pub mod gate;
pub mod limiter;
pub mod passwords;
pub mod routes;
pub mod tokens;
pub mod views;

use axum::http::HeaderMap;
use chrono::Duration;
use healthmon_store::accounts::Role;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// How stale `last_used_at` may get before a request refreshes it (spares a write per request).
const TOUCH_EVERY: Duration = Duration::seconds(60);

/// Who is calling, as their token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    pub token_id: Uuid,
}

/// The token from `Authorization: Bearer …`, or from the `token` header the predecessor used.
fn presented_token(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")));
    bearer.or_else(|| headers.get("token").and_then(|value| value.to_str().ok())).map(str::trim)
}

/// Resolves the presented token to a caller; any problem is a plain 401 that reveals nothing.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let secret = presented_token(headers).filter(|s| !s.is_empty()).ok_or(ApiError::Unauthorized)?;
    let token = state.store.token_by_hash(&tokens::hash_of(secret)).await?.ok_or(ApiError::Unauthorized)?;
    let now = healthmon_store::now();
    if token.expires_at.is_some_and(|expires_at| expires_at <= now) {
        return Err(ApiError::Unauthorized);
    }
    if token.last_used_at.is_none_or(|used| now - used > TOUCH_EVERY) {
        let store = state.store.clone();
        tokio::spawn(async move {
            if let Err(error) = store.touch_token(token.id, now).await {
                tracing::debug!(error = %format!("{error:#}"), "could not record token use");
            }
        });
    }
    Ok(Caller { username: token.username, role: token.role, token_id: token.id })
}
