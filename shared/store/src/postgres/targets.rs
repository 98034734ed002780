//! Postgres: the statements of target writes (see `crate::target_writes`).

use anyhow::Context;
use async_trait::async_trait;
use healthmon_domain::{HealthState, Target};
use sqlx::types::Json;
use uuid::Uuid;

use super::health_from_row;
use super::projection::PgWrite;
use crate::common::target_write_error;
use crate::target_writes::TargetTx;

#[async_trait]
impl TargetTx for PgWrite {
    async fn insert_target(&mut self, target: &Target) -> anyhow::Result<()> {
        let insert = sqlx::query(
            "INSERT INTO targets (id, name, kind, enabled, tags, spec, revision, check_version, created_at, \
             updated_at, resource_host) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(target.id);
        bind_columns(insert, target)
            .execute(&mut *self.0)
            .await
            .map_err(|error| target_write_error(error, target, "insert the target"))?;
        Ok(())
    }

    async fn replace_target(&mut self, target: &Target) -> anyhow::Result<bool> {
        let update = sqlx::query(
            "UPDATE targets SET name = $3, kind = $4, enabled = $5, tags = $6, spec = $7, revision = $8, \
             check_version = $9, created_at = $10, updated_at = $11, resource_host = $12 \
             WHERE id = $1 AND revision = $2",
        )
        .bind(target.id)
        .bind(target.revision - 1);
        let updated = bind_columns(update, target)
            .execute(&mut *self.0)
            .await
            .map_err(|error| target_write_error(error, target, "update the target"))?
            .rows_affected();
        Ok(updated > 0)
    }

    async fn target_exists(&mut self, id: Uuid) -> anyhow::Result<bool> {
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM targets WHERE id = $1)")
            .bind(id)
            .fetch_one(&mut *self.0)
            .await
            .context("look up the target")?;
        Ok(exists)
    }

    async fn lock_health(&mut self, id: Uuid) -> anyhow::Result<Option<HealthState>> {
        let row = sqlx::query(
            "SELECT status, since, reason, consecutive_successes, consecutive_failures, last_sample_at, last_slot, \
         check_version AS health_check_version FROM target_health WHERE target_id = $1 FOR UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *self.0)
        .await
        .context("lock the target's health")?;
        row.as_ref().map(health_from_row).transpose()
    }

    async fn delete_target(&mut self, id: Uuid, keep_history: bool) -> anyhow::Result<Option<i64>> {
        let revision: Option<i64> = sqlx::query_scalar("DELETE FROM targets WHERE id = $1 RETURNING revision")
            .bind(id)
            .fetch_optional(&mut *self.0)
            .await
            .context("delete the target")?;
        let Some(revision) = revision else {
            return Ok(None);
        };
        if !keep_history {
            sqlx::query("DELETE FROM samples WHERE target_id = $1")
                .bind(id)
                .execute(&mut *self.0)
                .await
                .context("delete the target's samples")?;
            sqlx::query("DELETE FROM rollups WHERE target_id = $1")
                .bind(id)
                .execute(&mut *self.0)
                .await
                .context("delete the target's rollups")?;
            sqlx::query("DELETE FROM transitions WHERE target_id = $1")
                .bind(id)
                .execute(&mut *self.0)
                .await
                .context("delete the target's transitions")?;
        }
        Ok(Some(revision))
    }
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the target's stored columns, `name` to `resource_host`, in the order both the insert
/// and the update number them.
fn bind_columns<'q>(query: PgQuery<'q>, target: &'q Target) -> PgQuery<'q> {
    query
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
}
