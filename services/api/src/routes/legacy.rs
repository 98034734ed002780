//! The HealthChecker predecessor's routes: `/Login`, `/ResourceState`, `/Reset`, `/Routes`.
//! Paths match in any letter case (see `compat::canonical_case`).

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use healthmon_domain::HealthStatus;
use serde_json::{Value, json};

use super::table::{Access, RouteTable};
use super::targets::resync;
use crate::auth::routes::legacy_login;
use crate::error::ApiError;
use crate::extract::{Reader, Writer};
use crate::state::AppState;

pub fn routes(table: RouteTable) -> RouteTable {
    table
        .route(Method::POST, "/Login", Access::Public, "Exchange {username, password} for {token}", legacy_login)
        .route(
            Method::GET,
            "/ResourceState",
            Access::Reader,
            "Each resource's state and why it is down",
            resource_state,
        )
        .route(
            Method::POST,
            "/Reset",
            Access::Admin,
            "Republish targets from the store and rebuild health, keeping history",
            reset,
        )
        .route(Method::GET, "/Routes", Access::Reader, "Every route with its method and a description", list_routes)
}

fn state_word(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Healthy => "Healthy",
        HealthStatus::Unhealthy => "Unhealthy",
        HealthStatus::Unknown => "Unknown",
        HealthStatus::Stale => "Stale",
        HealthStatus::Paused => "Paused",
    }
}

async fn resource_state(State(state): State<AppState>, _: Reader) -> Result<Json<Value>, ApiError> {
    let records = state.store.all_targets().await?;
    let items: Vec<Value> = records
        .iter()
        .map(|record| {
            let status = record.visible_status();
            let down = matches!(status, HealthStatus::Unhealthy | HealthStatus::Stale);
            json!({
                "id": record.target.id,
                "name": record.target.spec.name,
                "kind": record.target.kind(),
                "state": state_word(status),
                "reason": if down { record.health.reason.clone() } else { None },
                "since": record.health.since,
            })
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn reset(State(state): State<AppState>, _: Writer) -> Result<Json<Value>, ApiError> {
    resync(&state).await?;
    Ok(Json(json!({ "status": "reset", "history": "kept" })))
}

async fn list_routes(State(state): State<AppState>, _: Reader) -> Json<Value> {
    let items: Vec<Value> = state
        .routes
        .iter()
        .map(|route| json!({ "method": route.method, "path": route.path, "description": route.summary }))
        .collect();
    Json(Value::Array(items))
}
