//! Postgres: notifiers, alert rules and maintenance windows. A rule's notifiers are also rows of
//! `alert_rule_notifiers`, whose foreign keys refuse a rule naming a missing notifier and the
//! delete of a named one; the checks before them lock the rows they read, so their answer holds
//! until the write commits, and the keys are the last word should anything slip past.

use anyhow::Context;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::alerting::{AlertRuleRecord, ConfigWrite};
use crate::alerting_rows::{ConfigRecord, is_foreign_key_violation, missing, named_notifiers, to_json};
use healthmon_domain::alerting::AlertRuleSpec;

const COLUMNS: &str = "id, spec, created_at, updated_at";

fn record_from_row<R: ConfigRecord>(row: &PgRow) -> anyhow::Result<R> {
    let Json(spec) = row.try_get::<Json<R::Spec>, _>("spec").with_context(|| format!("decode a stored {}", R::WHAT))?;
    Ok(R::assemble(
        row.try_get("id").with_context(|| format!("read the {} id", R::WHAT))?,
        spec,
        row.try_get("created_at").with_context(|| format!("read the {} creation time", R::WHAT))?,
        row.try_get("updated_at").with_context(|| format!("read the {} update time", R::WHAT))?,
    ))
}

pub(super) async fn get<'c, R: ConfigRecord>(executor: impl PgExecutor<'c>, id: Uuid) -> anyhow::Result<Option<R>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {} WHERE id = $1", R::TABLE))
        .bind(id)
        .fetch_optional(executor)
        .await
        .with_context(|| format!("read a {}", R::WHAT))?;
    row.as_ref().map(record_from_row).transpose()
}

/// Ordered by name, then id.
pub(super) async fn list<'c, R: ConfigRecord>(executor: impl PgExecutor<'c>) -> anyhow::Result<Vec<R>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM {} ORDER BY name, id", R::TABLE))
        .fetch_all(executor)
        .await
        .with_context(|| format!("list every {}", R::WHAT))?;
    rows.iter().map(record_from_row).collect()
}

pub(super) async fn insert<'c, R: ConfigRecord>(
    executor: impl PgExecutor<'c>,
    id: Uuid,
    spec: &R::Spec,
) -> Result<R, InsertError> {
    let document = to_json(spec, R::WHAT)?;
    let now = crate::now();
    let (kind_column, kind_value) = if R::kind(spec).is_some() { (", kind", ", $6") } else { ("", "") };
    let sql = format!(
        "INSERT INTO {} (id, name, spec, created_at, updated_at{kind_column}) VALUES ($1, $2, $3, $4, $5{kind_value}) \
         RETURNING {COLUMNS}",
        R::TABLE
    );
    let mut query = sqlx::query(&sql).bind(id).bind(R::name(spec)).bind(Json(document)).bind(now).bind(now);
    if let Some(kind) = R::kind(spec) {
        query = query.bind(kind);
    }
    let row = query.fetch_one(executor).await?;
    Ok(record_from_row(&row)?)
}

/// `None` when no such record exists.
pub(super) async fn update<'c, R: ConfigRecord>(
    executor: impl PgExecutor<'c>,
    id: Uuid,
    spec: &R::Spec,
) -> anyhow::Result<Option<R>> {
    let document = to_json(spec, R::WHAT)?;
    let kind = if R::kind(spec).is_some() { ", kind = $5" } else { "" };
    let sql = format!(
        "UPDATE {} SET name = $2, spec = $3, updated_at = $4{kind} WHERE id = $1 RETURNING {COLUMNS}",
        R::TABLE
    );
    let mut query = sqlx::query(&sql).bind(id).bind(R::name(spec)).bind(Json(document)).bind(crate::now());
    if let Some(kind) = R::kind(spec) {
        query = query.bind(kind);
    }
    let row = query.fetch_optional(executor).await.with_context(|| format!("update a {}", R::WHAT))?;
    row.as_ref().map(record_from_row).transpose()
}

pub(super) async fn delete<'c, R: ConfigRecord>(executor: impl PgExecutor<'c>, id: Uuid) -> anyhow::Result<bool> {
    let deleted = sqlx::query(&format!("DELETE FROM {} WHERE id = $1", R::TABLE))
        .bind(id)
        .execute(executor)
        .await
        .with_context(|| format!("delete a {}", R::WHAT))?;
    Ok(deleted.rows_affected() == 1)
}

/// A failed insert: the statement's own error kept apart, so a caller can tell a foreign key.
pub(super) enum InsertError {
    Database(sqlx::Error),
    Other(anyhow::Error),
}

