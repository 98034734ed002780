//! History's half of the store on SQLite: totals and series read from rollups and raw samples,
//! and retention that deletes expired rows in small batches (a file has no partitions to drop).

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use async_trait::async_trait;
use healthmon_domain::history::{Cover, OPEN_STEP_S, Rollup, SlotSpan};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{SqliteStore, parse_uuid, uuid_text};
use crate::TransitionRecord;
use crate::history::{
    History, HistoryFootprint, PurgeOutcome, PurgeStep, SeriesBucket, UptimeCounts, count, kept_raw_spans,
    series_bucket, stored_rollup,
};

/// Pieces per statement, well below SQLite's bound-parameter limit.
const PIECES_PER_STATEMENT: usize = 1000;

/// Each target's open five-minute bucket as a rollup row (`h`, `r`): its hour and day rows do not
/// count it yet (see `healthmon_domain::history::open_bucket`), so readers of those add it.
const OPEN_BUCKET_ROWS: &str = "target_health h JOIN rollups r ON r.target_id = h.target_id \
     AND r.step_s = 300 AND r.bucket = h.open_rollup_bucket";
/// Whether an hour or day piece of the cover (`p`) holds `h`'s open bucket.
const OPEN_IN_PIECES: &str = "EXISTS (SELECT 1 FROM p WHERE p.step_s <> 300 \
     AND h.open_rollup_bucket >= p.first AND h.open_rollup_bucket < p.stop)";
/// The start of the series bucket (width `?5`, in ms) that `h`'s open bucket lies in.
const OPEN_BUCKET_START: &str = "(h.open_rollup_bucket - ((h.open_rollup_bucket % ?5) + ?5) % ?5)";

/// `WITH p(step_s, first, stop) AS (VALUES …)` of rollup pieces, ready for the rest of a query.
fn with_rollup_pieces(pieces: &[healthmon_domain::history::RollupPiece]) -> QueryBuilder<'static, Sqlite> {
    let mut query = QueryBuilder::new("WITH p(step_s, first, stop) AS (VALUES ");
    let mut values = query.separated(", ");
    for piece in pieces {
        values.push("(");
        values.push_bind_unseparated(piece.step_s);
        values.push_unseparated(", ");
        values.push_bind_unseparated(piece.span.from_ms);
        values.push_unseparated(", ");
        values.push_bind_unseparated(piece.span.to_ms);
        values.push_unseparated(")");
    }
    query.push(") ");
    query
}

