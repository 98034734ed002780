//! SQLite: the projection's statements (see `crate::projection`), each batch in a few multi-row
//! statements whatever its size: no network round trip here, but each statement still costs its
//! parse and its pass through the B-tree code.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::history::{Rollup, RollupKey};
use healthmon_domain::projection::{Change, STALE_AFTER_INTERVALS};
use healthmon_domain::{HealthState, Sample};
use sqlx::query_builder::Separated;
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use uuid::Uuid;

use super::{RECORD_COLUMNS, health_from_row, micros, outbox, parse_uuid, record_from_row, uuid_text};
use crate::TargetRecord;
use crate::common::{PendingOutbox, projected_target};
use crate::history::{histogram_text, stored_rollup};
use crate::projection::{LockedTargets, ProjectionTx};

/// Ids per `IN (…)` list, well below SQLite's bound-parameter limit.
const LOOKUP_CHUNK: usize = 500;
/// Rows per multi-row statement: ten columns each stay well below the bound-parameter limit.
const ROWS_PER_STATEMENT: usize = 1000;

/// One write transaction: the projection's statements here, the target writes' in `targets.rs`.
/// Write transactions are serial on SQLite (`BEGIN IMMEDIATE`), so reading is locking.
pub(super) struct SqliteWrite(pub Transaction<'static, Sqlite>);

#[async_trait]
impl ProjectionTx for SqliteWrite {
    async fn check_fence(&mut self, fence: Option<i64>) -> anyhow::Result<()> {
        super::fence::check(&mut self.0, fence).await
    }

    async fn lock_projected(&mut self, target_ids: &[Uuid]) -> anyhow::Result<LockedTargets> {
        let mut targets = BTreeMap::new();
        let mut open_buckets = HashMap::new();
        for chunk in target_ids.chunks(LOOKUP_CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT t.id, t.name, t.check_version AS target_check_version, \
             json_extract(t.spec, '$.healthy_threshold') AS healthy_threshold, \
             json_extract(t.spec, '$.unhealthy_threshold') AS unhealthy_threshold, \
             h.status, h.since, h.reason, h.consecutive_successes, h.consecutive_failures, h.last_sample_at, \
             h.last_slot, h.check_version AS health_check_version, h.open_rollup_bucket \
             FROM target_health h JOIN targets t ON t.id = h.target_id WHERE h.target_id IN (",
            );
            let mut ids = query.separated(", ");
            for id in chunk {
                ids.push_bind(uuid_text(*id));
            }
            query.push(")");
            let rows = query.build().fetch_all(&mut *self.0).await.context("read the health of the batch's targets")?;
            for row in &rows {
                let id = parse_uuid(&row.try_get::<String, _>("id").context("read target id")?)?;
                targets.insert(id, projected_target(row, health_from_row(row)?)?);
                if let Some(open) =
                    row.try_get::<Option<i64>, _>("open_rollup_bucket").context("read the open bucket")?
                {
                    open_buckets.insert(id, open);
                }
            }
        }
        Ok((targets, open_buckets))
    }

    /// One statement per chunk of rows; `RETURNING` names the rows that were not there before.
    async fn insert_samples(&mut self, samples: &[&Sample]) -> anyhow::Result<HashSet<(Uuid, i64)>> {
        let mut stored = HashSet::with_capacity(samples.len());
        for chunk in samples.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT OR IGNORE INTO samples \
                 (target_id, slot, at, success, status_code, latency_ms, error, prober, check_version) ",
            );
            query.push_values(chunk, |mut row, sample| {
                row.push_bind(uuid_text(sample.target_id))
                    .push_bind(sample.slot)
                    .push_bind(micros(sample.at))
                    .push_bind(sample.success)
                    .push_bind(sample.status_code.map(i32::from))
                    .push_bind(sample.latency_ms)
                    .push_bind(sample.error.clone())
                    .push_bind(sample.prober.clone())
                    .push_bind(sample.check_version);
            });
            query.push(" RETURNING target_id, slot");
            let rows: Vec<(String, i64)> =
                query.build_query_as().fetch_all(&mut *self.0).await.context("store the samples")?;
            for (target_id, slot) in rows {
                stored.insert((parse_uuid(&target_id)?, slot));
            }
        }
        Ok(stored)
    }

    /// One statement per chunk of keys.
    async fn read_rollups(&mut self, keys: &[RollupKey]) -> anyhow::Result<HashMap<RollupKey, Rollup>> {
        let mut rollups = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new("WITH k(target_id, step_s, bucket) AS (");
            query.push_values(chunk, |mut row, key| {
                row.push_bind(uuid_text(key.target_id)).push_bind(key.step_s).push_bind(key.bucket);
            });
            query.push(
                ") SELECT r.target_id, r.step_s, r.bucket, r.samples, r.successes, r.latency_sum, r.latency_min, \
                 r.latency_max, r.histogram FROM k JOIN rollups r \
                 ON r.target_id = k.target_id AND r.step_s = k.step_s AND r.bucket = k.bucket",
            );
            let rows = query.build().fetch_all(&mut *self.0).await.context("read the batch's rollups")?;
            for row in &rows {
                rollups.insert(rollup_key(row)?, stored_rollup(row)?);
            }
        }
        Ok(rollups)
    }

    /// One statement per chunk of rows.
    async fn write_rollups(&mut self, rollups: &[(RollupKey, Rollup)]) -> anyhow::Result<()> {
        for chunk in rollups.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT OR REPLACE INTO rollups (target_id, step_s, bucket, samples, successes, latency_sum, \
                 latency_min, latency_max, histogram) ",
            );
            query.push_values(chunk, |mut row, (key, rollup)| push_rollup(&mut row, key, rollup));
            query.build().execute(&mut *self.0).await.context("store the batch's rollups")?;
        }
        Ok(())
    }

    /// One statement per chunk of rows: a join on the primary key, guarded by the sample count.
    async fn replace_rollups_if_unchanged(
        &mut self,
        rollups: &[(RollupKey, Rollup, u64)],
    ) -> anyhow::Result<HashSet<RollupKey>> {
        let mut replaced = HashSet::with_capacity(rollups.len());
        for chunk in rollups.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "WITH v(target_id, step_s, bucket, samples, successes, latency_sum, latency_min, latency_max, \
                 histogram, expected) AS (",
            );
            query.push_values(chunk, |mut row, (key, rollup, expected)| {
                push_rollup(&mut row, key, rollup);
                row.push_bind(*expected as i64);
            });
            query.push(
                ") UPDATE rollups SET samples = v.samples, successes = v.successes, latency_sum = v.latency_sum, \
                 latency_min = v.latency_min, latency_max = v.latency_max, histogram = v.histogram FROM v \
                 WHERE rollups.target_id = v.target_id AND rollups.step_s = v.step_s AND rollups.bucket = v.bucket \
                 AND rollups.samples = v.expected RETURNING rollups.target_id, rollups.step_s, rollups.bucket",
            );
            let rows = query.build().fetch_all(&mut *self.0).await.context("replace the batch's remembered rollups")?;
            for row in &rows {
                replaced.insert(rollup_key(row)?);
            }
        }
        Ok(replaced)
    }

    /// One statement per chunk of rows, each inserted or replaced.
    async fn write_health(
        &mut self,
        rows: &[(Uuid, &HealthState)],
        opened: &BTreeMap<Uuid, i64>,
    ) -> anyhow::Result<()> {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "INSERT INTO target_health (target_id, status, since, reason, consecutive_successes, \
                 consecutive_failures, last_sample_at, last_slot, check_version, open_rollup_bucket) ",
            );
            query.push_values(chunk, |mut row, (id, health)| {
                row.push_bind(uuid_text(*id))
                    .push_bind(health.status.as_str())
                    .push_bind(health.since.map(micros))
                    .push_bind(health.reason.clone())
                    .push_bind(i64::from(health.consecutive_successes))
                    .push_bind(i64::from(health.consecutive_failures))
                    .push_bind(health.last_sample_at.map(micros))
                    .push_bind(health.last_slot)
                    .push_bind(health.check_version)
                    .push_bind(opened.get(id).copied());
            });
            query.push(
                " ON CONFLICT (target_id) DO UPDATE SET status = excluded.status, since = excluded.since, \
                 reason = excluded.reason, consecutive_successes = excluded.consecutive_successes, \
                 consecutive_failures = excluded.consecutive_failures, last_sample_at = excluded.last_sample_at, \
                 last_slot = excluded.last_slot, check_version = excluded.check_version, \
                 open_rollup_bucket = COALESCE(excluded.open_rollup_bucket, target_health.open_rollup_bucket)",
            );
            query.build().execute(&mut *self.0).await.context("store the batch's health")?;
        }
        Ok(())
    }

    async fn lock_silent(&mut self, now: DateTime<Utc>) -> anyhow::Result<Vec<TargetRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM targets t JOIN target_health h ON h.target_id = t.id \
             WHERE t.enabled AND h.status <> 'stale' \
             AND COALESCE(h.last_sample_at, t.updated_at) < ? - ? * json_extract(t.spec, '$.interval_s') * 1000000 \
             ORDER BY t.id"
        ))
        .bind(micros(now))
        .bind(STALE_AFTER_INTERVALS)
        .fetch_all(&mut *self.0)
        .await
        .context("find silent targets")?;
        rows.iter().map(record_from_row).collect()
    }

    async fn insert_transitions(&mut self, changes: &[Change]) -> anyhow::Result<()> {
        outbox::insert_transitions(&mut self.0, changes).await
    }

    async fn insert_events(&mut self, events: &[PendingOutbox]) -> anyhow::Result<()> {
        outbox::insert_events(&mut self.0, events).await
    }

    async fn commit(self) -> anyhow::Result<()> {
        self.0.commit().await.context("commit the projection's transaction")
    }
}

/// Binds a rollup row's columns in the table's order (target_id, step_s, bucket, samples,
/// successes, latency_sum, latency_min, latency_max, histogram).
fn push_rollup(row: &mut Separated<'_, '_, Sqlite, &'static str>, key: &RollupKey, rollup: &Rollup) {
    row.push_bind(uuid_text(key.target_id))
        .push_bind(key.step_s)
        .push_bind(key.bucket)
        .push_bind(rollup.samples as i64)
        .push_bind(rollup.successes as i64)
        .push_bind(rollup.latency_sum_ms)
        .push_bind(rollup.latency_min_ms)
        .push_bind(rollup.latency_max_ms)
        .push_bind(histogram_text(rollup));
}

/// A rollup row's key, from its `target_id`, `step_s` and `bucket` columns.
fn rollup_key(row: &SqliteRow) -> anyhow::Result<RollupKey> {
    let target_id: String = row.try_get("target_id").context("read rollup target")?;
    Ok(RollupKey {
        target_id: parse_uuid(&target_id)?,
        step_s: row.try_get("step_s").context("read rollup width")?,
        bucket: row.try_get("bucket").context("read rollup bucket")?,
    })
}
