//! SQLite target writes: each change and its outbox events commit together.

use anyhow::Context;
use healthmon_domain::events::TargetChanged;
use healthmon_domain::projection::reset_if_check_changed;
use healthmon_domain::{HealthState, Target};
use sqlx::{Sqlite, SqlitePool, Transaction};
use uuid::Uuid;

use super::outbox::{insert_events, insert_transitions};
use super::{begin_write, health_from_row, micros, uuid_text};
use crate::WriteOutcome;
use crate::common::{PendingOutbox, target_write_error};

pub(super) async fn create(pool: &SqlitePool, target: &Target, source: &str) -> anyhow::Result<()> {
    let now = crate::now();
    let mut tx = begin_write(pool).await?;
    sqlx::query(
        "INSERT INTO targets (id, name, kind, enabled, tags, spec, revision, check_version, created_at, updated_at, \
         resource_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(uuid_text(target.id))
    .bind(&target.spec.name)
    .bind(target.kind())
    .bind(target.spec.enabled)
    .bind(serde_json::to_string(&target.spec.tags).context("encode the target's tags")?)
    .bind(serde_json::to_string(target).context("encode the target")?)
    .bind(target.revision)
    .bind(target.check_version)
    .bind(micros(target.created_at))
    .bind(micros(target.updated_at))
    .bind(target.spec.resource_hostname())
    .execute(&mut *tx)
    .await
    .map_err(|error| target_write_error(error, target, "insert the target"))?;
    write_health(&mut tx, target.id, &HealthState::new(target.check_version)).await?;
    let event = PendingOutbox::target(&TargetChanged::Created { target: target.clone() }, source, now);
    insert_events(&mut tx, &[event]).await?;
    tx.commit().await.context("commit the new target")?;
    Ok(())
}

pub(super) async fn update(pool: &SqlitePool, target: &Target, source: &str) -> anyhow::Result<WriteOutcome> {
    let now = crate::now();
    let id = uuid_text(target.id);
    let mut tx = begin_write(pool).await?;
    let updated = sqlx::query(
        "UPDATE targets SET name = ?, kind = ?, enabled = ?, tags = ?, spec = ?, revision = ?, check_version = ?, \
         created_at = ?, updated_at = ?, resource_host = ? WHERE id = ? AND revision = ?",
    )
    .bind(&target.spec.name)
    .bind(target.kind())
    .bind(target.spec.enabled)
    .bind(serde_json::to_string(&target.spec.tags).context("encode the target's tags")?)
    .bind(serde_json::to_string(target).context("encode the target")?)
    .bind(target.revision)
    .bind(target.check_version)
    .bind(micros(target.created_at))
    .bind(micros(target.updated_at))
    .bind(target.spec.resource_hostname())
    .bind(&id)
    .bind(target.revision - 1)
    .execute(&mut *tx)
    .await
    .map_err(|error| target_write_error(error, target, "update the target"))?
    .rows_affected();
    if updated == 0 {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM targets WHERE id = ?)")
            .bind(&id)
            .fetch_one(&mut *tx)
            .await
            .context("look up the target")?;
        return Ok(if exists { WriteOutcome::Conflict } else { WriteOutcome::NotFound });
    }

    let mut events = vec![PendingOutbox::target(&TargetChanged::Updated { target: target.clone() }, source, now)];
    let row = sqlx::query(
        "SELECT status, since, reason, consecutive_successes, consecutive_failures, last_sample_at, last_slot, \
         check_version AS health_check_version FROM target_health WHERE target_id = ?",
    )
    .bind(&id)
    .fetch_optional(&mut *tx)
    .await
    .context("read the target's health")?;
    let mut health = match row {
        Some(row) => health_from_row(&row)?,
        // Cannot happen with this schema, but an absent row must not stop a reset from being stored.
        None => HealthState { check_version: target.check_version - 1, ..HealthState::default() },
    };
    if health.check_version != target.check_version {
        let reset = reset_if_check_changed(target, &mut health, now);
        write_health(&mut tx, target.id, &health).await?;
        if let Some(change) = reset {
            events.push(PendingOutbox::health(&change.event, source));
            insert_transitions(&mut tx, &[change]).await?;
        }
    }
    insert_events(&mut tx, &events).await?;
    tx.commit().await.context("commit the target update")?;
    Ok(WriteOutcome::Done)
}

pub(super) async fn delete(pool: &SqlitePool, id: Uuid, keep_history: bool, source: &str) -> anyhow::Result<bool> {
    let now = crate::now();
    let id_text = uuid_text(id);
    let mut tx = begin_write(pool).await?;
    let revision: Option<i64> = sqlx::query_scalar("DELETE FROM targets WHERE id = ? RETURNING revision")
        .bind(&id_text)
        .fetch_optional(&mut *tx)
        .await
        .context("delete the target")?;
    let Some(revision) = revision else {
        return Ok(false);
    };
    if !keep_history {
        sqlx::query("DELETE FROM samples WHERE target_id = ?")
            .bind(&id_text)
            .execute(&mut *tx)
            .await
            .context("delete the target's samples")?;
        sqlx::query("DELETE FROM transitions WHERE target_id = ?")
            .bind(&id_text)
            .execute(&mut *tx)
            .await
            .context("delete the target's transitions")?;
    }
    let change = TargetChanged::Deleted { id, revision: revision + 1, keep_history };
    insert_events(&mut tx, &[PendingOutbox::target(&change, source, now)]).await?;
    tx.commit().await.context("commit the target deletion")?;
    Ok(true)
}

/// Inserts or replaces one target's health row.
pub(super) async fn write_health(
    tx: &mut Transaction<'_, Sqlite>,
    target_id: Uuid,
    health: &HealthState,
) -> anyhow::Result<()> {
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
