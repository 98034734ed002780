//! Postgres ingest: a batch of samples becomes history, health and health events in one
//! transaction and a fixed number of round trips, whatever the batch size.

use std::collections::{BTreeMap, HashSet};

use anyhow::Context;
use chrono::{DateTime, Utc};
use healthmon_domain::{Sample, Thresholds};
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use super::health_from_row;
use super::outbox::{insert_events, insert_transitions};
use crate::IngestOutcome;
use crate::common::{IngestTarget, PendingOutbox, apply_samples, counter};

pub(super) async fn ingest(
    pool: &PgPool,
    samples: &[Sample],
    source: &str,
    fence: Option<i64>,
) -> anyhow::Result<IngestOutcome> {
    if samples.is_empty() {
        return Ok(IngestOutcome::default());
    }
    let mut target_ids: Vec<Uuid> = samples.iter().map(|sample| sample.target_id).collect();
    target_ids.sort_unstable();
    target_ids.dedup();

    let mut tx = pool.begin().await.context("begin the ingest transaction")?;
    super::fence::check(&mut tx, fence).await?;
    let mut targets = lock_targets(&mut tx, &target_ids).await?;
    let known: Vec<&Sample> = samples.iter().filter(|sample| targets.contains_key(&sample.target_id)).collect();
    let mut inserted = insert_samples(&mut tx, &known).await?;
    let stored = inserted.len();
    // `remove` also drops a second copy of the same sample within the batch.
    let fresh: Vec<&Sample> = known.into_iter().filter(|sample| inserted.remove(&sample.id)).collect();

    let applied = apply_samples(&mut targets, fresh);
    update_health(&mut tx, &targets, &applied.changed_health).await?;
    insert_transitions(&mut tx, &applied.transitions).await?;
    let events: Vec<PendingOutbox> =
        applied.changes.iter().map(|change| PendingOutbox::health(change, source)).collect();
    insert_events(&mut tx, &events).await?;
    tx.commit().await.context("commit the ingested samples")?;
    Ok(IngestOutcome { stored, changes: applied.changes })
}

/// Loads and locks the health of the batch's existing targets. Locking in id order keeps two
/// concurrent projectors from deadlocking on overlapping batches.
async fn lock_targets(
    tx: &mut Transaction<'_, Postgres>,
    target_ids: &[Uuid],
) -> anyhow::Result<BTreeMap<Uuid, IngestTarget>> {
    let rows = sqlx::query(
        "SELECT t.id, t.name, t.check_version AS target_check_version, \
         (t.spec->>'healthy_threshold')::int8 AS healthy_threshold, \
         (t.spec->>'unhealthy_threshold')::int8 AS unhealthy_threshold, \
         h.status, h.since, h.reason, h.consecutive_successes, h.consecutive_failures, h.last_sample_at, \
         h.last_slot, h.check_version AS health_check_version \
         FROM target_health h JOIN targets t ON t.id = h.target_id \
         WHERE h.target_id = ANY($1) ORDER BY h.target_id FOR UPDATE OF h",
    )
    .bind(target_ids)
    .fetch_all(&mut **tx)
    .await
    .context("lock the health of the batch's targets")?;

    let defaults = Thresholds::default();
    let mut targets = BTreeMap::new();
    for row in &rows {
        let id: Uuid = row.try_get("id").context("read target id")?;
        let healthy: Option<i64> = row.try_get("healthy_threshold").context("read healthy threshold")?;
        let unhealthy: Option<i64> = row.try_get("unhealthy_threshold").context("read unhealthy threshold")?;
        let target = IngestTarget {
            name: row.try_get("name").context("read target name")?,
            check_version: row.try_get("target_check_version").context("read target check version")?,
            thresholds: Thresholds {
                healthy: healthy.map_or(defaults.healthy, counter),
                unhealthy: unhealthy.map_or(defaults.unhealthy, counter),
            },
            health: health_from_row(row)?,
        };
        targets.insert(id, target);
    }
    Ok(targets)
}

