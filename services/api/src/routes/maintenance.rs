//! Maintenance windows: when matched targets' notifications are recorded as suppressed and not
//! sent. Create, list, read, replace, patch and delete; each view says whether it is open now.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use healthmon_domain::alerting::maintenance::parse_maintenance;
use healthmon_store::alerting::MaintenanceRecord;
use healthmon_wire::{MaintenanceList, MaintenanceView};
use serde_json::Value;
use uuid::Uuid;

use super::alerting::{created, not_found, patch_object, patched_view, path_id};
use super::table::{Access, RouteTable};
use crate::error::ApiError;
use crate::extract::{JsonBody, PathParam, Reader, Writer};
use crate::state::AppState;
use crate::views::alerting as views;

const COLLECTION: &str = "/api/v1/maintenance";
const WHAT: &str = "maintenance window";

pub fn routes(table: RouteTable) -> RouteTable {
    let one = "/api/v1/maintenance/{id}";
    table
        .route(Method::GET, COLLECTION, Access::Reader, "List maintenance windows", list)
        .route(Method::POST, COLLECTION, Access::Admin, "Create a maintenance window", create)
        .route(Method::GET, one, Access::Reader, "A maintenance window", read)
        .route(Method::PUT, one, Access::Admin, "Replace a maintenance window", replace)
        .route(Method::PATCH, one, Access::Admin, "Change some fields of a maintenance window", patch)
        .route(Method::DELETE, one, Access::Admin, "Delete a maintenance window", remove)
}

fn view(record: &MaintenanceRecord) -> MaintenanceView {
    views::maintenance(record, healthmon_store::now())
}

#[tracing::instrument(skip_all)]
async fn list(State(state): State<AppState>, _: Reader) -> Result<Json<MaintenanceList>, ApiError> {
    let records = state.store.list_maintenance().await?;
    let now = healthmon_store::now();
    Ok(Json(MaintenanceList { items: records.iter().map(|record| views::maintenance(record, now)).collect() }))
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    _: Writer,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let spec = parse_maintenance(&body).map_err(ApiError::Validation)?;
    let id = Uuid::now_v7();
    let record = state.store.create_maintenance(id, &spec).await?;
    tracing::info!(window_id = %id, "maintenance window created");
    Ok(created(COLLECTION, id, view(&record)))
}

async fn stored(state: &AppState, raw_id: &str) -> Result<MaintenanceRecord, ApiError> {
    let id = path_id(raw_id, WHAT)?;
    state.store.get_maintenance(id).await?.ok_or_else(|| not_found(WHAT))
}

#[tracing::instrument(skip_all)]
async fn read(
    State(state): State<AppState>,
    _: Reader,
    PathParam(id): PathParam<String>,
) -> Result<Json<MaintenanceView>, ApiError> {
    Ok(Json(view(&stored(&state, &id).await?)))
}

#[tracing::instrument(skip_all)]
async fn replace(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<MaintenanceView>, ApiError> {
    let id = path_id(&id, WHAT)?;
    let spec = parse_maintenance(&body).map_err(ApiError::Validation)?;
    let record = state.store.update_maintenance(id, &spec).await?.ok_or_else(|| not_found(WHAT))?;
    tracing::info!(window_id = %id, "maintenance window updated");
    Ok(Json(view(&record)))
}

#[tracing::instrument(skip_all)]
async fn patch(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
    JsonBody(body): JsonBody<Value>,
) -> Result<Json<MaintenanceView>, ApiError> {
    patch_object(&body)?;
    let current = stored(&state, &id).await?;
    let spec = parse_maintenance(&patched_view(view(&current), &body)?).map_err(ApiError::Validation)?;
    let record = state.store.update_maintenance(current.id, &spec).await?.ok_or_else(|| not_found(WHAT))?;
    tracing::info!(window_id = %current.id, "maintenance window updated");
    Ok(Json(view(&record)))
}

#[tracing::instrument(skip_all)]
async fn remove(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(&id, WHAT)?;
    if state.store.delete_maintenance(id).await? {
        tracing::info!(window_id = %id, "maintenance window deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(WHAT))
    }
}
