//! SQLite: the active projector's fencing token (write transactions are serial here, so reading
//! the epoch inside one is enough).

use anyhow::Context;
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::micros;
use crate::Fenced;

pub(super) async fn claim(pool: &SqlitePool, holder: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "UPDATE projector_fence SET epoch = epoch + 1, holder = ?, claimed_at = ? WHERE id = 1 RETURNING epoch",
    )
    .bind(holder)
    .bind(micros(crate::now()))
    .fetch_one(pool)
    .await
    .context("claim the projector fence")
}

/// Fails with [`Fenced`] unless `fence` is still the newest epoch.
pub(super) async fn check(tx: &mut Transaction<'_, Sqlite>, fence: Option<i64>) -> anyhow::Result<()> {
    let Some(ours) = fence else { return Ok(()) };
    let current: i64 = sqlx::query_scalar("SELECT epoch FROM projector_fence WHERE id = 1")
        .fetch_one(&mut **tx)
        .await
        .context("read the projector fence")?;
    if current == ours { Ok(()) } else { Err(Fenced { ours, current }.into()) }
}
