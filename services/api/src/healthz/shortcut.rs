//! Plain `GET /healthz` answered ahead of the middleware stack and the router: the health check
//! is called thousands of times a second, and routing it through every layer cost more than
//! answering it. It keeps what those layers give every response (security headers, the request
//! id, the request histogram); tracing, the time limit and the body limit have nothing to do for
//! an answer from memory.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use healthmon_runtime::ops::Shortcut;
use metrics::Histogram;
use tokio::time::Instant;

use crate::SECURITY_HEADERS;
use crate::http_metrics::{self, REQUEST_DURATION_METRIC};
use crate::request_id::{self, REQUEST_ID};
use crate::state::AppState;

/// The shortcut for `ops::serve`; `None` when `/healthz` needs a token or CORS headers, so the
/// router answers it. Any other request, and `/healthz` with a query, go to the router.
pub fn shortcut(state: AppState) -> Option<Shortcut> {
    if state.config.protect_healthz || !state.config.cors_origins.is_empty() {
        return None;
    }
    http_metrics::register();
    let meters = Meters::register();
    Some(Arc::new(move |request: &Request| takes(request).then(|| answer(&state, &meters, request))))
}

/// The request histogram's two `/healthz` series, looked up once instead of per request.
struct Meters {
    passing: Histogram,
    failing: Histogram,
}

impl Meters {
    fn register() -> Self {
        let series = |status: &'static str| metrics::histogram!(REQUEST_DURATION_METRIC, "method" => "GET", "route" => "/healthz", "status" => status);
        Self { passing: series("200"), failing: series("503") }
    }
}

fn takes(request: &Request) -> bool {
    request.method() == Method::GET && request.uri().path() == "/healthz" && request.uri().query().is_none()
}

fn answer(state: &AppState, meters: &Meters, request: &Request) -> Response {
    let started = Instant::now();
    let mut response = super::answer(state, None);
    let headers = response.headers_mut();
    headers.reserve(SECURITY_HEADERS.len() + 1);
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let id = request.headers().get(&REQUEST_ID).filter(|id| request_id::is_fit(id)).cloned();
    headers.insert(REQUEST_ID, id.unwrap_or_else(request_id::fresh));
    let series = if response.status() == StatusCode::OK { &meters.passing } else { &meters.failing };
    series.record(started.elapsed().as_secs_f64());
    response
}
