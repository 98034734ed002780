//! A target's probe history and health transitions.

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use healthmon_store::SampleQuery;
use healthmon_wire::{SamplePage, TransitionPage};
use serde::Deserialize;

use super::params;
use super::table::{Access, RouteTable};
use crate::error::ApiError;
use crate::extract::{Query, Reader, TargetId};
use crate::state::AppState;
use crate::views;

pub fn routes(table: RouteTable) -> RouteTable {
    table.route(Method::GET, "/api/v1/targets/{id}/samples", Access::Reader, "A target's probe history", samples).route(
        Method::GET,
        "/api/v1/targets/{id}/transitions",
        Access::Reader,
        "A target's health changes",
        transitions,
    )
}

#[derive(Debug, Deserialize)]
pub struct SampleParams {
    limit: Option<String>,
    cursor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[tracing::instrument(skip_all, fields(target_id = %id))]
async fn samples(
    State(state): State<AppState>,
    _: Reader,
    TargetId(id): TargetId,
    Query(query): Query<SampleParams>,
) -> Result<Json<SamplePage>, ApiError> {
    let sample_query = SampleQuery {
        target_id: id,
        limit: params::limit(query.limit.as_deref())?,
        before_slot: params::parsed("cursor", query.cursor.as_deref(), "a cursor from a previous page")?,
        from: params::time("from", query.from.as_deref())?,
        to: params::time("to", query.to.as_deref())?,
        kept_from_slot: state.raw_kept_from_slot(),
    };
    ensure_target_or_history(&state, id).await?;
    let page = state.store.samples(&sample_query).await?;
    Ok(Json(views::sample_page(&page)))
}

#[derive(Debug, Deserialize)]
pub struct TransitionParams {
    limit: Option<String>,
    cursor: Option<String>,
}

#[tracing::instrument(skip_all, fields(target_id = %id))]
async fn transitions(
    State(state): State<AppState>,
    _: Reader,
    TargetId(id): TargetId,
    Query(query): Query<TransitionParams>,
) -> Result<Json<TransitionPage>, ApiError> {
    let limit = params::limit(query.limit.as_deref())?;
    let cursor = params::parsed("cursor", query.cursor.as_deref(), "a cursor from a previous page")?;
    ensure_target_or_history(&state, id).await?;
    let page = state.store.transitions(id, limit, cursor).await?;
    Ok(Json(views::transition_page(&page)))
}

/// A deleted target's history stays readable when it was kept; an id with neither is a 404.
async fn ensure_target_or_history(state: &AppState, id: uuid::Uuid) -> Result<(), ApiError> {
    target_or_history(state, id).await.map(|_| ())
}

/// The target (`None` when it was deleted and its history kept); an id with neither is a 404.
pub(super) async fn target_or_history(
    state: &AppState,
    id: uuid::Uuid,
) -> Result<Option<healthmon_store::TargetRecord>, ApiError> {
    if let Some(record) = state.store.get_target(id).await? {
        return Ok(Some(record));
    }
    let probe = SampleQuery { target_id: id, limit: 1, ..Default::default() };
    if state.store.samples(&probe).await?.items.is_empty() {
        return Err(ApiError::target_not_found());
    }
    Ok(None)
}
