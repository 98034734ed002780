//! SQLite: the statements of target writes (see `crate::target_writes`).

use anyhow::Context;
use async_trait::async_trait;
use healthmon_domain::{HealthState, Target};
use uuid::Uuid;

use super::projection::SqliteWrite;
use super::{health_from_row, micros, uuid_text};
use crate::common::target_write_error;
use crate::target_writes::TargetTx;

#[async_trait]
impl TargetTx for SqliteWrite {
    async fn insert_target(&mut self, target: &Target) -> anyhow::Result<()> {
        let insert = sqlx::query(
            "INSERT INTO targets (id, name, kind, enabled, tags, spec, revision, check_version, created_at, \
             updated_at, resource_host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(target.id));
        bind_columns(insert, target)?
            .execute(&mut *self.0)
            .await
            .map_err(|error| target_write_error(error, target, "insert the target"))?;
        Ok(())
    }

    async fn replace_target(&mut self, target: &Target) -> anyhow::Result<bool> {
        let id = uuid_text(target.id);
        let update = sqlx::query(
            "UPDATE targets SET name = ?, kind = ?, enabled = ?, tags = ?, spec = ?, revision = ?, check_version = ?, \
         created_at = ?, updated_at = ?, resource_host = ? WHERE id = ? AND revision = ?",
        );
        let updated = bind_columns(update, target)?
            .bind(&id)
            .bind(target.revision - 1)
            .execute(&mut *self.0)
            .await
            .map_err(|error| target_write_error(error, target, "update the target"))?
            .rows_affected();
        Ok(updated > 0)
    }

    async fn target_exists(&mut self, id: Uuid) -> anyhow::Result<bool> {
        let id = uuid_text(id);
        let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM targets WHERE id = ?)")
            .bind(&id)
            .fetch_one(&mut *self.0)
            .await
            .context("look up the target")?;
        Ok(exists)
    }

    async fn lock_health(&mut self, id: Uuid) -> anyhow::Result<Option<HealthState>> {
        let id = uuid_text(id);
        let row = sqlx::query(
            "SELECT status, since, reason, consecutive_successes, consecutive_failures, last_sample_at, last_slot, \
         check_version AS health_check_version FROM target_health WHERE target_id = ?",
        )
        .bind(&id)
        .fetch_optional(&mut *self.0)
        .await
        .context("read the target's health")?;
        row.as_ref().map(health_from_row).transpose()
    }

    async fn delete_target(&mut self, id: Uuid, keep_history: bool) -> anyhow::Result<Option<i64>> {
        let id_text = uuid_text(id);
        let revision: Option<i64> = sqlx::query_scalar("DELETE FROM targets WHERE id = ? RETURNING revision")
            .bind(&id_text)
            .fetch_optional(&mut *self.0)
            .await
            .context("delete the target")?;
        let Some(revision) = revision else {
            return Ok(None);
        };
        if !keep_history {
            sqlx::query("DELETE FROM samples WHERE target_id = ?")
                .bind(&id_text)
                .execute(&mut *self.0)
                .await
                .context("delete the target's samples")?;
            sqlx::query("DELETE FROM rollups WHERE target_id = ?")
                .bind(&id_text)
                .execute(&mut *self.0)
                .await
                .context("delete the target's rollups")?;
            sqlx::query("DELETE FROM transitions WHERE target_id = ?")
                .bind(&id_text)
                .execute(&mut *self.0)
                .await
                .context("delete the target's transitions")?;
        }
        Ok(Some(revision))
    }
}

type SqliteQuery<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds the target's stored columns, `name` to `resource_host`, in the order both the insert
/// and the update name them.
fn bind_columns<'q>(query: SqliteQuery<'q>, target: &'q Target) -> anyhow::Result<SqliteQuery<'q>> {
    Ok(query
        .bind(&target.spec.name)
        .bind(target.kind())
        .bind(target.spec.enabled)
        .bind(serde_json::to_string(&target.spec.tags).context("encode the target's tags")?)
        .bind(serde_json::to_string(target).context("encode the target")?)
        .bind(target.revision)
        .bind(target.check_version)
        .bind(micros(target.created_at))
        .bind(micros(target.updated_at))
        .bind(target.spec.resource_hostname()))
}
