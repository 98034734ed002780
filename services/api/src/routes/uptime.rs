//! Uptime and series: a target's uptime over a window (samples in maintenance left out, downtime
//! from its transitions), every target's uptime, and a target's series for a chart.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use chrono::Duration;
use healthmon_domain::HealthStatus;
use healthmon_domain::history::downtime::{downtime, outside, union_length, union_within};
use healthmon_domain::history::{Cover, Range, SeriesStep, SlotSpan, Window, bucket_of_slot};
use healthmon_store::TargetRecord;
use healthmon_store::alerting::MaintenanceRecord;
use healthmon_store::history::UptimeCounts;
use healthmon_wire::{SeriesView, UptimeItem, UptimeList, UptimeView};
use serde::Deserialize;
use uuid::Uuid;

use super::history::target_or_history;
use super::table::{Access, RouteTable};
use crate::error::ApiError;
use crate::extract::{Query, Reader, TargetId};
use crate::state::AppState;
use crate::views;

/// Transitions read per page while looking for the status at a span's start.
const TRANSITION_PAGE: u32 = 1000;

pub fn routes(table: RouteTable) -> RouteTable {
    table
        .route(
            Method::GET,
            "/api/v1/targets/{id}/uptime",
            Access::Reader,
            "A target's uptime over a span",
            target_uptime,
        )
        .route(Method::GET, "/api/v1/uptime", Access::Reader, "Every target's uptime over a span", every_uptime)
        .route(Method::GET, "/api/v1/targets/{id}/series", Access::Reader, "A target's history in buckets", series)
}

#[derive(Debug, Deserialize)]
pub struct SpanParams {
    window: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl SpanParams {
    fn range(&self) -> Result<Range, ApiError> {
        let (window, from, to) = (self.window.as_deref(), self.from.as_deref(), self.to.as_deref());
        Range::from_query(window, from, to, Window::Day, healthmon_store::now()).map_err(ApiError::Validation)
    }
}

/// The spans of `range` inside maintenance for a target with `id` and `tags`: disjoint, in order.
fn maintenance_spans(windows: &[MaintenanceRecord], id: Uuid, tags: &[String], range: &Range) -> Vec<Range> {
    let spans: Vec<Range> = windows.iter().flat_map(|window| window.spec.covers_within(id, tags, range)).collect();
    union_within(&spans, range)
}

/// The rows that answer `range` once `excluded` is taken out of it, with raw samples kept from
/// `raw_from`.
fn cover_outside(excluded: &[Range], range: &Range, raw_from: i64) -> Cover {
    let kept: Vec<SlotSpan> = outside(excluded, range).iter().map(SlotSpan::of).collect();
    Cover::of_all(&kept).answerable(raw_from)
}

pub(crate) fn raw_from(state: &AppState) -> i64 {
    state.raw_kept_from_slot().unwrap_or(i64::MIN)
}

#[tracing::instrument(skip_all, fields(target_id = %id))]
async fn target_uptime(
    State(state): State<AppState>,
    _: Reader,
    TargetId(id): TargetId,
    Query(query): Query<SpanParams>,
) -> Result<Json<UptimeView>, ApiError> {
    let range = query.range()?;
    let record = target_or_history(&state, id).await?;
    let tags = record.as_ref().map(|record| record.target.spec.tags.clone()).unwrap_or_default();
    let windows = state.store.list_maintenance().await?;
    let maintenance = maintenance_spans(&windows, id, &tags, &range);
    let totals =
        state.store.totals(id, &cover_outside(&maintenance, &range, raw_from(&state)), raw_from(&state)).await?;
    let down = downtime_within(&state, id, &range).await?;
    Ok(Json(views::history::uptime(&range, &totals, down, union_length(&maintenance, &range))))
}

/// Time `id` spent down within `range`: its status at the start and its changes since, from the
/// transitions, read newest first until one before the span.
async fn downtime_within(state: &AppState, id: Uuid, range: &Range) -> Result<Duration, ApiError> {
    let mut changes = Vec::new();
    let mut status_at_start = HealthStatus::Unknown;
    let mut cursor = None;
    'pages: loop {
        let page = state.store.transitions(id, TRANSITION_PAGE, cursor).await?;
        for transition in &page.items {
            if transition.at <= range.from {
                status_at_start = transition.to;
                break 'pages;
            }
            if transition.at < range.to {
                changes.push((transition.at, transition.to));
            }
        }
        match (page.next_cursor, page.items.last()) {
            (Some(_), Some(last)) => cursor = Some(last.seq),
            _ => break,
        }
    }
    changes.reverse();
    Ok(downtime(status_at_start, &changes, range))
}

