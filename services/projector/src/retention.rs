//! Retention: expired raw samples and rollups leave the store in small steps, once a minute, so
//! that the purge never holds up ingest. Reads already leave expired samples out by their slot,
//! so nothing waits on this for correctness, only for disk.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use healthmon_domain::history::Retention;
use healthmon_store::Store;
use healthmon_store::history::{PurgeOutcome, PurgeStep};
use tokio_util::sync::CancellationToken;

/// How often a purge starts.
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// Rows one step deletes at most, per kind: a step's transaction stays short.
const BATCH: u32 = 2_000;
/// The pause between two steps of a purge, giving ingest the database in between.
const BETWEEN_STEPS: Duration = Duration::from_millis(20);

/// How long raw samples and rollups are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryRetention {
    pub raw: Retention,
    pub rollups: Retention,
}

impl Default for HistoryRetention {
    fn default() -> Self {
        Self { raw: Retention::For(chrono::Duration::days(90)), rollups: Retention::For(chrono::Duration::days(400)) }
    }
}

impl HistoryRetention {
    /// What has expired at `now`, for one step of at most `batch` rows per kind.
    pub fn step(&self, now: DateTime<Utc>, batch: u32) -> PurgeStep {
        PurgeStep {
            now,
            samples_before_slot: self.raw.horizon(now).map(|at| at.timestamp_millis()),
            rollups_before_bucket: self.rollups.horizon(now).map(|at| at.timestamp_millis()),
            batch,
        }
    }
}

/// Runs one purge to its end, step by step; returns what it removed.
pub async fn purge(store: &dyn Store, retention: &HistoryRetention) -> anyhow::Result<PurgeOutcome> {
    let mut total = PurgeOutcome::default();
    loop {
        let step = store.purge_history(&retention.step(healthmon_store::now(), BATCH)).await?;
        total.partitions_dropped += step.partitions_dropped;
        total.samples_deleted += step.samples_deleted;
        total.rollups_deleted += step.rollups_deleted;
        if !step.more {
            return Ok(total);
        }
        tokio::time::sleep(BETWEEN_STEPS).await;
    }
}

/// Purges once a minute until `shutdown`.
pub async fn run(store: Arc<dyn Store>, retention: HistoryRetention, shutdown: CancellationToken) {
    loop {
        match purge(store.as_ref(), &retention).await {
            Ok(outcome) if outcome != PurgeOutcome::default() => tracing::info!(
                partitions_dropped = outcome.partitions_dropped,
                samples_deleted = outcome.samples_deleted,
                rollups_deleted = outcome.rollups_deleted,
                "purged expired history"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "history purge failed; tried again later"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(PURGE_EVERY) => {}
        }
    }
}
