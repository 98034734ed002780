//! Postgres: the projection's statements (see `crate::projection`), each batch in a fixed number
//! of round trips whatever its size.

use std::collections::{BTreeMap, HashMap, HashSet};

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::history::{Rollup, RollupKey};
use healthmon_domain::projection::{Change, STALE_AFTER_INTERVALS};
use healthmon_domain::{HealthState, Sample};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use super::{RECORD_COLUMNS, health_from_row, outbox, record_from_row};
use crate::TargetRecord;
use crate::common::{PendingOutbox, projected_target};
use crate::history::{histogram_text, stored_rollup};
use crate::projection::{LockedTargets, ProjectionTx};

/// One write transaction: the projection's statements here, the target writes' in `targets.rs`.
pub(super) struct PgWrite(pub Transaction<'static, Postgres>);

#[async_trait]
impl ProjectionTx for PgWrite {
    async fn check_fence(&mut self, fence: Option<i64>) -> anyhow::Result<()> {
        super::fence::check(&mut self.0, fence).await
    }

    /// Locking in id order keeps two concurrent projectors from deadlocking on overlapping batches.
    async fn lock_projected(&mut self, target_ids: &[Uuid]) -> anyhow::Result<LockedTargets> {
        let rows = sqlx::query(
            "SELECT t.id, t.name, t.check_version AS target_check_version, \
         (t.spec->>'healthy_threshold')::int8 AS healthy_threshold, \
         (t.spec->>'unhealthy_threshold')::int8 AS unhealthy_threshold, \
         h.status, h.since, h.reason, h.consecutive_successes, h.consecutive_failures, h.last_sample_at, \
         h.last_slot, h.check_version AS health_check_version, h.open_rollup_bucket \
         FROM target_health h JOIN targets t ON t.id = h.target_id \
         WHERE h.target_id = ANY($1) ORDER BY h.target_id FOR UPDATE OF h",
        )
        .bind(target_ids)
        .fetch_all(&mut *self.0)
        .await
        .context("lock the health of the batch's targets")?;

        let mut targets = BTreeMap::new();
        let mut open_buckets = HashMap::new();
        for row in &rows {
            let id: Uuid = row.try_get("id").context("read target id")?;
            targets.insert(id, projected_target(row, health_from_row(row)?)?);
            if let Some(open) = row.try_get::<Option<i64>, _>("open_rollup_bucket").context("read the open bucket")? {
                open_buckets.insert(id, open);
            }
        }
        Ok((targets, open_buckets))
    }

    /// One statement for the whole batch.
    async fn insert_samples(&mut self, samples: &[&Sample]) -> anyhow::Result<HashSet<(Uuid, i64)>> {
        if samples.is_empty() {
            return Ok(HashSet::new());
        }
        let target_ids: Vec<Uuid> = samples.iter().map(|sample| sample.target_id).collect();
        let slots: Vec<i64> = samples.iter().map(|sample| sample.slot).collect();
        let ats: Vec<DateTime<Utc>> = samples.iter().map(|sample| sample.at).collect();
        let latencies: Vec<f64> = samples.iter().map(|sample| sample.latency_ms).collect();
        let check_versions: Vec<i64> = samples.iter().map(|sample| sample.check_version).collect();
        let status_codes: Vec<Option<i32>> = samples.iter().map(|sample| sample.status_code.map(i32::from)).collect();
        let successes: Vec<bool> = samples.iter().map(|sample| sample.success).collect();
        let probers: Vec<&str> = samples.iter().map(|sample| sample.prober.as_str()).collect();
        let errors: Vec<Option<&str>> = samples.iter().map(|sample| sample.error.as_deref()).collect();
        let inserted: Vec<(Uuid, i64)> = sqlx::query_as(
            "INSERT INTO samples (target_id, slot, at, latency_ms, check_version, status_code, success, prober, error) \
             SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::timestamptz[], $4::float8[], $5::int8[], $6::int4[], \
             $7::bool[], $8::text[], $9::text[]) \
             ON CONFLICT (target_id, slot) DO NOTHING RETURNING target_id, slot",
        )
        .bind(&target_ids)
        .bind(&slots)
        .bind(&ats)
        .bind(&latencies)
        .bind(&check_versions)
        .bind(&status_codes)
        .bind(&successes)
        .bind(&probers)
        .bind(&errors)
        .fetch_all(&mut *self.0)
        .await
        .context("store the samples")?;
        Ok(inserted.into_iter().collect())
    }

    /// One statement for the whole batch.
    async fn read_rollups(&mut self, keys: &[RollupKey]) -> anyhow::Result<HashMap<RollupKey, Rollup>> {
        let target_ids: Vec<Uuid> = keys.iter().map(|key| key.target_id).collect();
        let steps: Vec<i32> = keys.iter().map(|key| key.step_s as i32).collect();
        let buckets: Vec<i64> = keys.iter().map(|key| key.bucket).collect();
        let rows = sqlx::query(
            // One primary-key lookup per key, whatever the planner thinks of the table's size:
            // `OFFSET 0` keeps it from flattening the LATERAL into a join.
            "SELECT r.target_id, r.step_s, r.bucket, r.samples, r.successes, r.latency_sum, r.latency_min, \
             r.latency_max, r.histogram FROM UNNEST($1::uuid[], $2::int4[], $3::int8[]) AS k(target_id, step_s, bucket) \
             CROSS JOIN LATERAL (SELECT * FROM rollups WHERE target_id = k.target_id AND step_s = k.step_s \
             AND bucket = k.bucket OFFSET 0) AS r",
        )
        .bind(&target_ids)
        .bind(&steps)
        .bind(&buckets)
        .fetch_all(&mut *self.0)
        .await
        .context("read the batch's rollups")?;
        let mut rollups = HashMap::with_capacity(rows.len());
        for row in &rows {
            rollups.insert(rollup_key(row)?, stored_rollup(row)?);
        }
        Ok(rollups)
    }

    /// One statement for the whole batch.
    async fn write_rollups(&mut self, rollups: &[(RollupKey, Rollup)]) -> anyhow::Result<()> {
        if rollups.is_empty() {
            return Ok(());
        }
        let columns = RollupColumns::of(rollups.iter().map(|(key, rollup)| (key, rollup)));
        let query = sqlx::query(
            "INSERT INTO rollups (target_id, step_s, bucket, samples, successes, latency_sum, latency_min, \
             latency_max, histogram) \
             SELECT * FROM UNNEST($1::uuid[], $2::int4[], $3::int8[], $4::int8[], $5::int8[], $6::float8[], \
             $7::float8[], $8::float8[], $9::text[]) \
             ON CONFLICT (target_id, step_s, bucket) DO UPDATE SET samples = EXCLUDED.samples, \
             successes = EXCLUDED.successes, latency_sum = EXCLUDED.latency_sum, \
             latency_min = EXCLUDED.latency_min, latency_max = EXCLUDED.latency_max, histogram = EXCLUDED.histogram",
        );
        columns.bind(query).execute(&mut *self.0).await.context("store the batch's rollups")?;
        Ok(())
    }

    /// One statement for the whole batch: a join on the primary key, guarded by the sample count.
    async fn replace_rollups_if_unchanged(
        &mut self,
        rollups: &[(RollupKey, Rollup, u64)],
    ) -> anyhow::Result<HashSet<RollupKey>> {
        if rollups.is_empty() {
            return Ok(HashSet::new());
        }
        let columns = RollupColumns::of(rollups.iter().map(|(key, rollup, _)| (key, rollup)));
        let expected: Vec<i64> = rollups.iter().map(|(_, _, expected)| *expected as i64).collect();
        let query = sqlx::query(
            "UPDATE rollups r SET samples = v.samples, successes = v.successes, latency_sum = v.latency_sum, \
             latency_min = v.latency_min, latency_max = v.latency_max, histogram = v.histogram \
             FROM UNNEST($1::uuid[], $2::int4[], $3::int8[], $4::int8[], $5::int8[], $6::float8[], $7::float8[], \
             $8::float8[], $9::text[], $10::int8[]) \
             AS v(target_id, step_s, bucket, samples, successes, latency_sum, latency_min, latency_max, histogram, expected) \
             WHERE r.target_id = v.target_id AND r.step_s = v.step_s AND r.bucket = v.bucket \
             AND r.samples = v.expected RETURNING r.target_id, r.step_s, r.bucket",
        );
        let rows = columns
            .bind(query)
            .bind(&expected)
            .fetch_all(&mut *self.0)
            .await
            .context("replace the batch's remembered rollups")?;
        rows.iter().map(rollup_key).collect()
    }

    /// One statement for every row, inserted or replaced.
    async fn write_health(
        &mut self,
        rows: &[(Uuid, &HealthState)],
        opened: &BTreeMap<Uuid, i64>,
    ) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
        let statuses: Vec<&str> = rows.iter().map(|(_, health)| health.status.as_str()).collect();
        let sinces: Vec<Option<DateTime<Utc>>> = rows.iter().map(|(_, health)| health.since).collect();
        let reasons: Vec<Option<&str>> = rows.iter().map(|(_, health)| health.reason.as_deref()).collect();
        let successes: Vec<i64> = rows.iter().map(|(_, health)| i64::from(health.consecutive_successes)).collect();
        let failures: Vec<i64> = rows.iter().map(|(_, health)| i64::from(health.consecutive_failures)).collect();
        let last_sample_ats: Vec<Option<DateTime<Utc>>> =
            rows.iter().map(|(_, health)| health.last_sample_at).collect();
        let last_slots: Vec<Option<i64>> = rows.iter().map(|(_, health)| health.last_slot).collect();
        let check_versions: Vec<i64> = rows.iter().map(|(_, health)| health.check_version).collect();
        let open_buckets: Vec<Option<i64>> = rows.iter().map(|(id, _)| opened.get(id).copied()).collect();
        sqlx::query(
            "INSERT INTO target_health (target_id, status, since, reason, consecutive_successes, \
         consecutive_failures, last_sample_at, last_slot, check_version, open_rollup_bucket) \
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::int8[], $6::int8[], \
         $7::timestamptz[], $8::int8[], $9::int8[], $10::int8[]) \
         ON CONFLICT (target_id) DO UPDATE SET status = EXCLUDED.status, since = EXCLUDED.since, \
         reason = EXCLUDED.reason, consecutive_successes = EXCLUDED.consecutive_successes, \
         consecutive_failures = EXCLUDED.consecutive_failures, last_sample_at = EXCLUDED.last_sample_at, \
         last_slot = EXCLUDED.last_slot, check_version = EXCLUDED.check_version, \
         open_rollup_bucket = COALESCE(EXCLUDED.open_rollup_bucket, target_health.open_rollup_bucket)",
        )
        .bind(&ids)
        .bind(&statuses)
        .bind(&sinces)
        .bind(&reasons)
        .bind(&successes)
        .bind(&failures)
        .bind(&last_sample_ats)
        .bind(&last_slots)
        .bind(&check_versions)
        .bind(&open_buckets)
        .execute(&mut *self.0)
        .await
        .context("store the batch's health")?;
        Ok(())
    }

    /// SKIP LOCKED: a row an ingest holds is receiving samples right now, so it is not stale.
    async fn lock_silent(&mut self, now: DateTime<Utc>) -> anyhow::Result<Vec<TargetRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM targets t JOIN target_health h ON h.target_id = t.id \
             WHERE t.enabled AND h.status <> 'stale' \
             AND COALESCE(h.last_sample_at, t.updated_at) \
                 < $1 - make_interval(secs => $2 * (t.spec->>'interval_s')::double precision) \
             ORDER BY t.id FOR UPDATE OF h SKIP LOCKED"
        ))
        .bind(now)
        .bind(STALE_AFTER_INTERVALS as f64)
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

