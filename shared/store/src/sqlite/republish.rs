//! SQLite: the store's word on targets, queued in the outbox so that it reaches the targets
//! stream in order with every other target event.

use anyhow::Context;
use healthmon_domain::Target;
use healthmon_domain::events::TargetChanged;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use uuid::Uuid;

use super::outbox::insert_events;
use super::{begin_write, uuid_text};
use crate::common::PendingOutbox;

pub(super) async fn target_ids(pool: &SqlitePool) -> anyhow::Result<Vec<Uuid>> {
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM targets ORDER BY id")
        .fetch_all(pool)
        .await
        .context("read every target id")?;
    ids.iter().map(|id| Uuid::try_parse(id).with_context(|| format!("stored target id {id:?}"))).collect()
}

pub(super) async fn republish(pool: &SqlitePool, ids: &[Uuid], source: &str) -> anyhow::Result<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let now = crate::now();
    // The write lock from the start: no target changes between the read and the outbox rows.
    let mut tx = begin_write(pool).await?;
    let mut query: QueryBuilder<'_, Sqlite> = QueryBuilder::new("SELECT spec FROM targets WHERE id IN (");
    let mut separated = query.separated(", ");
    for id in ids {
        separated.push_bind(uuid_text(*id));
    }
    query.push(") ORDER BY id");
    let specs: Vec<String> =
        query.build_query_scalar().fetch_all(&mut *tx).await.context("read the targets to republish")?;
    let mut events = Vec::with_capacity(specs.len());
    for spec in specs {
        let target: Target = serde_json::from_str(&spec).context("decode a stored target")?;
        events.push(PendingOutbox::target(&TargetChanged::resynced(target.id, Some(target)), source, now));
    }
    insert_events(&mut tx, &events).await?;
    tx.commit().await.context("commit the republished targets")?;
    Ok(events.len())
}

pub(super) async fn target_events_pending(pool: &SqlitePool) -> anyhow::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM outbox WHERE stream = 'targets')")
        .fetch_one(pool)
        .await
        .context("look for target events in the outbox")
}

pub(super) async fn target_count(pool: &SqlitePool) -> anyhow::Result<u64> {
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM targets").fetch_one(pool).await.context("count the targets")?;
    Ok(u64::try_from(count).unwrap_or_default())
}
