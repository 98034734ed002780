//! Request extractors whose rejections are API errors, and the authentication seam.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use healthmon_store::accounts::Role;

pub use crate::auth::Caller;
use crate::auth::authenticate;
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body; syntax, content type and size problems become JSON errors, and so does a NUL
/// (U+0000) in any string or field name of it (422 naming each), which no store can hold: every
/// body reaches the handlers through here, so none can carry one further.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let axum::Json(document) = axum::Json::<Value>::from_request(request, state).await?;
        let nuls = healthmon_domain::validation::nul_characters(&document);
        if !nuls.is_empty() {
            return Err(ApiError::Validation(nuls));
        }
        serde_json::from_value(document)
            .map(JsonBody)
            .map_err(|error| ApiError::BadRequest(format!("unexpected JSON: {error}")))
    }
}

#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct PathParam<T>(pub T);

/// A target id from the path; anything that is not a UUID names no target.
pub struct TargetId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for TargetId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state).await?;
        Uuid::parse_str(&raw).map(TargetId).map_err(|_| ApiError::target_not_found())
    }
}

/// Any authenticated caller (reads).
pub struct Reader(pub Caller);

/// An admin (writes).
pub struct Writer(pub Caller);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(state, &parts.headers).await.map(Reader)
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = authenticate(state, &parts.headers).await?;
        if caller.role == Role::Admin { Ok(Writer(caller)) } else { Err(ApiError::Forbidden) }
    }
}
