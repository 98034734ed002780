//! Request extractors whose rejections are API errors, and the authentication seam.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use uuid::Uuid;

use crate::error::ApiError;

/// A JSON body; syntax, content type and size problems become JSON errors.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct JsonBody<T>(pub T);

#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// A target id from the path; anything that is not a UUID names no target.
pub struct TargetId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for TargetId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state).await?;
        Uuid::parse_str(&raw).map(TargetId).map_err(|_| ApiError::target_not_found())
    }
}

/// Who is calling. Authentication fills this in; until then every caller may do everything.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
    pub can_write: bool,
}

/// Any authenticated caller (reads).
pub struct Reader(pub Caller);

/// A caller allowed to change things (writes).
pub struct Writer(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Reader(Caller { name: "anonymous".into(), can_write: true }))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Reader(caller) = Reader::from_request_parts(parts, state).await?;
        if caller.can_write { Ok(Writer(caller)) } else { Err(ApiError::Forbidden) }
    }
}
