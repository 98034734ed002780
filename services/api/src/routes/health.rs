//! The aggregate health check (from memory), the per-target breakdown, and resync.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::table::{Access, RouteTable};
use super::targets::resync as resync_from_store;
use crate::auth::authenticate;
use crate::board::render;
use crate::error::ApiError;
use crate::extract::{Reader, Writer};
use crate::state::AppState;

pub fn routes(table: RouteTable) -> RouteTable {
    table
        .route(Method::GET, "/api/v1/health", Access::Reader, "Every target's status and reason", breakdown)
        .route(
            Method::POST,
            "/api/v1/admin/resync",
            Access::Admin,
            "Republish every target from the store to the probers and rebuild the health snapshot",
            resync,
        )
        .document(Method::GET, "/healthz", Access::HealthCheck, "200 when every enabled target is healthy, else 503")
        .document(Method::GET, "/livez", Access::Public, "This process is alive")
        .document(Method::GET, "/readyz", Access::Public, "This process can reach its database and bus")
        .document(Method::GET, "/metrics", Access::Public, "This process's metrics, in the Prometheus text format")
}

/// The load balancers' route, kept apart so it skips request tracing: it is called thousands of
/// times a second and a 503 there is an answer, not a failure.
pub fn probe_router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

/// Public unless `HEALTHMON_PROTECT_HEALTHZ` is set; then it takes a token like any read.
pub async fn guard_health_check(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if state.config.protect_healthz {
        authenticate(state, headers).await?;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
struct HealthzParams {
    tag: Option<String>,
}

/// Never touches the store or the bus: one atomic load and a pre-rendered body.
/// Takes the request whole rather than through a `HeaderMap` extractor, which copies every header.
pub async fn healthz(State(state): State<AppState>, request: Request) -> Response {
    if let Err(refused) = guard_health_check(&state, request.headers()).await {
        return refused.into_response();
    }
    let query: HealthzParams = match request.uri().query() {
        None => HealthzParams { tag: None },
        Some(_) => match axum::extract::Query::try_from_uri(request.uri()) {
            Ok(axum::extract::Query(query)) => query,
            Err(rejection) => return ApiError::from(rejection).into_response(),
        },
    };
    answer(&state, query.tag.as_deref())
}

/// The aggregate answer, of every target or of those with `tag`, from the board alone.
pub fn answer(state: &AppState, tag: Option<&str>) -> Response {
    let aggregate = state.board.load();
    if !aggregate.ready {
        let body = json!({ "status": "fail", "reason": "starting" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let counts = aggregate.counts(tag);
    let status = if counts.passing() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = match tag {
        None => aggregate.all_body.clone(),
        Some(_) => render(&counts),
    };
    (status, [(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response()
}

#[tracing::instrument(skip_all)]
async fn breakdown(State(state): State<AppState>, _: Reader) -> Result<Json<Value>, ApiError> {
    let records = state.store.all_targets().await?;
    let items: Vec<Value> = records
        .iter()
        .map(|record| {
            json!({
                "id": record.target.id,
                "name": record.target.spec.name,
                "status": record.visible_status(),
                "reason": record.health.reason,
                "since": record.health.since,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

#[tracing::instrument(skip_all)]
async fn resync(State(state): State<AppState>, _: Writer) -> Result<Json<Value>, ApiError> {
    let republished = resync_from_store(&state).await?;
    Ok(Json(json!({ "status": "resynced", "targets": republished.targets, "removed": republished.removed })))
}
