//! SQLite: notifiers, alert rules and maintenance windows. A rule's notifiers are also rows of
//! `alert_rule_notifiers`, whose foreign keys refuse a rule naming a missing notifier and the
//! delete of a named one. Writes run under `BEGIN IMMEDIATE`, one at a time, so the checks before
//! them are exact; the keys are the database's own guarantee besides.

use anyhow::Context;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteExecutor, SqlitePool};
use uuid::Uuid;

use super::{begin_write, from_micros, micros, parse_uuid, uuid_text};
use crate::alerting::{AlertRuleRecord, ConfigWrite};
use crate::alerting_rows::{
    ConfigRecord, from_json_text, is_foreign_key_violation, missing, named_notifiers, to_json_text,
};
use healthmon_domain::alerting::AlertRuleSpec;

const COLUMNS: &str = "id, spec, created_at, updated_at";

fn record_from_row<R: ConfigRecord>(row: &SqliteRow) -> anyhow::Result<R> {
    let id: String = row.try_get("id").with_context(|| format!("read the {} id", R::WHAT))?;
    let spec: String = row.try_get("spec").with_context(|| format!("read a stored {}", R::WHAT))?;
    Ok(R::assemble(
        parse_uuid(&id)?,
        from_json_text(&spec, R::WHAT)?,
        from_micros(row.try_get("created_at").with_context(|| format!("read the {} creation time", R::WHAT))?)?,
        from_micros(row.try_get("updated_at").with_context(|| format!("read the {} update time", R::WHAT))?)?,
    ))
}

pub(super) async fn get<'c, R: ConfigRecord>(executor: impl SqliteExecutor<'c>, id: Uuid) -> anyhow::Result<Option<R>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {} WHERE id = ?", R::TABLE))
        .bind(uuid_text(id))
        .fetch_optional(executor)
        .await
        .with_context(|| format!("read a {}", R::WHAT))?;
    row.as_ref().map(record_from_row).transpose()
}

/// Ordered by name, then id.
pub(super) async fn list<'c, R: ConfigRecord>(executor: impl SqliteExecutor<'c>) -> anyhow::Result<Vec<R>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM {} ORDER BY name, id", R::TABLE))
        .fetch_all(executor)
        .await
        .with_context(|| format!("list every {}", R::WHAT))?;
    rows.iter().map(record_from_row).collect()
}

pub(super) async fn insert<'c, R: ConfigRecord>(
    executor: impl SqliteExecutor<'c>,
    id: Uuid,
    spec: &R::Spec,
) -> anyhow::Result<R> {
    let document = to_json_text(spec, R::WHAT)?;
    let now = micros(crate::now());
    let (kind_column, kind_value) = if R::kind(spec).is_some() { (", kind", ", ?") } else { ("", "") };
    let sql = format!(
        "INSERT INTO {} (id, name, spec, created_at, updated_at{kind_column}) VALUES (?, ?, ?, ?, ?{kind_value}) \
         RETURNING {COLUMNS}",
        R::TABLE
    );
    let mut query = sqlx::query(&sql).bind(uuid_text(id)).bind(R::name(spec)).bind(document).bind(now).bind(now);
    if let Some(kind) = R::kind(spec) {
        query = query.bind(kind);
    }
    let row = query.fetch_one(executor).await.with_context(|| format!("insert a {}", R::WHAT))?;
    record_from_row(&row)
}

/// `None` when no such record exists.
pub(super) async fn update<'c, R: ConfigRecord>(
    executor: impl SqliteExecutor<'c>,
    id: Uuid,
    spec: &R::Spec,
) -> anyhow::Result<Option<R>> {
    let document = to_json_text(spec, R::WHAT)?;
    let kind = if R::kind(spec).is_some() { ", kind = ?" } else { "" };
    let sql =
        format!("UPDATE {} SET name = ?, spec = ?, updated_at = ?{kind} WHERE id = ? RETURNING {COLUMNS}", R::TABLE);
    let mut query = sqlx::query(&sql).bind(R::name(spec)).bind(document).bind(micros(crate::now()));
    if let Some(kind) = R::kind(spec) {
        query = query.bind(kind);
    }
    let row =
        query.bind(uuid_text(id)).fetch_optional(executor).await.with_context(|| format!("update a {}", R::WHAT))?;
    row.as_ref().map(record_from_row).transpose()
}

