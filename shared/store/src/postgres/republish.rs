//! Postgres: the store's word on targets, queued in the outbox so that it reaches the targets
//! stream in order with every other target event.

use anyhow::Context;
use healthmon_domain::Target;
use healthmon_domain::events::TargetChanged;
use sqlx::PgPool;
use sqlx::types::Json;
use uuid::Uuid;

use super::outbox::insert_events;
use crate::common::PendingOutbox;

pub(super) async fn target_ids(pool: &PgPool) -> anyhow::Result<Vec<Uuid>> {
    sqlx::query_scalar("SELECT id FROM targets ORDER BY id").fetch_all(pool).await.context("read every target id")
}

pub(super) async fn republish(pool: &PgPool, ids: &[Uuid], source: &str) -> anyhow::Result<usize> {
    let now = crate::now();
    let mut tx = pool.begin().await.context("begin the republish transaction")?;
    // FOR SHARE waits for an update in flight and then reads its result, and that update's own
    // outbox row was numbered first: the stream sees the older word before the newer one.
    let targets: Vec<Json<Target>> =
        sqlx::query_scalar("SELECT spec FROM targets WHERE id = ANY($1) ORDER BY id FOR SHARE")
            .bind(ids)
            .fetch_all(&mut *tx)
            .await
            .context("read the targets to republish")?;
    let events: Vec<PendingOutbox> = targets
        .into_iter()
        .map(|Json(target)| PendingOutbox::target(&TargetChanged::resynced(target.id, Some(target)), source, now))
        .collect();
    insert_events(&mut tx, &events).await?;
    tx.commit().await.context("commit the republished targets")?;
    Ok(events.len())
}

pub(super) async fn target_events_pending(pool: &PgPool) -> anyhow::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM outbox WHERE stream = 'targets')")
        .fetch_one(pool)
        .await
        .context("look for target events in the outbox")
}

pub(super) async fn target_count(pool: &PgPool) -> anyhow::Result<u64> {
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM targets").fetch_one(pool).await.context("count the targets")?;
    Ok(u64::try_from(count).unwrap_or_default())
}
