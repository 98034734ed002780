//! Refuses, before any handler runs, requests no route can serve: a declared body over the limit
//! (413 at once, rather than waiting for bytes that may never come) and a NUL character decoded
//! from the path or the query string, which PostgreSQL cannot store or compare (a 500 there) and
//! SQLite's text functions stop at (so a search for `%00` matched everything).

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::MAX_BODY_BYTES;
use crate::error::ApiError;

/// Middleware for `Router::layer`: every route and the fallback pass through it.
pub async fn refuse_unservable(request: Request, next: Next) -> Response {
    match check(&request) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

fn check(request: &Request) -> Result<(), ApiError> {
    if declared_length(request).is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(ApiError::PayloadTooLarge);
    }
    let uri = request.uri();
    if let Some(segment) = uri.path().split('/').find(|segment| decodes_to_nul(segment)) {
        return Err(ApiError::InvalidPath(format!(
            "the path segment {} holds a NUL character (%00), which no resource has",
            shown(segment)
        )));
    }
    if let Some(query) = uri.query() {
        for pair in query.split('&') {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if decodes_to_nul(name) || decodes_to_nul(value) {
                let parameter = String::from_utf8_lossy(&percent_decode(name, Form::Query)).replace('\0', "\\0");
                let message = format!("the query parameter {parameter} holds a NUL character (%00)");
                return Err(ApiError::InvalidQuery { parameter, message });
            }
        }
    }
    Ok(())
}

/// The `Content-Length` the client declared; absent or unreadable ones are left to hyper and the
/// body limit, which count the bytes as they come.
fn declared_length(request: &Request) -> Option<u64> {
    request.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// Whether percent-decoding `raw` (once, as the router and the query extractor do) gives a NUL: a
/// raw NUL cannot reach here (hyper refuses it in the request line), so only `%00` can.
fn decodes_to_nul(raw: &str) -> bool {
    raw.contains("%00")
}

/// Where a text comes from: in a query string a `+` is a space, in a path it is itself.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Path,
    Query,
}

/// `raw` percent-decoded; malformed escapes are kept as they are.
fn percent_decode(raw: &str, form: Form) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = bytes.get(index + 1..index + 3).and_then(|hex| std::str::from_utf8(hex).ok());
        match (bytes[index], escaped.and_then(|hex| u8::from_str_radix(hex, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (b'+', _) if form == Form::Query => {
                decoded.push(b' ');
                index += 1;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    decoded
}

/// A path segment as the client meant it, for the message (its NULs shown as `\0`).
fn shown(segment: &str) -> String {
    String::from_utf8_lossy(&percent_decode(segment, Form::Path)).replace('\0', "\\0")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(uri: &str) -> Option<(u16, String)> {
        let request = Request::builder().uri(uri).body(axum::body::Body::empty()).expect("a request");
        check(&request).err().map(|error| (error.status().as_u16(), error.to_string()))
    }

    #[test]
    fn given_a_nul_in_a_path_segment_or_a_query_value_or_name_then_it_is_refused_naming_it() {
        assert_eq!(refusal("/api/v1/users/a%00b").map(|(status, _)| status), Some(400));
        assert!(refusal("/api/v1/users/a%00b").is_some_and(|(_, message)| message.contains("a\\0b")));
        let (status, message) = refusal("/api/v1/targets?limit=5&q=%00").expect("refused");
        assert_eq!(status, 400);
        assert!(message.contains("parameter q "), "{message}");
        assert!(refusal("/api/v1/targets?ta%00g=x").is_some_and(|(_, message)| message.contains("ta\\0g")));
    }

    #[test]
    fn given_escapes_that_do_not_decode_to_nul_then_the_request_passes() {
        assert_eq!(refusal("/api/v1/targets?q=%2500&tag=a%20b&kind=http"), None);
        assert_eq!(refusal("/api/v1/users/a%2500b"), None);
        assert_eq!(refusal("/healthz"), None);
    }

    #[test]
    fn given_a_declared_length_over_the_limit_then_it_is_refused_before_the_body_is_read() {
        let request = |length: &str| {
            Request::builder()
                .method("POST")
                .uri("/api/v1/targets")
                .header(header::CONTENT_LENGTH, length)
                .body(axum::body::Body::empty())
                .expect("a request")
        };
        assert!(matches!(check(&request("99999999999")), Err(ApiError::PayloadTooLarge)));
        assert!(matches!(check(&request(&(MAX_BODY_BYTES + 1).to_string())), Err(ApiError::PayloadTooLarge)));
        assert!(check(&request(&MAX_BODY_BYTES.to_string())).is_ok());
    }

    #[test]
    fn percent_decoding_keeps_malformed_escapes_and_turns_plus_into_space() {
        assert_eq!(percent_decode("a%41+%zz%4", Form::Query), b"aA %zz%4");
        assert_eq!(percent_decode("a+b", Form::Path), b"a+b");
    }
}
