//! Storage: the `Store` trait, and its Postgres and SQLite implementations, each running its own
//! migrations from `migrations/<dialect>` at the repository root. The backend is chosen by URL scheme.

pub mod accounts;
pub mod alerting;
mod alerting_rows;
mod alerting_turn;
mod common;
pub mod history;
mod modify;
pub mod postgres;
mod projection;
mod rollup_memory;
pub mod sqlite;
mod target_writes;
#[cfg(feature = "testing")]
pub mod testing;
mod types;
mod unstorable;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::{Sample, Target};
use uuid::Uuid;

pub use accounts::Accounts;
pub use alerting::Alerting;
pub use history::History;
pub use modify::modify_target;
pub use types::*;
pub use unstorable::is_unstorable;

#[async_trait]
/// Targets, history and health; users and tokens through its [`Accounts`] half.
pub trait Store: Accounts + Alerting + History + Send + Sync + 'static {
    /// Inserts the target, its `unknown` health and a `target.created` outbox event, atomically.
    async fn create_target(&self, target: &Target, source: &str) -> anyhow::Result<()>;

    /// Replaces a stored target whose revision is `target.revision - 1`. When `check_version` moved,
    /// health resets to `unknown` (a transition and a `health.changed` event are recorded if the
    /// status changed). A `target.updated` outbox event is recorded in the same transaction.
    async fn update_target(&self, target: &Target, source: &str) -> anyhow::Result<WriteOutcome>;

    /// Deletes the target and its health; its samples and transitions too unless `keep_history`.
    /// Records a `target.deleted` outbox event with revision + 1. Returns false when absent.
    async fn delete_target(&self, id: Uuid, keep_history: bool, source: &str) -> anyhow::Result<bool>;

    async fn get_target(&self, id: Uuid) -> anyhow::Result<Option<TargetRecord>>;

    /// Targets ordered by id, after `filter.cursor`, at most `filter.limit`, narrowed by the filters.
    async fn list_targets(&self, filter: &TargetFilter) -> anyhow::Result<Page<TargetRecord>>;

    /// Every target with its health (snapshot bootstrap and resync).
    async fn all_targets(&self) -> anyhow::Result<Vec<TargetRecord>>;

    /// In one transaction: stores the samples of existing targets (a known sample id is skipped),
    /// applies them in slot order to each target's health state machine, stores the new health,
    /// and records each status change as a transition and a `health.changed` outbox event.
    /// Applying the same samples again changes nothing.
    async fn ingest(&self, samples: &[Sample], source: &str) -> anyhow::Result<IngestOutcome> {
        self.ingest_fenced(samples, source, None).await
    }

    /// [`Store::ingest`] by the projector that claimed epoch `fence`: fails with [`Fenced`], writing
    /// nothing, when another projector has claimed a newer one. `None` writes unfenced.
    async fn ingest_fenced(
        &self,
        samples: &[Sample],
        source: &str,
        fence: Option<i64>,
    ) -> anyhow::Result<IngestOutcome>;

    /// How many ingests of batches with no target in common are worth running at once: a
    /// backend that writes one transaction at a time says 1.
    fn concurrent_ingests(&self) -> usize {
        1
    }

    /// Makes `holder` the projector allowed to write health and returns its epoch: writes fenced
    /// with any older epoch fail from now on, and a claim waits for those in flight to end.
    async fn claim_fence(&self, holder: &str) -> anyhow::Result<i64>;

    /// Marks `stale` every enabled target whose newest sample (or last change, if it has none) is
    /// older than [`STALE_AFTER_INTERVALS`] of its intervals, recording each as a transition and a
    /// `health.changed` event. Returns the changes; a target already stale is left alone.
    async fn mark_stale(
        &self,
        now: DateTime<Utc>,
        source: &str,
    ) -> anyhow::Result<Vec<healthmon_domain::events::HealthChanged>> {
        self.mark_stale_fenced(now, source, None).await
    }

    /// [`Store::mark_stale`] fenced like [`Store::ingest_fenced`].
    async fn mark_stale_fenced(
        &self,
        now: DateTime<Utc>,
        source: &str,
        fence: Option<i64>,
    ) -> anyhow::Result<Vec<healthmon_domain::events::HealthChanged>>;

    /// Samples newest first (by slot), filtered by `at` in [from, to).
    async fn samples(&self, query: &SampleQuery) -> anyhow::Result<Page<Sample>>;

    /// Health changes of one target, newest first.
    async fn transitions(
        &self,
        target_id: Uuid,
        limit: u32,
        cursor: Option<i64>,
    ) -> anyhow::Result<Page<TransitionRecord>>;

    /// Hands pending outbox events, oldest first, to `sink`, removing each once delivered. Only
    /// one relay runs at a time across all processes sharing the database (so per-target order
    /// holds). Returns how many it relayed, or `None` at once when another relay holds the turn.
    async fn relay_outbox(&self, sink: &dyn OutboxSink, limit: u32) -> anyhow::Result<Option<usize>>;

    /// Every stored target's id, ascending: cheap enough to compare with the bus every few seconds.
    async fn target_ids(&self) -> anyhow::Result<Vec<Uuid>>;

    /// Records, in one transaction, a `target.resynced` outbox event stating each of these targets
    /// as stored now (ids no longer stored are skipped), and returns how many. Through the outbox,
    /// the store's word reaches the targets stream in order with every other event of the same
    /// target, so a republish can never overtake a newer change.
    async fn republish_targets(&self, ids: &[Uuid], source: &str) -> anyhow::Result<usize>;

    /// How many targets are stored.
    async fn target_count(&self) -> anyhow::Result<u64>;

    /// Whether target events wait in the outbox, not yet relayed to the bus.
    async fn target_events_pending(&self) -> anyhow::Result<bool>;

    /// Whether the database answers (for readiness).
    async fn check(&self) -> anyhow::Result<()>;
}

#[async_trait]
pub trait OutboxSink: Send + Sync {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()>;
}

/// Opens the store a URL names: `postgres://…` / `postgresql://…` or `sqlite://…` / `sqlite:…`.
/// Runs migrations.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PostgresStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::connect(url).await?))
    } else {
        anyhow::bail!("unsupported database URL scheme (use postgres:// or sqlite://)")
    }
}

/// A target with no sample for this many of its intervals is stale.
pub use healthmon_domain::projection::STALE_AFTER_INTERVALS;

/// Now, truncated to microseconds, which is what both databases keep.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
