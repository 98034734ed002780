//! `GET /healthz` answered ahead of the middleware stack: the health check is called thousands of
//! times a second, and routing it through every layer cost more than answering it. It keeps what
//! those layers give every response (security headers, the request id, the request histogram);
//! tracing, the time limit and the body limit have nothing to do for an answer from memory.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use futures::future::Either;
use metrics::Histogram;
use tokio::time::Instant;
use tower::Service;

use crate::http_metrics::REQUEST_DURATION_METRIC;
use crate::request_id::{self, REQUEST_ID};
use crate::state::AppState;
use crate::{SECURITY_HEADERS, routes};

/// In front of `rest`, which serves everything else, `/healthz` with a query or a token included.
#[derive(Clone)]
pub struct FastHealthz<S> {
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
        Self { state, rest, enabled, meters: Meters::register() }
    }

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
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.rest.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if self.takes(&request) {
            return Either::Left(ready(Ok(self.answer(&request))));
        }
        Either::Right(self.rest.call(request))
    }
}
