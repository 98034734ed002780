//! The aggregate health check (from memory), the per-target breakdown, and resync.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::board::render;
use crate::error::ApiError;
use crate::extract::{Query, Reader, Writer};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/health", get(breakdown)).route("/api/v1/admin/resync", post(resync))
}

/// The load balancers' route, kept apart so it skips request tracing: it is called thousands of
/// times a second and a 503 there is an answer, not a failure.
pub fn probe_router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz))
}

#[derive(Debug, Deserialize)]
pub struct HealthzParams {
    tag: Option<String>,
}

/// Never touches the store or the bus: one atomic load and a pre-rendered body.
pub async fn healthz(State(state): State<AppState>, Query(query): Query<HealthzParams>) -> Response {
    let aggregate = state.board.load();
    if !aggregate.ready {
        let body = json!({ "status": "fail", "reason": "starting" });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let counts = aggregate.counts(query.tag.as_deref());
    let status = if counts.passing() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = match query.tag {
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
    state.board.resync().await.map_err(|error| ApiError::Unavailable(format!("resync failed: {error}")))?;
    state.relay.kick();
    Ok(Json(json!({ "status": "resynced" })))
}
