//! History's half of the store: the questions uptime and series ask of stored samples and
//! rollups, and retention's purge. Which rows answer a span is the domain's decision
//! ([`Cover`]); a backend only reads the rows it names.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::history::{Cover, Rollup, SlotSpan};
use uuid::Uuid;

use crate::TransitionRecord;

/// Samples and successes: what an uptime over many targets needs of each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UptimeCounts {
    pub samples: u64,
    pub successes: u64,
}

impl UptimeCounts {
    /// successes / samples; `None` with no sample.
    pub fn uptime(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.successes as f64 / self.samples as f64)
    }
}

/// One bucket of a series; empty buckets are never returned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SeriesBucket {
    /// The bucket's first slot (ms since the Unix epoch).
    pub start_ms: i64,
    pub samples: u64,
    pub successes: u64,
    pub latency_sum_ms: f64,
    pub latency_max_ms: f64,
}

impl SeriesBucket {
    /// successes / samples; `None` with no sample.
    pub fn uptime(&self) -> Option<f64> {
        UptimeCounts { samples: self.samples, successes: self.successes }.uptime()
    }
}

/// One step of retention: what has expired, and how much to remove at most in this step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeStep {
    pub now: DateTime<Utc>,
    /// Raw samples with a slot before this have expired (`None`: kept forever).
    pub samples_before_slot: Option<i64>,
    /// Rollups whose bucket starts before this have expired (`None`: kept forever).
    pub rollups_before_bucket: Option<i64>,
    /// Rows deleted one by one, per kind, at most.
    pub batch: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeOutcome {
    /// Whole days of samples dropped at once (Postgres partitions).
    pub partitions_dropped: u64,
    pub samples_deleted: u64,
    pub rollups_deleted: u64,
    /// Whether a batch came back full, so that another step has more to remove.
    pub more: bool,
}

/// What history occupies on disk: its tables and their indexes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryFootprint {
    pub samples: u64,
    pub sample_bytes: u64,
    pub rollups: u64,
    pub rollup_bytes: u64,
}

#[async_trait]
pub trait History: Send + Sync {
    /// What one target's samples in `cover` come to: its rollup rows for the cover's rollup
    /// pieces, and its raw samples (those with a slot at or after `raw_from_slot`) for its edges.
    async fn totals(&self, target_id: Uuid, cover: &Cover, raw_from_slot: i64) -> anyhow::Result<Rollup>;

    /// The same counted for each of `target_ids` at once; a target with no sample in `cover` is
    /// absent.
    async fn uptime_counts(
        &self,
        target_ids: &[Uuid],
        cover: &Cover,
        raw_from_slot: i64,
    ) -> anyhow::Result<HashMap<Uuid, UptimeCounts>>;

    /// A target's buckets of `step_s` whose start lies in `span`, oldest first: from raw samples
    /// (at or after `raw_from_slot`) for 60 s, from rollups for the widths they are kept at.
    async fn series(
        &self,
        target_id: Uuid,
        step_s: u32,
        span: SlotSpan,
        raw_from_slot: i64,
    ) -> anyhow::Result<Vec<SeriesBucket>>;

    /// Every rollup row of width `step_s` of any of `target_ids` whose bucket starts in `span`,
    /// in no particular order: what a status page draws for many targets at once.
    async fn rollup_buckets(
        &self,
        target_ids: &[Uuid],
        step_s: u32,
        span: SlotSpan,
    ) -> anyhow::Result<Vec<(Uuid, SeriesBucket)>>;

    /// The newest `limit` transitions of any of `target_ids`, newest first.
    async fn recent_transitions(&self, target_ids: &[Uuid], limit: u32) -> anyhow::Result<Vec<TransitionRecord>>;

    /// One small step of retention (and, on Postgres, the day partitions of the next days made
    /// ahead). Run it repeatedly while `more`; each step holds no lock an ingest waits on for long.
    async fn purge_history(&self, step: &PurgeStep) -> anyhow::Result<PurgeOutcome>;

    async fn history_footprint(&self) -> anyhow::Result<HistoryFootprint>;
}

/// How a rollup's histogram is stored: JSON `[[bucket, count], …]` of its non-empty buckets.
pub(crate) fn histogram_text(rollup: &Rollup) -> String {
    serde_json::to_string(&rollup.sparse_histogram()).unwrap_or_else(|_| "[]".to_owned())
}

/// A rollup row of either dialect, read back (columns `samples`, `successes`, `latency_sum`,
/// `latency_min`, `latency_max`, `histogram`).
pub(crate) fn stored_rollup<R>(row: &R) -> anyhow::Result<Rollup>
where
    R: sqlx::Row,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    let histogram: String = row.try_get("histogram").context("read rollup histogram")?;
    let sparse: Vec<(usize, u64)> = serde_json::from_str(&histogram).context("read a rollup's histogram")?;
    let samples: i64 = row.try_get("samples").context("read rollup samples")?;
    let successes: i64 = row.try_get("successes").context("read rollup successes")?;
    Ok(Rollup::from_stored(
        u64::try_from(samples).context("a rollup's sample count is negative")?,
        u64::try_from(successes).context("a rollup's success count is negative")?,
        row.try_get("latency_sum").context("read rollup latency sum")?,
        row.try_get("latency_min").context("read rollup latency minimum")?,
        row.try_get("latency_max").context("read rollup latency maximum")?,
        &sparse,
    ))
}

/// A series bucket of either dialect (columns `start`, `samples`, `successes`, `latency_sum`,
/// `latency_max`).
pub(crate) fn series_bucket<R>(row: &R) -> anyhow::Result<SeriesBucket>
where
    R: sqlx::Row,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
{
    Ok(SeriesBucket {
        start_ms: row.try_get("start").context("read a bucket's start")?,
        samples: count(row.try_get("samples").context("read a bucket's samples")?),
        successes: count(row.try_get("successes").context("read a bucket's successes")?),
        latency_sum_ms: row.try_get("latency_sum").context("read a bucket's latency sum")?,
        latency_max_ms: row.try_get("latency_max").context("read a bucket's latency maximum")?,
    })
}

/// A count read from the database (never negative when stored by healthmon).
pub(crate) fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// The cover's raw edges whose samples are still kept (from `raw_from_slot` on): first slot, end.
pub(crate) fn kept_raw_spans(cover: &Cover, raw_from_slot: i64) -> Vec<(i64, i64)> {
    cover.raw.iter().map(|span| (span.from_ms.max(raw_from_slot), span.to_ms)).filter(|(from, to)| from < to).collect()
}
