//! History's half of the store on PostgreSQL: totals and series read from rollups and the raw
//! day partitions, and retention that drops a whole expired day at once.

use std::collections::HashMap;

use anyhow::Context;
use async_trait::async_trait;
use healthmon_domain::history::{Cover, OPEN_STEP_S, Rollup, SlotSpan};
use sqlx::Row;
use uuid::Uuid;

use super::PostgresStore;
use crate::TransitionRecord;
use crate::history::{
    History, HistoryFootprint, PurgeOutcome, PurgeStep, SeriesBucket, UptimeCounts, count, kept_raw_spans,
    series_bucket, stored_rollup,
};

const DAY_MS: i64 = 86_400_000;
/// Day partitions made ahead of today (and the one before it, for late samples).
const DAYS_AHEAD: i32 = 3;
/// How long dropping a day may wait for its lock: an ingest queued behind the drop waits at most
/// this long; past it the drop gives way and is tried again at the next step.
const DROP_LOCK_TIMEOUT: &str = "200ms";

/// Each target's open five-minute bucket as a rollup row (`h`, `r`): its hour and day rows do not
/// count it yet (see `healthmon_domain::history::open_bucket`), so readers of those add it.
const OPEN_BUCKET_ROWS: &str = "target_health h JOIN rollups r ON r.target_id = h.target_id \
     AND r.step_s = 300 AND r.bucket = h.open_rollup_bucket";
/// Whether an hour or day piece of the cover (`$2`…`$4`) holds `h`'s open bucket.
const OPEN_IN_PIECES: &str = "EXISTS (SELECT 1 FROM UNNEST($2::int4[], $3::int8[], $4::int8[]) AS p(step_s, first, stop) \
     WHERE p.step_s <> 300 AND h.open_rollup_bucket >= p.first AND h.open_rollup_bucket < p.stop)";
/// The start of the series bucket (width `$5`, in ms) that `h`'s open bucket lies in.
const OPEN_BUCKET_START: &str = "(h.open_rollup_bucket - ((h.open_rollup_bucket % $5) + $5) % $5)";

/// The cover's rollup pieces as three arrays: width, first bucket, end.
fn rollup_pieces(cover: &Cover) -> (Vec<i32>, Vec<i64>, Vec<i64>) {
    let steps = cover.rollups.iter().map(|piece| piece.step_s as i32).collect();
    let froms = cover.rollups.iter().map(|piece| piece.span.from_ms).collect();
    let tos = cover.rollups.iter().map(|piece| piece.span.to_ms).collect();
    (steps, froms, tos)
}

#[async_trait]
impl History for PostgresStore {
    async fn totals(&self, target_id: Uuid, cover: &Cover, raw_from_slot: i64) -> anyhow::Result<Rollup> {
        let mut total = Rollup::default();
        if !cover.rollups.is_empty() {
            let (steps, froms, tos) = rollup_pieces(cover);
            let rows = sqlx::query(
                // A primary-key range scan per piece: `OFFSET 0` keeps the planner from flattening
                // the LATERAL into a join, which with few targets it answers by scanning the table.
                // Then the open bucket, if an hour or day piece holds it (see `OPEN_BUCKET_ROWS`).
                &format!(
                    "SELECT r.samples, r.successes, r.latency_sum, r.latency_min, r.latency_max, r.histogram \
                     FROM UNNEST($2::int4[], $3::int8[], $4::int8[]) AS p(step_s, first, stop) \
                     CROSS JOIN LATERAL (SELECT * FROM rollups WHERE target_id = $1 AND step_s = p.step_s \
                     AND bucket >= p.first AND bucket < p.stop OFFSET 0) AS r \
                     UNION ALL SELECT r.samples, r.successes, r.latency_sum, r.latency_min, r.latency_max, \
                     r.histogram FROM {OPEN_BUCKET_ROWS} WHERE h.target_id = $1 AND {OPEN_IN_PIECES}"
                ),
            )
            .bind(target_id)
            .bind(&steps)
            .bind(&froms)
            .bind(&tos)
            .fetch_all(self.pool())
            .await
            .context("read the span's rollups")?;
            for row in &rows {
                total.merge(&stored_rollup(row)?);
            }
        }
        // One statement per edge, planned afresh with its bounds (`persistent(false)`): the planner
        // prunes the day partitions to the one or two the edge lies in. A cached generic plan
        // would cover, and lock, every day of the year on each execution.
        for (first, stop) in kept_raw_spans(cover, raw_from_slot) {
            let rows: Vec<(bool, f64)> = sqlx::query_as(
                "SELECT success, latency_ms FROM samples WHERE target_id = $1 AND slot >= $2 AND slot < $3",
            )
            .bind(target_id)
            .bind(first)
            .bind(stop)
            .persistent(false)
            .fetch_all(self.pool())
            .await
            .context("read the span's raw samples")?;
            for (success, latency_ms) in rows {
                total.add(success, latency_ms);
            }
        }
        Ok(total)
    }

