//! SQLite ingest: a batch of samples becomes history, health and health events in one
//! transaction. Statements are prepared once and cost no network round trip here.

use std::collections::BTreeMap;

use anyhow::Context;
use healthmon_domain::{Sample, Thresholds};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool, Transaction};
use uuid::Uuid;

use super::outbox::{insert_events, insert_transitions};
use super::targets::write_health;
use super::{begin_write, health_from_row, micros, parse_uuid, uuid_text};
use crate::IngestOutcome;
use crate::common::{IngestTarget, PendingOutbox, apply_samples, counter};

/// Ids per `IN (…)` list, well below SQLite's bound-parameter limit.
const LOOKUP_CHUNK: usize = 500;

pub(super) async fn ingest(
    pool: &SqlitePool,
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

    let mut tx = begin_write(pool).await?;
    super::fence::check(&mut tx, fence).await?;
    let mut targets = load_targets(&mut tx, &target_ids).await?;
    let mut fresh = Vec::new();
    for sample in samples.iter().filter(|sample| targets.contains_key(&sample.target_id)) {
        if insert_sample(&mut tx, sample).await? {
            fresh.push(sample);
        }
    }
    let stored = fresh.len();

    let applied = apply_samples(&mut targets, fresh);
    for id in &applied.changed_health {
        if let Some(target) = targets.get(id) {
            write_health(&mut tx, *id, &target.health).await?;
        }
    }
    insert_transitions(&mut tx, &applied.transitions).await?;
    let events: Vec<PendingOutbox> =
        applied.changes.iter().map(|change| PendingOutbox::health(change, source)).collect();
    insert_events(&mut tx, &events).await?;
    tx.commit().await.context("commit the ingested samples")?;
    Ok(IngestOutcome { stored, changes: applied.changes })
}

async fn load_targets(
    tx: &mut Transaction<'_, Sqlite>,
    target_ids: &[Uuid],
) -> anyhow::Result<BTreeMap<Uuid, IngestTarget>> {
    let defaults = Thresholds::default();
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
        let rows = query.build().fetch_all(&mut **tx).await.context("read the health of the batch's targets")?;
        for row in &rows {
            let id: String = row.try_get("id").context("read target id")?;
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
            targets.insert(parse_uuid(&id)?, target);
        }
    }
    Ok(targets)
}

/// Stores one sample; false when its id was already stored.
async fn insert_sample(tx: &mut Transaction<'_, Sqlite>, sample: &Sample) -> anyhow::Result<bool> {
    let inserted = sqlx::query(
        "INSERT OR IGNORE INTO samples \
         (id, target_id, slot, at, success, status_code, latency_ms, error, prober, check_version) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid_text(sample.id))
    .bind(uuid_text(sample.target_id))
    .bind(sample.slot)
    .bind(micros(sample.at))
    .bind(sample.success)
    .bind(sample.status_code.map(i32::from))
    .bind(sample.latency_ms)
    .bind(sample.error.as_deref())
    .bind(sample.prober.as_str())
    .bind(sample.check_version)
    .execute(&mut **tx)
    .await
    .context("store a sample")?
    .rows_affected();
    Ok(inserted > 0)
}
