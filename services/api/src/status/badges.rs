//! Badge routes: `/badge/{id}/…` by target id, and Gatus's `/api/v1/endpoints/{key}/…` by its
//! endpoint key, so that badges in READMEs written for Gatus keep working. Public targets only:
//! any other id or key is a 404, the same as one that does not exist.

use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration;
use healthmon_domain::history::{Cover, Range};
use healthmon_domain::status_page::{BadgeWindow, endpoint_key};
use healthmon_store::TargetRecord;
use uuid::Uuid;

use super::badge::Badge;
use super::build::public_targets;
use super::enabled;
use crate::error::ApiError;
use crate::extract::PathParam;
use crate::routes::table::{Access, RouteTable};
use crate::routes::uptime::raw_from;
use crate::state::AppState;

pub fn routes(table: RouteTable) -> RouteTable {
    table
        .route(Method::GET, "/badge/{id}/status.svg", Access::Public, "A public target's status badge", status_by_id)
        .route(
            Method::GET,
            "/badge/{id}/uptime/{file}",
            Access::Public,
            "A public target's uptime badge (24h.svg, 7d.svg or 30d.svg)",
            uptime_by_id,
        )
        .route(
            Method::GET,
            "/badge/{id}/response-time/{file}",
            Access::Public,
            "A public target's response-time badge (24h.svg, 7d.svg or 30d.svg)",
            response_time_by_id,
        )
        .route(
            Method::GET,
            "/api/v1/endpoints/{key}/health/badge.svg",
            Access::Public,
            "A public target's status badge, by Gatus's endpoint key",
            status_by_key,
        )
        .route(
            Method::GET,
            "/api/v1/endpoints/{key}/uptimes/{window}/badge.svg",
            Access::Public,
            "A public target's uptime badge, by Gatus's endpoint key",
            uptime_by_key,
        )
        .route(
            Method::GET,
            "/api/v1/endpoints/{key}/response-times/{window}/badge.svg",
            Access::Public,
            "A public target's response-time badge, by Gatus's endpoint key",
            response_time_by_key,
        )
}

/// What a badge is of.
#[derive(Debug, Clone, Copy)]
enum Figure {
    Status,
    Uptime(BadgeWindow),
    ResponseTime(BadgeWindow),
}

async fn status_by_id(State(state): State<AppState>, PathParam(id): PathParam<String>) -> Result<Response, ApiError> {
    let target = by_id(&state, &id).await?;
    badge(&state, &target, Figure::Status).await
}

async fn uptime_by_id(
    State(state): State<AppState>,
    PathParam((id, file)): PathParam<(String, String)>,
) -> Result<Response, ApiError> {
    let window = window_file(&file)?;
    let target = by_id(&state, &id).await?;
    badge(&state, &target, Figure::Uptime(window)).await
}

async fn response_time_by_id(
    State(state): State<AppState>,
    PathParam((id, file)): PathParam<(String, String)>,
) -> Result<Response, ApiError> {
    let window = window_file(&file)?;
    let target = by_id(&state, &id).await?;
    badge(&state, &target, Figure::ResponseTime(window)).await
}

async fn status_by_key(State(state): State<AppState>, PathParam(key): PathParam<String>) -> Result<Response, ApiError> {
    let target = by_key(&state, &key).await?;
    badge(&state, &target, Figure::Status).await
}

async fn uptime_by_key(
    State(state): State<AppState>,
    PathParam((key, window)): PathParam<(String, String)>,
) -> Result<Response, ApiError> {
    let window = gatus_window(&window)?;
    let target = by_key(&state, &key).await?;
    badge(&state, &target, Figure::Uptime(window)).await
}

async fn response_time_by_key(
    State(state): State<AppState>,
    PathParam((key, window)): PathParam<(String, String)>,
) -> Result<Response, ApiError> {
    let window = gatus_window(&window)?;
    let target = by_key(&state, &key).await?;
    badge(&state, &target, Figure::ResponseTime(window)).await
}

fn no_badge() -> ApiError {
    ApiError::NotFound("no public target has that badge".into())
}

/// `24h.svg`, `7d.svg` or `30d.svg`.
fn window_file(file: &str) -> Result<BadgeWindow, ApiError> {
    file.strip_suffix(".svg")
        .and_then(BadgeWindow::parse)
        .filter(|window| *window != BadgeWindow::Hour)
        .ok_or_else(no_badge)
}

/// Gatus's `1h`, `24h`, `7d` or `30d`.
fn gatus_window(window: &str) -> Result<BadgeWindow, ApiError> {
    BadgeWindow::parse(window).ok_or_else(no_badge)
}

async fn by_id(state: &AppState, id: &str) -> Result<TargetRecord, ApiError> {
    enabled(state)?;
    let id: Uuid = id.parse().map_err(|_| no_badge())?;
    state.store.get_target(id).await?.filter(|record| record.target.spec.public).ok_or_else(no_badge)
}

async fn by_key(state: &AppState, key: &str) -> Result<TargetRecord, ApiError> {
    enabled(state)?;
    let key = key.to_lowercase();
    public_targets(state)
        .await?
        .into_iter()
        .find(|record| endpoint_key(record.target.spec.group.as_deref(), &record.target.spec.name) == key)
        .ok_or_else(no_badge)
}

async fn badge(state: &AppState, record: &TargetRecord, figure: Figure) -> Result<Response, ApiError> {
    let drawn = match figure {
        Figure::Status => Badge::status(record.visible_status().into()),
        Figure::Uptime(window) => Badge::uptime(window.label(), totals(state, record, window.length()).await?.uptime()),
        Figure::ResponseTime(window) => {
            Badge::response_time(window.label(), totals(state, record, window.length()).await?.mean_ms())
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store, must-revalidate")),
        ],
        drawn.svg(),
    )
        .into_response())
}

async fn totals(
    state: &AppState,
    record: &TargetRecord,
    length: Duration,
) -> Result<healthmon_domain::history::Rollup, ApiError> {
    let now = healthmon_store::now();
    let range = Range { from: now - length, to: now };
    let cover = Cover::of(&range).answerable(raw_from(state));
    Ok(state.store.totals(record.target.id, &cover, raw_from(state)).await?)
}
