//! `GET /healthz` answered ahead of the middleware stack: the health check is called thousands of
//! times a second, and routing it through every layer cost more than answering it. It keeps what
//! those layers give every response (security headers, the request id, the request histogram);
//! tracing, the time limit and the body limit have nothing to do for an answer from memory.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use futures::future::Either;
use metrics::Histogram;
use tokio::time::Instant;
use tower::util::Oneshot;
use tower::{Service, ServiceExt};

use crate::http_metrics::REQUEST_DURATION_METRIC;
use crate::request_id::{self, REQUEST_ID};
use crate::state::AppState;
use crate::{SECURITY_HEADERS, routes};

/// In front of `rest`, which serves everything else, `/healthz` with a query or a token included.
/// One `Arc`: the router clones its fallback for every request, and `rest` is a whole stack of
/// layers, cloned only when it is used.
pub struct FastHealthz<S>(Arc<Parts<S>>);

impl<S> Clone for FastHealthz<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

struct Parts<S> {
    state: AppState,
    rest: S,
    /// Off when `/healthz` needs a token or CORS headers: then `rest` answers it.
    enabled: bool,
    meters: Meters,
}

/// The request histogram's two `/healthz` series, looked up once instead of per request.
#[derive(Clone)]
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

impl<S> FastHealthz<S> {
    /// The request histogram must be registered (its recorder installed) before this.
    pub fn new(state: AppState, rest: S, enabled: bool) -> Self {
        Self(Arc::new(Parts { state, rest, enabled, meters: Meters::register() }))
    }
}

impl<S> Parts<S> {
    fn takes(&self, request: &Request) -> bool {
        self.enabled
            && request.method() == Method::GET
            && request.uri().path() == "/healthz"
            && request.uri().query().is_none()
    }

    fn answer(&self, request: &Request) -> Response {
        let started = Instant::now();
        let mut response = routes::health::answer(&self.state, None);
        let headers = response.headers_mut();
        for (name, value) in SECURITY_HEADERS {
            headers.insert(name, HeaderValue::from_static(value));
        }
        let id = request.headers().get(&REQUEST_ID).filter(|id| request_id::is_fit(id)).cloned();
        headers.insert(REQUEST_ID, id.unwrap_or_else(request_id::fresh));
        let series = if response.status() == StatusCode::OK { &self.meters.passing } else { &self.meters.failing };
        series.record(started.elapsed().as_secs_f64());
        response
    }
}

impl<S> Service<Request> for FastHealthz<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, Oneshot<S, Request>>;

    /// Always ready: `rest` is asked when a request goes to it (`oneshot`).
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let parts = &self.0;
        if parts.takes(&request) {
            return Either::Left(ready(Ok(parts.answer(&request))));
        }
        Either::Right(parts.rest.clone().oneshot(request))
    }
}
