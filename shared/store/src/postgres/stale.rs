//! Postgres: marking targets stale when their samples stop.

use anyhow::Context;
use chrono::{DateTime, Utc};
use healthmon_domain::events::HealthChanged;
use sqlx::PgPool;

use super::outbox::{insert_events, insert_transitions};
use super::targets::write_health;
use super::{RECORD_COLUMNS, record_from_row};
use crate::STALE_AFTER_INTERVALS;
use crate::common::{PendingOutbox, stale_change};

pub(super) async fn mark_stale(
    pool: &PgPool,
    now: DateTime<Utc>,
    source: &str,
    fence: Option<i64>,
) -> anyhow::Result<Vec<HealthChanged>> {
    let mut tx = pool.begin().await.context("begin the staleness transaction")?;
    super::fence::check(&mut tx, fence).await?;
    // SKIP LOCKED: a row an ingest holds is receiving samples right now, so it is not stale.
    let rows = sqlx::query(&format!(
        "SELECT {RECORD_COLUMNS} FROM targets t JOIN target_health h ON h.target_id = t.id \
         WHERE t.enabled AND h.status <> 'stale' \
         AND COALESCE(h.last_sample_at, t.updated_at) \
             < $1 - make_interval(secs => $2 * (t.spec->>'interval_s')::double precision) \
         ORDER BY t.id FOR UPDATE OF h SKIP LOCKED"
    ))
    .bind(now)
    .bind(STALE_AFTER_INTERVALS as f64)
    .fetch_all(&mut *tx)
    .await
    .context("find silent targets")?;
    let mut changes = Vec::new();
    for row in &rows {
        let mut record = record_from_row(row)?;
        if let Some((transition, change)) = stale_change(&mut record, now) {
            write_health(&mut tx, record.target.id, &record.health).await?;
            insert_transitions(&mut tx, &[transition]).await?;
            insert_events(&mut tx, &[PendingOutbox::health(&change, source)]).await?;
            changes.push(change);
        }
    }
    tx.commit().await.context("commit the staleness transaction")?;
    Ok(changes)
}
