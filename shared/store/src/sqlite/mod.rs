//! SQLite store: the zero-configuration backend of the all-in-one binary (one process per file).

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
use chrono::{DateTime, Utc};
use healthmon_domain::{HealthState, Sample, Target};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Connection, Row, Sqlite, SqlitePool, Transaction, TransactionManager};
use uuid::Uuid;

use crate::common::{counter, parse_status};
use crate::rollup_memory::RollupMemory;
use crate::{
    IngestOutcome, OutboxSink, Page, SampleQuery, Store, TargetFilter, TargetRecord, TransitionRecord, WriteOutcome,
};

const MAX_CONNECTIONS: u32 = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The target and health columns every target read selects, in the shape [`record_from_row`] reads.
const RECORD_COLUMNS: &str = "t.spec, h.status, h.since, h.reason, h.consecutive_successes, \
     h.consecutive_failures, h.last_sample_at, h.last_slot, h.check_version AS health_check_version";

pub struct SqliteStore {
    pool: SqlitePool,
    /// Stands in for Postgres' advisory lock: SQLite files are not shared between processes here.
    relay_lock: tokio::sync::Mutex<()>,
    /// The newest rollups this process wrote (see `crate::rollup_memory`).
    rollups: RollupMemory,
}

impl SqliteStore {
    /// A write transaction for the flows written once (`crate::projection`, `crate::target_writes`).
    async fn write(&self) -> anyhow::Result<projection::SqliteWrite> {
        Ok(projection::SqliteWrite(begin_write(&self.pool).await?))
    }
    /// Opens (creating if missing) the database at `sqlite://path`, `sqlite:path` or
    /// `sqlite::memory:`, and brings the schema up to date.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .context("parse the SQLite URL")?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool_options = if is_in_memory(url) {
            // Each connection would otherwise see its own empty database, or contend on a shared
            // cache whose table locks ignore busy_timeout; and the database lives only as long as
            // a connection does, so the one connection is never retired.
            SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS).before_acquire(|conn, _| {
                Box::pin(async move {
                    // A transaction whose COMMIT or ROLLBACK failed (SQLite may have rolled it back
                    // itself after SQLITE_BUSY) stays counted as open by sqlx, and that connection
                    // then refuses every BEGIN IMMEDIATE: retire it instead of lending it out. The
                    // ping lets a rollback queued when a transaction was dropped run first.
                    conn.ping().await?;
                    Ok(<Sqlite as sqlx::Database>::TransactionManager::get_transaction_depth(conn) == 0)
                })
            })
        };
        let pool = pool_options.connect_with(options).await.context("open the SQLite database")?;
        sqlx::migrate!("../../migrations/sqlite").run(&pool).await.context("run the SQLite migrations")?;
        Ok(Self { pool, relay_lock: tokio::sync::Mutex::new(()), rollups: RollupMemory::default() })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Starts a write transaction holding the write lock from the start: a deferred transaction that
/// reads first could fail to upgrade (SQLITE_BUSY) instead of waiting out the busy timeout.
async fn begin_write(pool: &SqlitePool) -> anyhow::Result<Transaction<'static, Sqlite>> {
    pool.begin_with("BEGIN IMMEDIATE").await.context("begin a SQLite write transaction")
}

#[async_trait]
impl Store for SqliteStore {
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

    async fn ingest_fenced(
        &self,
        samples: &[Sample],
        source: &str,
        fence: Option<i64>,
    ) -> anyhow::Result<IngestOutcome> {
        if samples.is_empty() {
            return Ok(crate::IngestOutcome::default());
        }
        crate::projection::ingest(self.write().await?, samples, source, fence, &self.rollups).await
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
        let Ok(_turn) = self.relay_lock.try_lock() else {
            return Ok(None);
        };
        outbox::relay(&self.pool, sink, limit).await.map(Some)
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
        sqlx::query("SELECT 1").execute(&self.pool).await.context("ping SQLite")?;
        Ok(())
    }
}

/// Uuids are stored as hyphenated lower-case text (sqlx would otherwise bind them as blobs).
fn uuid_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

fn parse_uuid(text: &str) -> anyhow::Result<Uuid> {
    Uuid::parse_str(text).context("stored id is not a uuid")
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn from_micros(value: i64) -> anyhow::Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).context("stored timestamp out of range")
}

fn optional_time(row: &SqliteRow, column: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    let value: Option<i64> = row.try_get(column).with_context(|| format!("read {column}"))?;
    value.map(from_micros).transpose()
}

/// Reads the health columns of [`RECORD_COLUMNS`].
fn health_from_row(row: &SqliteRow) -> anyhow::Result<HealthState> {
    let status: String = row.try_get("status").context("read health status")?;
    Ok(HealthState {
        status: parse_status(&status)?,
        since: optional_time(row, "since")?,
        reason: row.try_get("reason").context("read health reason")?,
        consecutive_successes: counter(row.try_get("consecutive_successes").context("read success count")?),
        consecutive_failures: counter(row.try_get("consecutive_failures").context("read failure count")?),
        last_sample_at: optional_time(row, "last_sample_at")?,
        last_slot: row.try_get("last_slot").context("read last slot")?,
        check_version: row.try_get("health_check_version").context("read health check version")?,
    })
}

fn record_from_row(row: &SqliteRow) -> anyhow::Result<TargetRecord> {
    let spec: String = row.try_get("spec").context("read a stored target definition")?;
    let target: Target = serde_json::from_str(&spec).context("decode a stored target definition")?;
    Ok(TargetRecord { target, health: health_from_row(row)? })
}