/// Stores the samples as history in one statement; returns the ids that were not stored before.
async fn insert_samples(tx: &mut Transaction<'_, Postgres>, samples: &[&Sample]) -> anyhow::Result<HashSet<Uuid>> {
    if samples.is_empty() {
        return Ok(HashSet::new());
    }
    let ids: Vec<Uuid> = samples.iter().map(|sample| sample.id).collect();
    let target_ids: Vec<Uuid> = samples.iter().map(|sample| sample.target_id).collect();
    let slots: Vec<i64> = samples.iter().map(|sample| sample.slot).collect();
    let ats: Vec<DateTime<Utc>> = samples.iter().map(|sample| sample.at).collect();
    let successes: Vec<bool> = samples.iter().map(|sample| sample.success).collect();
    let status_codes: Vec<Option<i32>> = samples.iter().map(|sample| sample.status_code.map(i32::from)).collect();
    let latencies: Vec<f64> = samples.iter().map(|sample| sample.latency_ms).collect();
    let errors: Vec<Option<&str>> = samples.iter().map(|sample| sample.error.as_deref()).collect();
    let probers: Vec<&str> = samples.iter().map(|sample| sample.prober.as_str()).collect();
    let check_versions: Vec<i64> = samples.iter().map(|sample| sample.check_version).collect();
    let inserted: Vec<Uuid> = sqlx::query_scalar(
        "INSERT INTO samples (id, target_id, slot, at, success, status_code, latency_ms, error, prober, check_version) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::timestamptz[], $5::bool[], $6::int4[], \
         $7::float8[], $8::text[], $9::text[], $10::int8[]) \
         ON CONFLICT (id) DO NOTHING RETURNING id",
    )
    .bind(&ids)
    .bind(&target_ids)
    .bind(&slots)
    .bind(&ats)
    .bind(&successes)
    .bind(&status_codes)
    .bind(&latencies)
    .bind(&errors)
    .bind(&probers)
    .bind(&check_versions)
    .fetch_all(&mut **tx)
    .await
    .context("store the samples")?;
    Ok(inserted.into_iter().collect())
}

/// Rewrites the health rows of `changed` targets in one statement.
async fn update_health(
    tx: &mut Transaction<'_, Postgres>,
    targets: &BTreeMap<Uuid, IngestTarget>,
    changed: &[Uuid],
) -> anyhow::Result<()> {
    let rows: Vec<(Uuid, &IngestTarget)> =
        changed.iter().filter_map(|id| targets.get(id).map(|target| (*id, target))).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
    let statuses: Vec<&str> = rows.iter().map(|(_, target)| target.health.status.as_str()).collect();
    let sinces: Vec<Option<DateTime<Utc>>> = rows.iter().map(|(_, target)| target.health.since).collect();
    let reasons: Vec<Option<&str>> = rows.iter().map(|(_, target)| target.health.reason.as_deref()).collect();
    let successes: Vec<i64> = rows.iter().map(|(_, target)| i64::from(target.health.consecutive_successes)).collect();
    let failures: Vec<i64> = rows.iter().map(|(_, target)| i64::from(target.health.consecutive_failures)).collect();
    let last_sample_ats: Vec<Option<DateTime<Utc>>> =
        rows.iter().map(|(_, target)| target.health.last_sample_at).collect();
    let last_slots: Vec<Option<i64>> = rows.iter().map(|(_, target)| target.health.last_slot).collect();
    let check_versions: Vec<i64> = rows.iter().map(|(_, target)| target.health.check_version).collect();
    sqlx::query(
        "UPDATE target_health h SET status = u.status, since = u.since, reason = u.reason, \
         consecutive_successes = u.successes, consecutive_failures = u.failures, \
         last_sample_at = u.last_sample_at, last_slot = u.last_slot, check_version = u.check_version \
         FROM UNNEST($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::int8[], $6::int8[], \
         $7::timestamptz[], $8::int8[], $9::int8[]) \
         AS u(target_id, status, since, reason, successes, failures, last_sample_at, last_slot, check_version) \
         WHERE h.target_id = u.target_id",
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
    .execute(&mut **tx)
    .await
    .context("store the batch's health")?;
    Ok(())
}
