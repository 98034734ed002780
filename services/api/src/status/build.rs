//! Assembles the status page's data from the store: the public targets with their current
//! status, the kept history figures, and the newest transitions.

use std::collections::{BTreeMap, HashMap};

use healthmon_domain::alerting::IncidentPhase;
use healthmon_domain::status_page::{bar_days, endpoint_key};
use healthmon_store::TargetRecord;
use healthmon_wire::health::StatusCounts;
use healthmon_wire::{HealthStatus, StatusGroup, StatusIncident, StatusPage, StatusTarget, StatusTransition};
use serde::Deserialize;

use std::sync::Arc;

use super::figures::{Figures, TargetFigures};
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::WindowsNow;

/// Transitions the page lists.
const TRANSITIONS_SHOWN: u32 = 20;

/// `?tag=` and `?group=`: which of the public targets a page shows.
#[derive(Debug, Default, Deserialize)]
pub struct StatusFilter {
    pub tag: Option<String>,
    pub group: Option<String>,
}

impl StatusFilter {
    fn admits(&self, record: &TargetRecord) -> bool {
        let spec = &record.target.spec;
        self.tag.as_ref().is_none_or(|tag| spec.tags.contains(tag))
            && self.group.as_ref().is_none_or(|group| spec.group.as_ref() == Some(group))
    }
}

/// Every public target, stored now.
pub async fn public_targets(state: &AppState) -> Result<Vec<TargetRecord>, ApiError> {
    Ok(state.store.all_targets().await?.into_iter().filter(|record| record.target.spec.public).collect())
}

/// The page as `filter` narrows it, and the figures it was made with.
pub async fn status_page(
    state: &AppState,
    title: &str,
    filter: &StatusFilter,
) -> Result<(StatusPage, Arc<Figures>), ApiError> {
    let public = public_targets(state).await?;
    // Figures for every public target, whatever this page shows, so that one kept copy serves all.
    let figures = state.status_figures.get(state, &public).await?;
    let now = healthmon_store::now();
    let windows = WindowsNow::new(&state.store.list_maintenance().await?, now);
    let shown: Vec<&TargetRecord> = public.iter().filter(|record| filter.admits(record)).collect();

    let incidents = open_incidents(state, &shown).await?;
    let mut counts = StatusCounts::default();
    // Named groups in order of name, then the targets in none (`None` sorts first, so it is moved).
    let mut groups: BTreeMap<Option<String>, Vec<StatusTarget>> = BTreeMap::new();
    for record in &shown {
        let mut view = status_target(record, figures.by_target.get(&record.target.id), &windows);
        view.incident = incidents.get(&record.target.id).copied();
        count(&mut counts, view.status);
        groups.entry(record.target.spec.group.clone()).or_default().push(view);
    }
    let ungrouped = groups.remove(&None);
    let mut groups: Vec<StatusGroup> = groups
        .into_iter()
        .map(|(name, targets)| StatusGroup { name, targets })
        .chain(ungrouped.map(|targets| StatusGroup { name: None, targets }))
        .collect();
    for group in &mut groups {
        group.targets.sort_by(|a, b| a.name.to_lowercase().cmp(&b.name.to_lowercase()).then(a.id.cmp(&b.id)));
    }

    let names: HashMap<_, _> = shown.iter().map(|record| (record.target.id, record.target.spec.name.clone())).collect();
    let ids: Vec<_> = names.keys().copied().collect();
    let transitions =
        if ids.is_empty() { Vec::new() } else { state.store.recent_transitions(&ids, TRANSITIONS_SHOWN).await? };
    let transitions = transitions
        .into_iter()
        .filter_map(|transition| {
            Some(StatusTransition {
                target_id: transition.target_id,
                name: names.get(&transition.target_id)?.clone(),
                from: transition.from.into(),
                to: transition.to.into(),
                at: transition.at,
            })
        })
        .collect();
    let page = StatusPage { title: title.to_owned(), generated_at: figures.read_at, counts, groups, transitions };
    Ok((page, figures))
}

fn status_target(record: &TargetRecord, figures: Option<&TargetFigures>, windows: &WindowsNow) -> StatusTarget {
    let spec = &record.target.spec;
    // A target made public since the figures were read shows an empty bar until the next read.
    let figures = figures.cloned().unwrap_or_else(|| TargetFigures {
        days: bar_days(healthmon_store::now())
            .into_iter()
            .map(|(date, _)| healthmon_wire::StatusDay { date, samples: 0, uptime: None })
            .collect(),
        ..TargetFigures::default()
    });
    StatusTarget {
        id: record.target.id,
        name: spec.name.clone(),
        key: endpoint_key(spec.group.as_deref(), &spec.name),
        status: record.visible_status().into(),
        since: record.health.since,
        maintenance: windows.covers(&record.target),
        incident: None,
        uptime: figures.uptime.unwrap_or(healthmon_wire::StatusUptime { day: None, week: None, month: None }),
        days: figures.days,
        response_times: figures.response_times,
    }
}

/// Each shown target's earliest open incident.
async fn open_incidents(
    state: &AppState,
    shown: &[&TargetRecord],
) -> Result<HashMap<uuid::Uuid, StatusIncident>, ApiError> {
    let ids: Vec<_> = shown.iter().map(|record| record.target.id).collect();
    let mut open: HashMap<uuid::Uuid, StatusIncident> = HashMap::new();
    if ids.is_empty() {
        return Ok(open);
    }
    for record in state.store.incidents_of(&ids).await? {
        let incident = &record.incident;
        if incident.phase != IncidentPhase::Open {
            continue;
        }
        let shown = StatusIncident { since: incident.since, triggered_at: incident.triggered_at };
        open.entry(record.target_id)
            .and_modify(|earliest| {
                if shown.since < earliest.since {
                    *earliest = shown;
                }
            })
            .or_insert(shown);
    }
    Ok(open)
}

fn count(counts: &mut StatusCounts, status: HealthStatus) {
    let slot = match status {
        HealthStatus::Healthy => &mut counts.healthy,
        HealthStatus::Unhealthy => &mut counts.unhealthy,
        HealthStatus::Unknown => &mut counts.unknown,
        HealthStatus::Stale => &mut counts.stale,
        HealthStatus::Paused => &mut counts.paused,
    };
    *slot += 1;
}