/// A rollup row's key, from its `target_id`, `step_s` and `bucket` columns.
fn rollup_key(row: &PgRow) -> anyhow::Result<RollupKey> {
    let step_s: i32 = row.try_get("step_s").context("read rollup width")?;
    Ok(RollupKey {
        target_id: row.try_get("target_id").context("read rollup target")?,
        step_s: u32::try_from(step_s).context("a rollup's width is negative")?,
        bucket: row.try_get("bucket").context("read rollup bucket")?,
    })
}

/// Rollup rows as one array per column, bound as `$1` … `$9` in the table's column order
/// (target_id, step_s, bucket, samples, successes, latency_sum, latency_min, latency_max,
/// histogram) for an `UNNEST`.
struct RollupColumns {
    target_ids: Vec<Uuid>,
    steps: Vec<i32>,
    buckets: Vec<i64>,
    samples: Vec<i64>,
    successes: Vec<i64>,
    sums: Vec<f64>,
    mins: Vec<f64>,
    maxes: Vec<f64>,
    histograms: Vec<String>,
}

impl RollupColumns {
    fn of<'a>(rows: impl ExactSizeIterator<Item = (&'a RollupKey, &'a Rollup)>) -> Self {
        let mut columns = Self {
            target_ids: Vec::with_capacity(rows.len()),
            steps: Vec::with_capacity(rows.len()),
            buckets: Vec::with_capacity(rows.len()),
            samples: Vec::with_capacity(rows.len()),
            successes: Vec::with_capacity(rows.len()),
            sums: Vec::with_capacity(rows.len()),
            mins: Vec::with_capacity(rows.len()),
            maxes: Vec::with_capacity(rows.len()),
            histograms: Vec::with_capacity(rows.len()),
        };
        for (key, rollup) in rows {
            columns.target_ids.push(key.target_id);
            columns.steps.push(key.step_s as i32);
            columns.buckets.push(key.bucket);
            columns.samples.push(rollup.samples as i64);
            columns.successes.push(rollup.successes as i64);
            columns.sums.push(rollup.latency_sum_ms);
            columns.mins.push(rollup.latency_min_ms);
            columns.maxes.push(rollup.latency_max_ms);
            columns.histograms.push(histogram_text(rollup));
        }
        columns
    }

    fn bind<'q>(&'q self, query: Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments> {
        query
            .bind(&self.target_ids)
            .bind(&self.steps)
            .bind(&self.buckets)
            .bind(&self.samples)
            .bind(&self.successes)
            .bind(&self.sums)
            .bind(&self.mins)
            .bind(&self.maxes)
            .bind(&self.histograms)
    }
}
