//! SQLite: the projection's statements (see `crate::projection`). Statements are prepared once and
//! cost no network round trip here, so rows go one statement each.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::history::{Rollup, RollupKey};
use healthmon_domain::projection::{Change, ProjectedTarget, STALE_AFTER_INTERVALS};
use healthmon_domain::{HealthState, Sample};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use uuid::Uuid;

use super::{RECORD_COLUMNS, health_from_row, micros, outbox, parse_uuid, record_from_row, uuid_text};
use crate::TargetRecord;
use crate::common::{PendingOutbox, projected_target};
use crate::history::{histogram_text, stored_rollup};
use crate::projection::ProjectionTx;

/// Ids per `IN (…)` list, well below SQLite's bound-parameter limit.
const LOOKUP_CHUNK: usize = 500;

/// One write transaction: the projection's statements here, the target writes' in `targets.rs`.
/// Write transactions are serial on SQLite (`BEGIN IMMEDIATE`), so reading is locking.
pub(super) struct SqliteWrite(pub Transaction<'static, Sqlite>);

#[async_trait]
impl ProjectionTx for SqliteWrite {
    async fn check_fence(&mut self, fence: Option<i64>) -> anyhow::Result<()> {
        super::fence::check(&mut self.0, fence).await
    }

    async fn lock_projected(&mut self, target_ids: &[Uuid]) -> anyhow::Result<BTreeMap<Uuid, ProjectedTarget>> {
        let mut targets = BTreeMap::new();
        for chunk in target_ids.chunks(LOOKUP_CHUNK) {
            let mut query = QueryBuilder::<Sqlite>::new(
                "SELECT t.id, t.name, t.check_version AS target_check_version, \
             json_extract(t.spec, '$.healthy_threshold') AS healthy_threshold, \
             json_extract(t.spec, '$.unhealthy_threshold') AS unhealthy_threshold, \
             h.status, h.since, h.reason, h.consecutive_successes, h.consecutive_failures, h.last_sample_at, \
             h.last_slot, h.check_version AS health_check_version \
             FROM target_health h JOIN targets t ON t.id = h.target_id WHERE h.target_id IN (",
            );
            let mut ids = query.separated(", ");
            for id in chunk {
                ids.push_bind(uuid_text(*id));
            }
            query.push(")");
            let rows = query.build().fetch_all(&mut *self.0).await.context("read the health of the batch's targets")?;
            for row in &rows {
                let id: String = row.try_get("id").context("read target id")?;
                targets.insert(parse_uuid(&id)?, projected_target(row, health_from_row(row)?)?);
            }
        }
        Ok(targets)
    }

    async fn insert_samples(&mut self, samples: &[&Sample]) -> anyhow::Result<HashSet<(Uuid, i64)>> {
        let mut stored = HashSet::new();
        for sample in samples {
            if self.insert_sample(sample).await? {
                stored.insert((sample.target_id, sample.slot));
            }
        }
        Ok(stored)
    }

    async fn read_rollups(&mut self, keys: &[RollupKey]) -> anyhow::Result<HashMap<RollupKey, Rollup>> {
        let mut rollups = HashMap::with_capacity(keys.len());
        for key in keys {
            let row = sqlx::query(
                "SELECT samples, successes, latency_sum, latency_min, latency_max, histogram FROM rollups \
                 WHERE target_id = ? AND step_s = ? AND bucket = ?",
            )
            .bind(uuid_text(key.target_id))
            .bind(key.step_s)
            .bind(key.bucket)
            .fetch_optional(&mut *self.0)
            .await
            .context("read a rollup")?;
            if let Some(row) = row {
                rollups.insert(*key, stored_rollup(&row)?);
            }
        }
        Ok(rollups)
    }

    async fn write_rollups(&mut self, rollups: &[(RollupKey, Rollup)]) -> anyhow::Result<()> {
        for (key, rollup) in rollups {
            sqlx::query(
                "INSERT OR REPLACE INTO rollups (target_id, step_s, bucket, samples, successes, latency_sum, \
                 latency_min, latency_max, histogram) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(uuid_text(key.target_id))
            .bind(key.step_s)
            .bind(key.bucket)
            .bind(rollup.samples as i64)
            .bind(rollup.successes as i64)
            .bind(rollup.latency_sum_ms)
            .bind(rollup.latency_min_ms)
            .bind(rollup.latency_max_ms)
            .bind(histogram_text(rollup))
            .execute(&mut *self.0)
            .await
            .context("store a rollup")?;
        }
        Ok(())
    }

    async fn write_health(&mut self, rows: &[(Uuid, &HealthState)]) -> anyhow::Result<()> {
        for (id, health) in rows {
            write_health(&mut self.0, *id, health).await?;
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

impl SqliteWrite {
    /// Stores one sample; false when its (target, slot) was already stored.
    async fn insert_sample(&mut self, sample: &Sample) -> anyhow::Result<bool> {
        let inserted = sqlx::query(
            "INSERT OR IGNORE INTO samples \
         (target_id, slot, at, success, status_code, latency_ms, error, prober, check_version) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(sample.target_id))
        .bind(sample.slot)
        .bind(micros(sample.at))
        .bind(sample.success)
        .bind(sample.status_code.map(i32::from))
        .bind(sample.latency_ms)
        .bind(sample.error.as_deref())
        .bind(sample.prober.as_str())
        .bind(sample.check_version)
        .execute(&mut *self.0)
        .await
        .context("store a sample")?
        .rows_affected();
        Ok(inserted > 0)
    }
}

/// Inserts or replaces one target's health row.
async fn write_health(tx: &mut Transaction<'_, Sqlite>, target_id: Uuid, health: &HealthState) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO target_health (target_id, status, since, reason, consecutive_successes, consecutive_failures, \
         last_sample_at, last_slot, check_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (target_id) DO UPDATE SET status = excluded.status, since = excluded.since, \
         reason = excluded.reason, consecutive_successes = excluded.consecutive_successes, \
         consecutive_failures = excluded.consecutive_failures, last_sample_at = excluded.last_sample_at, \
         last_slot = excluded.last_slot, check_version = excluded.check_version",
    )
    .bind(uuid_text(target_id))
    .bind(health.status.as_str())
    .bind(health.since.map(micros))
    .bind(&health.reason)
    .bind(i64::from(health.consecutive_successes))
    .bind(i64::from(health.consecutive_failures))
    .bind(health.last_sample_at.map(micros))
    .bind(health.last_slot)
    .bind(health.check_version)
    .execute(&mut **tx)
    .await
    .context("store the target's health")?;
    Ok(())
}
