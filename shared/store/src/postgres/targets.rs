//! Postgres target writes: each change and its outbox events commit together.

use anyhow::Context;
use healthmon_domain::events::TargetChanged;
use healthmon_domain::projection::reset_if_check_changed;
use healthmon_domain::{HealthState, Target};
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::health_from_row;
use super::outbox::{insert_events, insert_transitions};
use crate::WriteOutcome;
use crate::common::{PendingOutbox, target_write_error};

pub(super) async fn create(pool: &PgPool, target: &Target, source: &str) -> anyhow::Result<()> {
    let now = crate::now();
    let mut tx = pool.begin().await.context("begin the create-target transaction")?;
    sqlx::query(
        "INSERT INTO targets (id, name, kind, enabled, tags, spec, revision, check_version, created_at, updated_at, \
         resource_host) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(target.id)
    .bind(&target.spec.name)
    .bind(target.kind())
    .bind(target.spec.enabled)
    .bind(Json(&target.spec.tags))
    .bind(Json(target))
    .bind(target.revision)
    .bind(target.check_version)
    .bind(target.created_at)
    .bind(target.updated_at)
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

pub(super) async fn update(pool: &PgPool, target: &Target, source: &str) -> anyhow::Result<WriteOutcome> {
    let now = crate::now();
    let mut tx = pool.begin().await.context("begin the update-target transaction")?;
    let updated = sqlx::query(
        "UPDATE targets SET name = $3, kind = $4, enabled = $5, tags = $6, spec = $7, revision = $8, \
         check_version = $9, created_at = $10, updated_at = $11, resource_host = $12 WHERE id = $1 AND revision = $2",
    )
    .bind(target.id)
    .bind(target.revision - 1)
    .bind(&target.spec.name)
    .bind(target.kind())
    .bind(target.spec.enabled)
    .bind(Json(&target.spec.tags))
    .bind(Json(target))
    .bind(target.revision)
    .bind(target.check_version)
    .bind(target.created_at)
    .bind(target.updated_at)
    .bind(target.spec.resource_hostname())
    .execute(&mut *tx)
    .await
    .map_err(|error| target_write_error(error, target, "update the target"))?
    .rows_affected();
    if updated == 0 {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM targets WHERE id = $1)")
            .bind(target.id)
            .fetch_one(&mut *tx)
            .await
            .context("look up the target")?;
        return Ok(if exists { WriteOutcome::Conflict } else { WriteOutcome::NotFound });
    }

    let mut events = vec![PendingOutbox::target(&TargetChanged::Updated { target: target.clone() }, source, now)];
    let row = sqlx::query(
        "SELECT status, since, reason, consecutive_successes, consecutive_failures, last_sample_at, last_slot, \
         check_version AS health_check_version FROM target_health WHERE target_id = $1 FOR UPDATE",
    )
    .bind(target.id)
    .fetch_optional(&mut *tx)
    .await
    .context("lock the target's health")?;
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

pub(super) async fn delete(pool: &PgPool, id: Uuid, keep_history: bool, source: &str) -> anyhow::Result<bool> {
    let now = crate::now();
    let mut tx = pool.begin().await.context("begin the delete-target transaction")?;
    let revision: Option<i64> = sqlx::query_scalar("DELETE FROM targets WHERE id = $1 RETURNING revision")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .context("delete the target")?;
    let Some(revision) = revision else {
        return Ok(false);
    };
    if !keep_history {
        sqlx::query("DELETE FROM samples WHERE target_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .context("delete the target's samples")?;
        sqlx::query("DELETE FROM transitions WHERE target_id = $1")
            .bind(id)
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
    tx: &mut Transaction<'_, Postgres>,
    target_id: Uuid,
    health: &HealthState,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO target_health (target_id, status, since, reason, consecutive_successes, consecutive_failures, \
         last_sample_at, last_slot, check_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (target_id) DO UPDATE SET status = EXCLUDED.status, since = EXCLUDED.since, \
         reason = EXCLUDED.reason, consecutive_successes = EXCLUDED.consecutive_successes, \
         consecutive_failures = EXCLUDED.consecutive_failures, last_sample_at = EXCLUDED.last_sample_at, \
         last_slot = EXCLUDED.last_slot, check_version = EXCLUDED.check_version",
    )
    .bind(target_id)
    .bind(health.status.as_str())
    .bind(health.since)
    .bind(&health.reason)
    .bind(i64::from(health.consecutive_successes))
    .bind(i64::from(health.consecutive_failures))
    .bind(health.last_sample_at)
    .bind(health.last_slot)
    .bind(health.check_version)
    .execute(&mut **tx)
    .await
    .context("store the target's health")?;
    Ok(())
}
