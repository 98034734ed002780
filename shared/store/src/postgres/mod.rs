//! Postgres store: the production backend, shared by every api and projector instance.

mod accounts;
mod alerting;
mod alerting_config;
mod deliveries;
mod fence;
mod history;
mod outbox;
mod projection;
mod reads;
mod republish;
mod targets;
mod turn;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use healthmon_domain::{HealthState, Sample, Target};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::common::{counter, parse_status};
use crate::rollup_memory::RollupMemory;
use crate::{
    IngestOutcome, OutboxSink, Page, SampleQuery, Store, TargetFilter, TargetRecord, TransitionRecord, WriteOutcome,
};

const MAX_CONNECTIONS: u32 = 16;
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The target and health columns every target read selects, in the shape [`record_from_row`] reads.
const RECORD_COLUMNS: &str = "t.spec, h.status, h.since, h.reason, h.consecutive_successes, \
     h.consecutive_failures, h.last_sample_at, h.last_slot, h.check_version AS health_check_version";

pub struct PostgresStore {
    pool: PgPool,
    /// The newest rollups this process wrote (see `crate::rollup_memory`).
    rollups: RollupMemory,
}

impl PostgresStore {
    /// Connects and brings the schema up to date (migrations take a lock, so concurrent starts are safe).
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url).context("parse the Postgres URL")?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .context("connect to Postgres")?;
        sqlx::migrate!("../../migrations/postgres").run(&pool).await.context("run the Postgres migrations")?;
        Ok(Self { pool, rollups: RollupMemory::default() })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A write transaction for the flows written once (`crate::projection`, `crate::target_writes`).
    async fn write(&self) -> anyhow::Result<projection::PgWrite> {
        Ok(projection::PgWrite(self.pool.begin().await.context("begin a write transaction")?))
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_target(&self, target: &Target, source: &str) -> anyhow::Result<()> {
        crate::target_writes::create(self.write().await?, target, source).await
    }

    async fn update_target(&self, target: &Target, source: &str) -> anyhow::Result<WriteOutcome> {
        crate::target_writes::update(self.write().await?, target, source).await
    }

    async fn delete_target(&self, id: Uuid, keep_history: bool, source: &str) -> anyhow::Result<bool> {
        crate::target_writes::delete(self.write().await?, id, keep_history, source).await
    }

    async fn get_target(&self, id: Uuid) -> anyhow::Result<Option<TargetRecord>> {
        reads::get_target(&self.pool, id).await
    }

    async fn list_targets(&self, filter: &TargetFilter) -> anyhow::Result<Page<TargetRecord>> {
        reads::list_targets(&self.pool, filter).await
    }

    async fn all_targets(&self) -> anyhow::Result<Vec<TargetRecord>> {
        reads::all_targets(&self.pool).await
    }

    async fn claim_fence(&self, holder: &str) -> anyhow::Result<i64> {
        fence::claim(&self.pool, holder).await
    }

    /// Two: while one transaction waits on the network or a commit, the other uses the CPU.
    fn concurrent_ingests(&self) -> usize {
        2
    }

    async fn ingest_fenced(
        &self,
        samples: &[Sample],
        source: &str,
        fence: Option<i64>,
    ) -> anyhow::Result<IngestOutcome> {
        if samples.is_empty() {
            return Ok(crate::IngestOutcome::default());
        }
        let mut tx = self.write().await?;
        // The batch's statements are the same every time and go by primary key whatever the
        // batch holds: planning each for its arrays' values (a custom plan) cost more than
        // running it. Generic plans for a 1,000-value array expect a few rows and look each up
        // by key, which stays right however large the tables grow.
        sqlx::query("SET LOCAL plan_cache_mode = force_generic_plan")
            .execute(&mut *tx.0)
            .await
            .context("plan the ingest's statements once")?;
        crate::projection::ingest(tx, samples, source, fence, &self.rollups).await
    }

    async fn mark_stale_fenced(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        source: &str,
        fence: Option<i64>,
    ) -> anyhow::Result<Vec<healthmon_domain::events::HealthChanged>> {
        crate::projection::mark_stale(self.write().await?, now, source, fence).await
    }

    async fn samples(&self, query: &SampleQuery) -> anyhow::Result<Page<Sample>> {
        reads::samples(&self.pool, query).await
    }

    async fn transitions(
        &self,
        target_id: Uuid,
        limit: u32,
        cursor: Option<i64>,
    ) -> anyhow::Result<Page<TransitionRecord>> {
        reads::transitions(&self.pool, target_id, limit, cursor).await
    }

    async fn relay_outbox(&self, sink: &dyn OutboxSink, limit: u32) -> anyhow::Result<Option<usize>> {
        outbox::relay(&self.pool, sink, limit).await
    }

    async fn target_ids(&self) -> anyhow::Result<Vec<Uuid>> {
        republish::target_ids(&self.pool).await
    }

    async fn republish_targets(&self, ids: &[Uuid], source: &str) -> anyhow::Result<usize> {
        republish::republish(&self.pool, ids, source).await
    }

    async fn target_count(&self) -> anyhow::Result<u64> {
        republish::target_count(&self.pool).await
    }

    async fn target_events_pending(&self) -> anyhow::Result<bool> {
        republish::target_events_pending(&self.pool).await
    }

    async fn check(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await.context("ping Postgres")?;
        Ok(())
    }
}

/// Reads the health columns of [`RECORD_COLUMNS`].
fn health_from_row(row: &PgRow) -> anyhow::Result<HealthState> {
    let status: String = row.try_get("status").context("read health status")?;
    Ok(HealthState {
        status: parse_status(&status)?,
        since: row.try_get("since").context("read health since")?,
        reason: row.try_get("reason").context("read health reason")?,
        consecutive_successes: counter(row.try_get("consecutive_successes").context("read success count")?),
        consecutive_failures: counter(row.try_get("consecutive_failures").context("read failure count")?),
        last_sample_at: row.try_get("last_sample_at").context("read last sample time")?,
        last_slot: row.try_get("last_slot").context("read last slot")?,
        check_version: row.try_get("health_check_version").context("read health check version")?,
    })
}

fn record_from_row(row: &PgRow) -> anyhow::Result<TargetRecord> {
    let sqlx::types::Json(target) =
        row.try_get::<sqlx::types::Json<Target>, _>("spec").context("decode a stored target definition")?;
    Ok(TargetRecord { target, health: health_from_row(row)? })
}
