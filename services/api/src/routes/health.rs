//! The per-target health breakdown and resync; the aggregate check itself is `crate::healthz`.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use healthmon_wire::{HealthBreakdown, ResyncResult};

use super::table::{Access, RouteTable};
use super::targets::resync as resync_from_store;
use crate::error::ApiError;
use crate::extract::{Reader, Writer};
use crate::state::AppState;
use crate::views;

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
async fn breakdown(State(state): State<AppState>, _: Reader) -> Result<Json<HealthBreakdown>, ApiError> {
    let records = state.store.all_targets().await?;
    Ok(Json(HealthBreakdown { items: records.iter().map(views::target_health).collect() }))
}

#[tracing::instrument(skip_all)]
async fn resync(State(state): State<AppState>, _: Writer) -> Result<Json<ResyncResult>, ApiError> {
    let republished = resync_from_store(&state).await?;
    Ok(Json(ResyncResult {
        status: "resynced".into(),
        targets: republished.targets as u64,
        removed: republished.removed as u64,
    }))
}