pub(super) async fn delete<'c, R: ConfigRecord>(executor: impl SqliteExecutor<'c>, id: Uuid) -> anyhow::Result<bool> {
    let deleted = sqlx::query(&format!("DELETE FROM {} WHERE id = ?", R::TABLE))
        .bind(uuid_text(id))
        .execute(executor)
        .await
        .with_context(|| format!("delete a {}", R::WHAT))?;
    Ok(deleted.rows_affected() == 1)
}

/// Deletes a notifier no rule names.
pub(super) async fn delete_notifier(pool: &SqlitePool, id: Uuid) -> anyhow::Result<ConfigWrite<()>> {
    let mut tx = begin_write(pool).await?;
    let found: Option<String> = sqlx::query_scalar("SELECT id FROM notifiers WHERE id = ?")
        .bind(uuid_text(id))
        .fetch_optional(&mut *tx)
        .await
        .context("read the notifier")?;
    if found.is_none() {
        return Ok(ConfigWrite::NotFound);
    }
    let naming = rules_naming(&mut *tx, id).await?;
    if !naming.is_empty() {
        return Ok(ConfigWrite::InUse(naming));
    }
    match sqlx::query("DELETE FROM notifiers WHERE id = ?").bind(uuid_text(id)).execute(&mut *tx).await {
        Ok(_) => {}
        Err(error) if is_foreign_key_violation(&error) => {
            let naming = rules_naming(&mut *tx, id).await?;
            return Ok(ConfigWrite::InUse(naming));
        }
        Err(error) => return Err(anyhow::Error::new(error).context("delete the notifier")),
    }
    tx.commit().await.context("commit the notifier delete")?;
    Ok(ConfigWrite::Done(()))
}

async fn rules_naming<'c>(executor: impl SqliteExecutor<'c>, notifier: Uuid) -> anyhow::Result<Vec<Uuid>> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT rule_id FROM alert_rule_notifiers WHERE notifier_id = ? ORDER BY rule_id")
            .bind(uuid_text(notifier))
            .fetch_all(executor)
            .await
            .context("find the rules naming the notifier")?;
    ids.iter().map(|id| parse_uuid(id)).collect()
}

/// Creates (`create`) or replaces a rule with its notifier rows.
pub(super) async fn write_rule(
    pool: &SqlitePool,
    id: Uuid,
    spec: &AlertRuleSpec,
    create: bool,
) -> anyhow::Result<ConfigWrite<AlertRuleRecord>> {
    let named = named_notifiers(spec);
    let mut tx = begin_write(pool).await?;
    let unknown = missing(&named, &existing_notifiers(&mut tx, &named).await?);
    if !unknown.is_empty() {
        return Ok(ConfigWrite::UnknownNotifiers(unknown));
    }
    let record = if create {
        insert::<AlertRuleRecord>(&mut *tx, id, spec).await?
    } else {
        match update::<AlertRuleRecord>(&mut *tx, id, spec).await? {
            Some(record) => record,
            None => return Ok(ConfigWrite::NotFound),
        }
    };
    sqlx::query("DELETE FROM alert_rule_notifiers WHERE rule_id = ?")
        .bind(uuid_text(id))
        .execute(&mut *tx)
        .await
        .context("forget the rule's notifiers")?;
    for notifier in &named {
        let linked = sqlx::query("INSERT INTO alert_rule_notifiers (rule_id, notifier_id) VALUES (?, ?)")
            .bind(uuid_text(id))
            .bind(uuid_text(*notifier))
            .execute(&mut *tx)
            .await;
        match linked {
            Ok(_) => {}
            Err(error) if is_foreign_key_violation(&error) => {
                let found = existing_notifiers(&mut tx, &named).await?;
                return Ok(ConfigWrite::UnknownNotifiers(missing(&named, &found)));
            }
            Err(error) => return Err(anyhow::Error::new(error).context("record the rule's notifiers")),
        }
    }
    tx.commit().await.context("commit the alert rule write")?;
    Ok(ConfigWrite::Done(record))
}

async fn existing_notifiers(tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>, named: &[Uuid]) -> anyhow::Result<Vec<Uuid>> {
    let found: Vec<String> =
        sqlx::query_scalar("SELECT id FROM notifiers WHERE id IN (SELECT value FROM json_each(?))")
            .bind(super::reads::uuid_list(named)?)
            .fetch_all(&mut **tx)
            .await
            .context("look up the rule's notifiers")?;
    found.iter().map(|id| parse_uuid(id)).collect()
}