#[async_trait]
impl History for SqliteStore {
    async fn totals(&self, target_id: Uuid, cover: &Cover, raw_from_slot: i64) -> anyhow::Result<Rollup> {
        let mut total = Rollup::default();
        let id = uuid_text(target_id);
        for pieces in cover.rollups.chunks(PIECES_PER_STATEMENT) {
            let mut query = with_rollup_pieces(pieces);
            query
                .push(
                    "SELECT r.samples, r.successes, r.latency_sum, r.latency_min, r.latency_max, r.histogram \
                     FROM p JOIN rollups r ON r.target_id = ",
                )
                .push_bind(id.clone())
                .push(" AND r.step_s = p.step_s AND r.bucket >= p.first AND r.bucket < p.stop")
                .push(format!(
                    " UNION ALL SELECT r.samples, r.successes, r.latency_sum, r.latency_min, r.latency_max, \
                     r.histogram FROM {OPEN_BUCKET_ROWS} WHERE {OPEN_IN_PIECES} AND h.target_id = "
                ))
                .push_bind(id.clone());
            let rows = query.build().fetch_all(self.pool()).await.context("read the span's rollups")?;
            for row in &rows {
                total.merge(&stored_rollup(row)?);
            }
        }
        for (from, to) in kept_raw_spans(cover, raw_from_slot) {
            let rows: Vec<(bool, f64)> = sqlx::query_as(
                "SELECT success, latency_ms FROM samples WHERE target_id = ? AND slot >= ? AND slot < ?",
            )
            .bind(&id)
            .bind(from)
            .bind(to)
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
        let wanted: HashSet<String> = target_ids.iter().map(|id| uuid_text(*id)).collect();
        let mut counted: HashMap<String, UptimeCounts> = HashMap::new();
        let mut add = |rows: Vec<(String, i64, i64)>| {
            for (id, samples, successes) in rows.into_iter().filter(|(id, _, _)| wanted.contains(id)) {
                let entry = counted.entry(id).or_default();
                entry.samples += count(samples);
                entry.successes += count(successes);
            }
        };
        for pieces in cover.rollups.chunks(PIECES_PER_STATEMENT) {
            let mut query = with_rollup_pieces(pieces);
            query.push(format!(
                "SELECT target_id, sum(samples), sum(successes) FROM ( \
                 SELECT r.target_id, r.samples, r.successes FROM p JOIN rollups r \
                 ON r.step_s = p.step_s AND r.bucket >= p.first AND r.bucket < p.stop \
                 UNION ALL SELECT r.target_id, r.samples, r.successes FROM {OPEN_BUCKET_ROWS} \
                 WHERE {OPEN_IN_PIECES}) GROUP BY target_id"
            ));
            add(query.build_query_as().fetch_all(self.pool()).await.context("count the span's rollups")?);
        }
        for (from, to) in kept_raw_spans(cover, raw_from_slot) {
            add(sqlx::query_as(
                "SELECT target_id, count(*), sum(success) FROM samples WHERE slot >= ? AND slot < ? GROUP BY target_id",
            )
            .bind(from)
            .bind(to)
            .fetch_all(self.pool())
            .await
            .context("count the span's raw samples")?);
        }
        counted.into_iter().map(|(id, counts)| Ok((parse_uuid(&id)?, counts))).collect()
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
                "SELECT slot - ((slot % ?4) + ?4) % ?4 AS start, count(*) AS samples, sum(success) AS successes, \
                 sum(latency_ms) AS latency_sum, max(latency_ms) AS latency_max \
                 FROM samples WHERE target_id = ?1 AND slot >= ?2 AND slot < ?3 GROUP BY 1 ORDER BY 1",
            )
            .bind(uuid_text(target_id))
            .bind(span.from_ms.max(raw_from_slot))
            .bind(span.to_ms)
            .bind(step_ms)
            .fetch_all(self.pool())
            .await
            .context("read the series from raw samples")?
        } else {
            sqlx::query(&format!(
                "SELECT start, sum(samples) AS samples, sum(successes) AS successes, sum(latency_sum) AS latency_sum, \
                 max(latency_max) AS latency_max FROM ( \
                 SELECT bucket AS start, samples, successes, latency_sum, latency_max FROM rollups \
                 WHERE target_id = ?1 AND step_s = ?2 AND bucket >= ?3 AND bucket < ?4 \
                 UNION ALL SELECT {OPEN_BUCKET_START} AS start, r.samples, r.successes, r.latency_sum, r.latency_max \
                 FROM {OPEN_BUCKET_ROWS} WHERE h.target_id = ?1 AND ?2 <> {OPEN_STEP_S} \
                 AND {OPEN_BUCKET_START} >= ?3 AND {OPEN_BUCKET_START} < ?4) GROUP BY start ORDER BY start"
            ))
            .bind(uuid_text(target_id))
            .bind(step_s)
            .bind(span.from_ms)
            .bind(span.to_ms)
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
            "SELECT target_id, start, sum(samples) AS samples, sum(successes) AS successes, \
             sum(latency_sum) AS latency_sum, max(latency_max) AS latency_max FROM ( \
             SELECT target_id, bucket AS start, samples, successes, latency_sum, latency_max FROM rollups \
             WHERE target_id IN (SELECT value FROM json_each(?1)) AND step_s = ?2 AND bucket >= ?3 AND bucket < ?4 \
             UNION ALL SELECT h.target_id, {OPEN_BUCKET_START} AS start, r.samples, r.successes, r.latency_sum, \
             r.latency_max FROM {OPEN_BUCKET_ROWS} WHERE h.target_id IN (SELECT value FROM json_each(?1)) \
             AND ?2 <> {OPEN_STEP_S} AND {OPEN_BUCKET_START} >= ?3 AND {OPEN_BUCKET_START} < ?4) \
             GROUP BY target_id, start"
        ))
        .bind(super::reads::uuid_list(target_ids)?)
        .bind(step_s)
        .bind(span.from_ms)
        .bind(span.to_ms)
        .bind(i64::from(step_s) * 1000)
        .fetch_all(self.pool())
        .await
        .context("read the targets' rollups")?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("target_id").context("read a rollup's target")?;
                Ok((parse_uuid(&id)?, series_bucket(row)?))
            })
            .collect()
    }

    async fn recent_transitions(&self, target_ids: &[Uuid], limit: u32) -> anyhow::Result<Vec<TransitionRecord>> {
        let rows = sqlx::query(
            "SELECT seq, target_id, from_status, to_status, at, reason FROM transitions \
             WHERE target_id IN (SELECT value FROM json_each(?)) ORDER BY seq DESC LIMIT ?",
        )
        .bind(super::reads::uuid_list(target_ids)?)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .context("read the targets' newest transitions")?;
        rows.iter().map(super::reads::transition_from_row).collect()
    }

    async fn purge_history(&self, step: &PurgeStep) -> anyhow::Result<PurgeOutcome> {
        let mut outcome = PurgeOutcome::default();
        let batch = i64::from(step.batch);
        if let Some(before) = step.samples_before_slot {
            outcome.samples_deleted = sqlx::query(
                "DELETE FROM samples WHERE (target_id, slot) IN \
                 (SELECT target_id, slot FROM samples WHERE slot < ? ORDER BY slot LIMIT ?)",
            )
            .bind(before)
            .bind(batch)
            .execute(self.pool())
            .await
            .context("delete expired samples")?
            .rows_affected();
        }
        if let Some(before) = step.rollups_before_bucket {
            outcome.rollups_deleted = sqlx::query(
                "DELETE FROM rollups WHERE (target_id, step_s, bucket) IN \
                 (SELECT target_id, step_s, bucket FROM rollups WHERE step_s IN (300, 3600, 86400) AND bucket < ? \
                  LIMIT ?)",
            )
            .bind(before)
            .bind(batch)
            .execute(self.pool())
            .await
            .context("delete expired rollups")?
            .rows_affected();
        }
        outcome.more =
            outcome.samples_deleted >= u64::from(step.batch) || outcome.rollups_deleted >= u64::from(step.batch);
        Ok(outcome)
    }

    async fn history_footprint(&self) -> anyhow::Result<HistoryFootprint> {
        let (samples, rollups): (i64, i64) =
            sqlx::query_as("SELECT (SELECT count(*) FROM samples), (SELECT count(*) FROM rollups)")
                .fetch_one(self.pool())
                .await
                .context("count history")?;
        let bytes = |tables: &'static str| {
            sqlx::query_scalar::<_, i64>(
                "SELECT COALESCE(sum(pgsize), 0) FROM dbstat WHERE name IN (SELECT value FROM json_each(?))",
            )
            .bind(tables)
            .fetch_one(self.pool())
        };
        let sample_bytes = bytes(r#"["samples", "samples_slot"]"#).await.context("measure samples on disk")?;
        let rollup_bytes = bytes(r#"["rollups", "rollups_step_bucket"]"#).await.context("measure rollups on disk")?;
        Ok(HistoryFootprint {
            samples: count(samples),
            sample_bytes: count(sample_bytes),
            rollups: count(rollups),
            rollup_bytes: count(rollup_bytes),
        })
    }
}
