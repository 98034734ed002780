//! The one API error type, mapped to statuses and JSON bodies in one place.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use healthmon_domain::ValidationErrors;
use healthmon_wire::errors::{ErrorBody, ErrorDetail, ErrorDetails};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed for your role")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A path segment no route could take (one that decodes to a NUL): 400 `invalid_path`.
    #[error("{0}")]
    InvalidPath(String),
    /// A query parameter, by name, whose value no route could take: 400 `invalid_query`.
    #[error("{message}")]
    InvalidQuery { parameter: String, message: String },
    #[error("validation failed")]
    Validation(ValidationErrors),
    #[error("too many attempts; try again later")]
    TooManyRequests(std::time::Duration),
    #[error("{0}")]
    Unavailable(String),
    /// Too busy to take this on now (every password-hashing place is taken): 503 with `Retry-After`.
    #[error("too many logins are being checked at once; try again shortly")]
    Busy(std::time::Duration),
    /// Logged with its cause; the client sees a generic message.
    #[error("internal error")]
    Internal(anyhow::Error),
}

/// A store error is internal unless the store refused the write for a reason the client can act on.
impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        match error.downcast::<healthmon_store::DuplicateResource>() {
            Ok(duplicate) => Self::Conflict(duplicate.to_string()),
            Err(error) => Self::Internal(error),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::InvalidPath(_) | Self::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::InvalidPath(_) => "invalid_path",
            Self::InvalidQuery { .. } => "invalid_query",
            Self::Validation(_) => "validation_failed",
            Self::TooManyRequests(_) => "too_many_requests",
            Self::Unavailable(_) => "unavailable",
            Self::Busy(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(ValidationErrors::single(field, message))
    }

    pub fn target_not_found() -> Self {
        Self::NotFound("no target with that id".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let details = match &self {
            Self::Validation(errors) => ErrorDetails { fields: Some(errors.fields().clone()), parameter: None },
            Self::InvalidQuery { parameter, .. } => ErrorDetails { fields: None, parameter: Some(parameter.clone()) },
            _ => ErrorDetails::default(),
        };
        if let Self::Internal(cause) = &self {
            tracing::error!(error = %format!("{cause:#}"), "request failed");
        }
        let body = ErrorBody { error: ErrorDetail { code: self.code().into(), message: self.to_string(), details } };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::TooManyRequests(wait) | Self::Busy(wait) => {
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
            }
            _ => {}
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => {
                Self::UnsupportedMediaType("send the body as JSON with Content-Type: application/json".into())
            }
            JsonRejection::JsonSyntaxError(error) => Self::BadRequest(format!("malformed JSON: {}", error.body_text())),
            JsonRejection::JsonDataError(error) => Self::BadRequest(format!("unexpected JSON: {}", error.body_text())),
            other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            other => Self::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(format!("bad query string: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(_: PathRejection) -> Self {
        Self::NotFound("no such resource".into())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::ApiError;

    async fn body(error: ApiError) -> Value {
        let response = axum::response::IntoResponse::into_response(error);
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.expect("the body is read");
        serde_json::from_slice(&bytes).expect("the body is JSON")
    }

    /// The same JSON as when the details were a JSON value built here.
    #[tokio::test]
    async fn error_bodies_name_each_bad_field_the_parameter_or_nothing() {
        assert_eq!(
            body(ApiError::invalid("interval_s", "must be a whole number")).await,
            json!({"error": {"code": "validation_failed", "message": "validation failed",
                             "details": {"fields": {"interval_s": "must be a whole number"}}}})
        );
        let query = ApiError::InvalidQuery { parameter: "limit".into(), message: "must be 1 … 1000".into() };
        assert_eq!(body(query).await["error"]["details"], json!({"parameter": "limit"}));
        assert_eq!(body(ApiError::Forbidden).await["error"]["details"], json!({}));
    }
}
