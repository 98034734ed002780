//! The per-target health breakdown and resync; the aggregate check itself is `crate::healthz`.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use serde_json::{Value, json};

use super::table::{Access, RouteTable};
use super::targets::resync as resync_from_store;
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