#[derive(Debug, Deserialize)]
pub struct EveryUptimeParams {
    #[serde(flatten)]
    span: SpanParams,
    tag: Option<String>,
    group: Option<String>,
}

#[tracing::instrument(skip_all)]
async fn every_uptime(
    State(state): State<AppState>,
    _: Reader,
    Query(query): Query<EveryUptimeParams>,
) -> Result<Json<UptimeList>, ApiError> {
    let range = query.span.range()?;
    let targets: Vec<_> = state
        .store
        .all_targets()
        .await?
        .into_iter()
        .filter(|record| query.tag.as_ref().is_none_or(|tag| record.target.spec.tags.contains(tag)))
        .filter(|record| query.group.is_none() || record.target.spec.group == query.group)
        .collect();
    let windows = state.store.list_maintenance().await?;
    let counts = uptime_of_many(&state, &targets, &windows, &range).await?;
    let items = targets
        .iter()
        .map(|record| {
            let counted = counts.get(&record.target.id).copied().unwrap_or_default();
            UptimeItem {
                id: record.target.id,
                name: record.target.spec.name.clone(),
                group: record.target.spec.group.clone(),
                uptime: counted.uptime(),
                samples: counted.samples,
            }
        })
        .collect();
    Ok(Json(UptimeList { items }))
}

/// Each of `targets`' samples and successes within `range`, samples inside its maintenance
/// `windows` left out; a target with no sample is absent. Targets outside any window are counted
/// together.
pub(crate) async fn uptime_of_many(
    state: &AppState,
    targets: &[TargetRecord],
    windows: &[MaintenanceRecord],
    range: &Range,
) -> Result<HashMap<Uuid, UptimeCounts>, ApiError> {
    let (mut plain, mut counts) = (Vec::new(), HashMap::new());
    for record in targets {
        let target = &record.target;
        let maintenance = maintenance_spans(windows, target.id, &target.spec.tags, range);
        if maintenance.is_empty() {
            plain.push(target.id);
        } else {
            let cover = cover_outside(&maintenance, range, raw_from(state));
            counts.extend(state.store.uptime_counts(&[target.id], &cover, raw_from(state)).await?);
        }
    }
    if !plain.is_empty() {
        let cover = Cover::of(range).answerable(raw_from(state));
        counts.extend(state.store.uptime_counts(&plain, &cover, raw_from(state)).await?);
    }
    Ok(counts)
}

#[derive(Debug, Deserialize)]
pub struct SeriesParams {
    #[serde(flatten)]
    span: SpanParams,
    step_s: Option<String>,
}

#[tracing::instrument(skip_all, fields(target_id = %id))]
async fn series(
    State(state): State<AppState>,
    _: Reader,
    TargetId(id): TargetId,
    Query(query): Query<SeriesParams>,
) -> Result<Json<SeriesView>, ApiError> {
    let range = query.span.range()?;
    let step = SeriesStep::for_range(query.step_s.as_deref(), &range).map_err(ApiError::Validation)?;
    target_or_history(&state, id).await?;
    let step_s = step.seconds();
    // Whole buckets: from the one `from` falls in to the one just before `to` ends.
    let span = SlotSpan::of(&range);
    let aligned = SlotSpan {
        from_ms: bucket_of_slot(span.from_ms, step_s),
        to_ms: bucket_of_slot(span.to_ms - 1, step_s) + i64::from(step_s) * 1000,
    };
    let buckets = state.store.series(id, step_s, aligned, raw_from(&state)).await?;
    Ok(Json(views::history::series(step_s, &buckets)))
}
