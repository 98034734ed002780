//! `healthmon_http_request_duration_seconds{method,route,status}`: every request's duration,
//! labelled by the matched route template rather than the raw path, so the label set stays bounded.

use std::collections::HashSet;
use std::sync::{OnceLock, PoisonError, RwLock};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use tokio::time::Instant;

pub const REQUEST_DURATION_METRIC: &str = "healthmon_http_request_duration_seconds";
/// The `route` of a request no route matched (a 404 from the fallback), whatever its path.
pub const UNMATCHED: &str = "unmatched";

/// Describes the series; the recorder must be installed for anything to show.
pub fn register() {
    healthmon_runtime::metrics::install();
    metrics::describe_histogram!(
        REQUEST_DURATION_METRIC,
        metrics::Unit::Seconds,
        "API request duration by method, matched route template and status"
    );
}

/// Middleware for `Router::layer`, where the matched route is known.
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED, |matched| intern(matched.as_str()));
    let response = next.run(request).await;
    let status = intern(response.status().as_str());
    metrics::histogram!(REQUEST_DURATION_METRIC, "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        // Any other token a client makes up must not become a label of its own.
        _ => "other",
    }
}

/// Route templates and status codes are few and fixed, so each is leaked once and every later
/// request labels its series without allocating (this runs on every `/healthz`).
fn intern(text: &str) -> &'static str {
    static INTERNED: OnceLock<RwLock<HashSet<&'static str>>> = OnceLock::new();
    let interned = INTERNED.get_or_init(RwLock::default);
    if let Some(&known) = interned.read().unwrap_or_else(PoisonError::into_inner).get(text) {
        return known;
    }
    let mut writable = interned.write().unwrap_or_else(PoisonError::into_inner);
    if let Some(&known) = writable.get(text) {
        return known;
    }
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    writable.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_returns_one_copy_per_text() {
        let first = intern(&String::from("/api/v1/targets/{id}"));
        let second = intern(&String::from("/api/v1/targets/{id}"));
        assert_eq!(first, "/api/v1/targets/{id}");
        assert!(std::ptr::eq(first, second));
        assert_ne!(intern("200"), intern("503"));
    }

    #[test]
    fn made_up_methods_share_one_label() {
        let made_up = Method::from_bytes(b"BREW").expect("a valid token");
        assert_eq!(method_label(&made_up), "other");
        assert_eq!(method_label(&Method::GET), "GET");
    }
}
