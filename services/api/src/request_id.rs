//! Request ids: an incoming `x-request-id` is kept (when sane) or a UUID is made up, echoed in the
//! response and recorded in the request's span, so every log line of a request carries it.

use axum::http::{HeaderName, HeaderValue, Request};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longer ids than this are replaced: a client must not be able to bloat every log line.
const MAX_LEN: usize = 128;

/// Sets the id when absent (outer), then copies it onto the response (inner).
pub fn layers() -> (SetRequestIdLayer<MakeRequestUuid>, PropagateRequestIdLayer) {
    (SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid), PropagateRequestIdLayer::new(REQUEST_ID))
}

/// Drops an incoming id that is too long or not printable, so a fresh one is generated instead.
pub fn drop_unfit<B>(mut request: Request<B>) -> Request<B> {
    if request.headers().get(&REQUEST_ID).is_some_and(|value| !is_fit(value)) {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// Whether a caller's id is kept: at most `MAX_LEN` printable characters.
pub fn is_fit(value: &HeaderValue) -> bool {
    !value.is_empty() && value.len() <= MAX_LEN && value.as_bytes().iter().all(|byte| byte.is_ascii_graphic())
}

/// A new id, as the layers make one.
pub fn fresh() -> HeaderValue {
    let mut buffer = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buffer))
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The request's id for its span; empty only if the layers above are missing.
pub fn of<B>(request: &Request<B>) -> &str {
    request.headers().get(&REQUEST_ID).and_then(|value| value.to_str().ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_id(id: &str) -> Request<()> {
        Request::builder().header(REQUEST_ID, id).body(()).expect("a request")
    }

    #[test]
    fn a_sane_incoming_id_is_kept_and_an_unfit_one_dropped() {
        assert_eq!(of(&drop_unfit(with_id("abc-123"))), "abc-123");
        assert_eq!(of(&drop_unfit(with_id(&"x".repeat(MAX_LEN + 1)))), "");
        assert_eq!(of(&drop_unfit(with_id("two words"))), "");
    }
}