    async fn uptime_counts(
        &self,
        target_ids: &[Uuid],
        cover: &Cover,
        raw_from_slot: i64,
    ) -> anyhow::Result<HashMap<Uuid, UptimeCounts>> {
        let (steps, rollup_froms, rollup_tos) = rollup_pieces(cover);
        let mut rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
            // Primary-key range scans per piece, as in `totals`, and the open buckets they hold.
            &format!(
                "SELECT r.target_id, sum(r.samples)::int8, sum(r.successes)::int8 FROM ( \
                 SELECT r.target_id, r.samples, r.successes \
                 FROM UNNEST($2::int4[], $3::int8[], $4::int8[]) AS p(step_s, first, stop) \
                 CROSS JOIN LATERAL (SELECT target_id, samples, successes FROM rollups WHERE target_id = ANY($1) \
                 AND step_s = p.step_s AND bucket >= p.first AND bucket < p.stop OFFSET 0) AS r \
                 UNION ALL SELECT r.target_id, r.samples, r.successes FROM {OPEN_BUCKET_ROWS} \
                 WHERE h.target_id = ANY($1) AND {OPEN_IN_PIECES}) AS r GROUP BY r.target_id"
            ),
        )
        .bind(target_ids)
        .bind(&steps)
        .bind(&rollup_froms)
        .bind(&rollup_tos)
        .fetch_all(self.pool())
        .await
        .context("count every target's rollups in the span")?;
        // One statement per edge, so that the planner prunes the day partitions (see `totals`).
        for (first, stop) in kept_raw_spans(cover, raw_from_slot) {
            rows.extend(
                sqlx::query_as::<_, (Uuid, i64, i64)>(
                    "SELECT target_id, count(*), count(*) FILTER (WHERE success) FROM samples \
                     WHERE target_id = ANY($1) AND slot >= $2 AND slot < $3 GROUP BY target_id",
                )
                .bind(target_ids)
                .bind(first)
                .bind(stop)
                .persistent(false)
                .fetch_all(self.pool())
                .await
                .context("count every target's raw samples in the span")?,
            );
        }
        let mut counted: HashMap<Uuid, UptimeCounts> = HashMap::new();
        for (id, samples, successes) in rows {
            let entry = counted.entry(id).or_default();
            entry.samples += count(samples);
            entry.successes += count(successes);
        }
        Ok(counted)
    }

    async fn series(
        &self,
        target_id: Uuid,
        step_s: u32,
        span: SlotSpan,
        raw_from_slot: i64,
    ) -> anyhow::Result<Vec<SeriesBucket>> {
        let step_ms = i64::from(step_s) * 1000;
        let rows = if step_s == 60 {
            sqlx::query(
                "SELECT slot - ((slot % $4) + $4) % $4 AS start, count(*)::int8 AS samples, \
                 count(*) FILTER (WHERE success)::int8 AS successes, sum(latency_ms) AS latency_sum, \
                 max(latency_ms) AS latency_max \
                 FROM samples WHERE target_id = $1 AND slot >= $2 AND slot < $3 GROUP BY 1 ORDER BY 1",
            )
            .bind(target_id)
            .bind(span.from_ms.max(raw_from_slot))
            .bind(span.to_ms)
            .bind(step_ms)
            // Planned with its bounds, so that only the days it covers are read (see `totals`).
            .persistent(false)
            .fetch_all(self.pool())
            .await
            .context("read the series from raw samples")?
        } else {
            sqlx::query(&format!(
                "SELECT start, sum(samples)::int8 AS samples, sum(successes)::int8 AS successes, \
                 sum(latency_sum) AS latency_sum, max(latency_max) AS latency_max FROM ( \
                 SELECT bucket AS start, samples, successes, latency_sum, latency_max FROM rollups \
                 WHERE target_id = $1 AND step_s = $4 AND bucket >= $2 AND bucket < $3 \
                 UNION ALL SELECT {OPEN_BUCKET_START} AS start, r.samples, r.successes, r.latency_sum, r.latency_max \
                 FROM {OPEN_BUCKET_ROWS} WHERE h.target_id = $1 AND $4 <> {OPEN_STEP_S} \
                 AND {OPEN_BUCKET_START} >= $2 AND {OPEN_BUCKET_START} < $3) AS b GROUP BY start ORDER BY start"
            ))
            .bind(target_id)
            .bind(span.from_ms)
            .bind(span.to_ms)
            .bind(step_s as i32)
            .bind(step_ms)
            .fetch_all(self.pool())
            .await
            .context("read the series from rollups")?
        };
        rows.iter().map(series_bucket).collect()
    }

    async fn rollup_buckets(
        &self,
        target_ids: &[Uuid],
        step_s: u32,
        span: SlotSpan,
    ) -> anyhow::Result<Vec<(Uuid, SeriesBucket)>> {
        let rows = sqlx::query(&format!(
            "SELECT target_id, start, sum(samples)::int8 AS samples, sum(successes)::int8 AS successes, \
             sum(latency_sum) AS latency_sum, max(latency_max) AS latency_max FROM ( \
             SELECT target_id, bucket AS start, samples, successes, latency_sum, latency_max FROM rollups \
             WHERE target_id = ANY($1) AND step_s = $2 AND bucket >= $3 AND bucket < $4 \
             UNION ALL SELECT h.target_id, {OPEN_BUCKET_START} AS start, r.samples, r.successes, r.latency_sum, \
             r.latency_max FROM {OPEN_BUCKET_ROWS} WHERE h.target_id = ANY($1) AND $2 <> {OPEN_STEP_S} \
             AND {OPEN_BUCKET_START} >= $3 AND {OPEN_BUCKET_START} < $4) AS b GROUP BY target_id, start"
        ))
        .bind(target_ids)
        .bind(step_s as i32)
        .bind(span.from_ms)
        .bind(span.to_ms)
        .bind(i64::from(step_s) * 1000)
        .fetch_all(self.pool())
        .await
        .context("read the targets' rollups")?;
        rows.iter()
            .map(|row| Ok((row.try_get("target_id").context("read a rollup's target")?, series_bucket(row)?)))
            .collect()
    }

    async fn recent_transitions(&self, target_ids: &[Uuid], limit: u32) -> anyhow::Result<Vec<TransitionRecord>> {
        let rows = sqlx::query(
            "SELECT seq, target_id, from_status, to_status, at, reason FROM transitions \
             WHERE target_id = ANY($1) ORDER BY seq DESC LIMIT $2",
        )
        .bind(target_ids)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .context("read the targets' newest transitions")?;
        rows.iter().map(super::reads::transition_from_row).collect()
    }

    async fn purge_history(&self, step: &PurgeStep) -> anyhow::Result<PurgeOutcome> {
        let today = step.now.timestamp_millis().div_euclid(DAY_MS);
        // Never a day that has expired already: it would be dropped again at the next step.
        let first_day = step.samples_before_slot.map_or(today - 1, |before| (today - 1).max(before.div_euclid(DAY_MS)));
        sqlx::query("SELECT healthmon_create_sample_partitions($1, $2)")
            .bind(first_day)
            .bind(i32::try_from(today + i64::from(DAYS_AHEAD) - first_day + 1).unwrap_or(DAYS_AHEAD))
            .execute(self.pool())
            .await
            .context("make the coming days' sample partitions")?;
        let mut outcome = PurgeOutcome::default();
        let batch = i64::from(step.batch);
        if let Some(before) = step.samples_before_slot {
            outcome.partitions_dropped = self.drop_expired_day(before).await?;
            outcome.samples_deleted = sqlx::query(
                "DELETE FROM samples_default WHERE ctid = ANY(ARRAY( \
                 SELECT ctid FROM samples_default WHERE slot < $1 LIMIT $2))",
            )
            .bind(before)
            .bind(batch)
            .execute(self.pool())
            .await
            .context("delete expired samples outside the day partitions")?
            .rows_affected();
        }
        if let Some(before) = step.rollups_before_bucket {
            outcome.rollups_deleted = sqlx::query(
                "DELETE FROM rollups WHERE ctid = ANY(ARRAY( \
                 SELECT r.ctid FROM (VALUES (300), (3600), (86400)) AS w(step_s) \
                 CROSS JOIN LATERAL (SELECT ctid FROM rollups WHERE step_s = w.step_s AND bucket < $1 LIMIT $2) AS r \
                 LIMIT $2))",
            )
            .bind(before)
            .bind(batch)
            .execute(self.pool())
            .await
            .context("delete expired rollups")?
            .rows_affected();
        }
        outcome.more = outcome.partitions_dropped > 0
            || outcome.samples_deleted >= u64::from(step.batch)
            || outcome.rollups_deleted >= u64::from(step.batch);
        Ok(outcome)
    }

    async fn history_footprint(&self) -> anyhow::Result<HistoryFootprint> {
        let (samples, sample_bytes, rollups, rollup_bytes): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM samples), \
             (SELECT COALESCE(sum(pg_total_relation_size(inhrelid)), 0)::int8 FROM pg_inherits \
              WHERE inhparent = 'samples'::regclass), \
             (SELECT count(*) FROM rollups), pg_total_relation_size('rollups')",
        )
        .fetch_one(self.pool())
        .await
        .context("measure history on disk")?;
        Ok(HistoryFootprint {
            samples: count(samples),
            sample_bytes: count(sample_bytes),
            rollups: count(rollups),
            rollup_bytes: count(rollup_bytes),
        })
    }
}

