//! The HealthChecker predecessor's routes: `/Login`, `/ResourceState`, `/Reset`, `/Routes`.
//! Paths match in any letter case (see `compat::canonical_case`).

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use healthmon_wire::compat::{ResetResult, ResourceState, RouteInfo};

use super::table::{Access, RouteTable};
use super::targets::resync;
use crate::auth::routes::legacy_login;
use crate::error::ApiError;
use crate::extract::{Reader, Writer};
use crate::state::AppState;
use crate::views::compat as views;

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

async fn resource_state(State(state): State<AppState>, _: Reader) -> Result<Json<Vec<ResourceState>>, ApiError> {
    let records = state.store.all_targets().await?;
    Ok(Json(records.iter().map(views::resource_state).collect()))
}

async fn reset(State(state): State<AppState>, _: Writer) -> Result<Json<ResetResult>, ApiError> {
    resync(&state).await?;
    Ok(Json(ResetResult { status: "reset".into(), history: "kept".into() }))
}

async fn list_routes(State(state): State<AppState>, _: Reader) -> Json<Vec<RouteInfo>> {
    let items = state
        .routes
        .iter()
        .map(|route| RouteInfo {
            method: route.method.into(),
            path: route.path.into(),
            description: route.summary.into(),
        })
        .collect();
    Json(items)
}
