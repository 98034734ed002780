//! `GET /healthz`, the load balancers' health check, in one place: the answer from memory (one
//! atomic load and a pre-rendered body; it never touches the store or the bus), the route that
//! takes a token or `?tag=`, and the shortcut that answers plain requests ahead of the router.

mod shortcut;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use healthmon_wire::health::AggregateHealth;
use serde::Deserialize;

pub use self::shortcut::shortcut;
use crate::auth::authenticate;
use crate::board::render;
use crate::error::ApiError;
use crate::state::AppState;

/// The routes (`/healthz` and the predecessor's `/IsHealthy`), kept apart from the others so that
/// they skip request tracing: they are called thousands of times a second and a 503 there is an
/// answer, not a failure.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/IsHealthy", get(healthz))
}

/// Public unless `HEALTHMON_PROTECT_HEALTHZ` is set; then it takes a token like any read.
pub async fn guard(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.config.protect_healthz {
        authenticate(state, headers).await?;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Params {
    tag: Option<String>,
}

/// Takes the request whole rather than through a `HeaderMap` extractor, which copies every header.
/// Also answers `/IsHealthy`.
pub async fn healthz(State(state): State<AppState>, request: Request) -> Response {
    if let Err(refused) = guard(&state, request.headers()).await {
        return refused.into_response();
    }
    let params: Params = match request.uri().query() {
        None => Params { tag: None },
        Some(_) => match axum::extract::Query::try_from_uri(request.uri()) {
            Ok(axum::extract::Query(params)) => params,
            Err(rejection) => return ApiError::from(rejection).into_response(),
        },
    };
    answer(&state, params.tag.as_deref())
}

/// The aggregate answer, of every target or of those with `tag`, from the board alone.
pub fn answer(state: &AppState, tag: Option<&str>) -> Response {
    let aggregate = state.board.load();
    if !aggregate.ready {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(AggregateHealth::starting())).into_response();
    }
    let counts = aggregate.counts(tag);
    let status = if counts.passing() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = match tag {
        None => aggregate.all_body.clone(),
        Some(_) => render(&counts),
    };
    (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}