impl PostgresStore {
    /// Drops the oldest day partition that lies wholly before `before`, if any: 1 when one was
    /// dropped. A drop that would wait longer than [`DROP_LOCK_TIMEOUT`] gives way (0).
    async fn drop_expired_day(&self, before: i64) -> anyhow::Result<u64> {
        let expired: Option<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'samples'::regclass AND c.relname ~ '^samples_d[0-9]+$' \
             AND (substr(c.relname, 10)::int8 + 1) * $1 <= $2 \
             ORDER BY substr(c.relname, 10)::int8 LIMIT 1",
        )
        .bind(DAY_MS)
        .bind(before)
        .fetch_optional(self.pool())
        .await
        .context("find an expired day of samples")?;
        let Some(partition) = expired else {
            return Ok(0);
        };
        let mut tx = self.pool().begin().await.context("begin dropping a day")?;
        sqlx::query(&format!("SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
            .execute(&mut *tx)
            .await
            .context("bound the drop's wait")?;
        // The name was read from the catalogue and matched `samples_d<digits>`: nothing to quote.
        match sqlx::query(&format!("DROP TABLE {partition}")).execute(&mut *tx).await {
            Ok(_) => {
                tx.commit().await.context("commit dropping a day")?;
                tracing::info!(partition, "dropped an expired day of samples");
                Ok(1)
            }
            Err(sqlx::Error::Database(error)) if error.code().as_deref() == Some("55P03") => {
                tracing::debug!(partition, "dropping an expired day gave way to ingest; tried again later");
                Ok(0)
            }
            Err(error) => Err(error).context("drop an expired day of samples"),
        }
    }
}
