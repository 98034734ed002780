//! The public targets' history figures (uptimes, the 90-day bar, 24 hours of response times),
//! read for all of them at once in a handful of statements and kept in memory, read again in the
//! background once older than [`FIGURES_TTL`], so that a wall of screens reloading the page costs
//! the database a few statements every 30 s and no request waits for them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use chrono::{DateTime, Utc};
use healthmon_domain::history::{Range, SlotSpan, bucket_of_slot};
use healthmon_domain::status_page::{BadgeWindow, bar_days};
use healthmon_store::TargetRecord;
use healthmon_store::history::{SeriesBucket, UptimeCounts};
use healthmon_wire::{ResponseTimePoint, StatusDay, StatusUptime};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::ApiError;
use crate::routes::uptime::uptime_of_many;
use crate::state::AppState;

/// How old the figures may be before a request reads them again.
pub const FIGURES_TTL: Duration = Duration::from_secs(30);
const HOUR_S: u32 = 3600;
const DAY_S: u32 = 86_400;

/// One target's figures; a target with no history has empty ones.
#[derive(Debug, Clone, Default)]
pub struct TargetFigures {
    pub uptime: Option<StatusUptime>,
    pub days: Vec<StatusDay>,
    pub response_times: Vec<ResponseTimePoint>,
}

#[derive(Debug)]
pub struct Figures {
    pub read_at: DateTime<Utc>,
    taken: Instant,
    pub by_target: HashMap<Uuid, TargetFigures>,
}

impl Figures {
    /// No figures at all, read now (for tests of what is built from them).
    #[cfg(test)]
    pub fn none() -> Self {
        Self { read_at: healthmon_store::now(), taken: Instant::now(), by_target: HashMap::new() }
    }

    fn serves(&self, targets: &[TargetRecord]) -> bool {
        self.taken.elapsed() < FIGURES_TTL
            && targets.iter().all(|record| self.by_target.contains_key(&record.target.id))
    }
}

/// The newest figures, and whether a read of fresher ones is under way.
#[derive(Default)]
pub struct FigureCache {
    current: ArcSwapOption<Figures>,
    /// Held by the one request that reads the very first figures; the others wait for it.
    first: Mutex<()>,
    refreshing: AtomicBool,
}

impl FigureCache {
    /// The figures kept now, if any were read yet.
    pub fn peek(&self) -> Option<Arc<Figures>> {
        self.current.load_full()
    }

    /// Figures for `targets`. The first call reads them; after that, stale or incomplete ones (a
    /// target made public since) are served while one background task reads fresh ones, so no
    /// request waits on the read (a target new to the page shows empty figures until then).
    pub async fn get(&self, state: &AppState, targets: &[TargetRecord]) -> Result<Arc<Figures>, ApiError> {
        if let Some(figures) = self.current.load_full() {
            if !figures.serves(targets) {
                self.refresh_behind(state, targets);
            }
            return Ok(figures);
        }
        let _first = self.first.lock().await;
        if let Some(figures) = self.current.load_full() {
            return Ok(figures);
        }
        let figures = Arc::new(read(state, targets, healthmon_store::now()).await?);
        self.current.store(Some(figures.clone()));
        Ok(figures)
    }

    fn refresh_behind(&self, state: &AppState, targets: &[TargetRecord]) {
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (state, targets) = (state.clone(), targets.to_vec());
        tokio::spawn(async move {
            match read(&state, &targets, healthmon_store::now()).await {
                Ok(figures) => state.status_figures.current.store(Some(Arc::new(figures))),
                // At shutdown the store goes away under a read: nothing to report.
                Err(_) if state.shutdown.is_cancelled() => {}
                Err(error) => {
                    tracing::warn!(error = %error, "could not read the status page's figures; keeping the last")
                }
            }
            state.status_figures.refreshing.store(false, Ordering::Release);
        });
    }
}

async fn read(state: &AppState, targets: &[TargetRecord], now: DateTime<Utc>) -> Result<Figures, ApiError> {
    let ids: Vec<Uuid> = targets.iter().map(|record| record.target.id).collect();
    let mut by_target: HashMap<Uuid, TargetFigures> = ids.iter().map(|id| (*id, TargetFigures::default())).collect();
    if ids.is_empty() {
        return Ok(Figures { read_at: now, taken: Instant::now(), by_target });
    }
    let windows = state.store.list_maintenance().await?;
    let mut uptimes = Vec::new();
    for window in [BadgeWindow::Day, BadgeWindow::Week, BadgeWindow::Month] {
        let range = Range { from: now - window.length(), to: now };
        uptimes.push(uptime_of_many(state, targets, &windows, &range).await?);
    }
    for (id, figures) in &mut by_target {
        let of = |index: usize| uptimes[index].get(id).and_then(UptimeCounts::uptime);
        figures.uptime = Some(StatusUptime { day: of(0), week: of(1), month: of(2) });
    }

    let days = bar_days(now);
    let (first_day, last_day) = (days.first().map_or(0, |d| d.1), days.last().map_or(0, |d| d.1));
    let day_span = SlotSpan { from_ms: first_day, to_ms: last_day + i64::from(DAY_S) * 1000 };
    let mut day_rows: HashMap<(Uuid, i64), SeriesBucket> = HashMap::new();
    for (id, bucket) in state.store.rollup_buckets(&ids, DAY_S, day_span).await? {
        day_rows.insert((id, bucket.start_ms), bucket);
    }
    for (id, figures) in &mut by_target {
        figures.days = days
            .iter()
            .map(|(date, start)| {
                let row = day_rows.get(&(*id, *start));
                let samples = row.map_or(0, |row| row.samples);
                let uptime = row.and_then(SeriesBucket::uptime);
                StatusDay { date: *date, samples, uptime }
            })
            .collect();
    }

    let this_hour = bucket_of_slot(now.timestamp_millis(), HOUR_S);
    let hour_ms = i64::from(HOUR_S) * 1000;
    let hours = SlotSpan { from_ms: this_hour - 23 * hour_ms, to_ms: this_hour + hour_ms };
    let mut hour_rows = state.store.rollup_buckets(&ids, HOUR_S, hours).await?;
    hour_rows.sort_by_key(|(_, bucket)| bucket.start_ms);
    for (id, bucket) in hour_rows {
        let (Some(figures), Some(at)) =
            (by_target.get_mut(&id), DateTime::<Utc>::from_timestamp_millis(bucket.start_ms))
        else {
            continue;
        };
        if bucket.samples > 0 {
            let mean_ms = bucket.latency_sum_ms / bucket.samples as f64;
            figures.response_times.push(ResponseTimePoint { at, mean_ms, max_ms: bucket.latency_max_ms });
        }
    }
    Ok(Figures { read_at: now, taken: Instant::now(), by_target })
}