impl From<sqlx::Error> for InsertError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl From<anyhow::Error> for InsertError {
    fn from(error: anyhow::Error) -> Self {
        Self::Other(error)
    }
}

impl InsertError {
    pub(super) fn into_anyhow(self, what: &'static str) -> anyhow::Error {
        match self {
            Self::Database(error) => anyhow::Error::new(error).context(format!("insert a {what}")),
            Self::Other(error) => error,
        }
    }
}

/// Deletes a notifier no rule names. Locking its row first makes the check exact: a rule write
/// naming it must lock it too (its foreign key check does), so none can slip in before the delete.
pub(super) async fn delete_notifier(pool: &PgPool, id: Uuid) -> anyhow::Result<ConfigWrite<()>> {
    let mut tx = pool.begin().await.context("begin a notifier delete")?;
    let found: Option<Uuid> = sqlx::query_scalar("SELECT id FROM notifiers WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .context("lock the notifier")?;
    if found.is_none() {
        return Ok(ConfigWrite::NotFound);
    }
    let naming = rules_naming(&mut *tx, id).await?;
    if !naming.is_empty() {
        return Ok(ConfigWrite::InUse(naming));
    }
    match sqlx::query("DELETE FROM notifiers WHERE id = $1").bind(id).execute(&mut *tx).await {
        Ok(_) => {}
        Err(error) if is_foreign_key_violation(&error) => {
            drop(tx);
            return Ok(ConfigWrite::InUse(rules_naming(pool, id).await?));
        }
        Err(error) => return Err(anyhow::Error::new(error).context("delete the notifier")),
    }
    tx.commit().await.context("commit the notifier delete")?;
    Ok(ConfigWrite::Done(()))
}

async fn rules_naming<'c>(executor: impl PgExecutor<'c>, notifier: Uuid) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT rule_id FROM alert_rule_notifiers WHERE notifier_id = $1 ORDER BY rule_id")
        .bind(notifier)
        .fetch_all(executor)
        .await
        .context("find the rules naming the notifier")
}

/// Creates (`create`) or replaces a rule with its notifier rows.
pub(super) async fn write_rule(
    pool: &PgPool,
    id: Uuid,
    spec: &AlertRuleSpec,
    create: bool,
) -> anyhow::Result<ConfigWrite<AlertRuleRecord>> {
    let named = named_notifiers(spec);
    let mut tx = pool.begin().await.context("begin an alert rule write")?;
    let unknown = lock_notifiers(&mut tx, &named).await?;
    if !unknown.is_empty() {
        return Ok(ConfigWrite::UnknownNotifiers(unknown));
    }
    let record = if create {
        insert::<AlertRuleRecord>(&mut *tx, id, spec).await.map_err(|error| error.into_anyhow("alert rule"))?
    } else {
        match update::<AlertRuleRecord>(&mut *tx, id, spec).await? {
            Some(record) => record,
            None => return Ok(ConfigWrite::NotFound),
        }
    };
    sqlx::query("DELETE FROM alert_rule_notifiers WHERE rule_id = $1")
        .bind(id)
        .execute(&mut *tx)
        .await
        .context("forget the rule's notifiers")?;
    let linked = sqlx::query(
        "INSERT INTO alert_rule_notifiers (rule_id, notifier_id) SELECT $1, notifier_id FROM UNNEST($2::uuid[]) AS u(notifier_id)",
    )
    .bind(id)
    .bind(&named)
    .execute(&mut *tx)
    .await;
    match linked {
        Ok(_) => {}
        Err(error) if is_foreign_key_violation(&error) => {
            drop(tx);
            let found = existing_notifiers(pool, &named).await?;
            return Ok(ConfigWrite::UnknownNotifiers(missing(&named, &found)));
        }
        Err(error) => return Err(anyhow::Error::new(error).context("record the rule's notifiers")),
    }
    tx.commit().await.context("commit the alert rule write")?;
    Ok(ConfigWrite::Done(record))
}

/// Locks the named notifiers against deletion until the transaction ends; returns those missing.
async fn lock_notifiers(tx: &mut Transaction<'_, Postgres>, named: &[Uuid]) -> anyhow::Result<Vec<Uuid>> {
    let found: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM notifiers WHERE id = ANY($1) FOR KEY SHARE")
        .bind(named)
        .fetch_all(&mut **tx)
        .await
        .context("lock the rule's notifiers")?;
    Ok(missing(named, &found))
}

async fn existing_notifiers(pool: &PgPool, named: &[Uuid]) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT id FROM notifiers WHERE id = ANY($1)")
        .bind(named)
        .fetch_all(pool)
        .await
        .context("look up the rule's notifiers")
}
