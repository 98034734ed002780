//! Postgres: the active projector's fencing token.

use anyhow::Context;
use sqlx::{PgPool, Postgres, Transaction};

use crate::Fenced;

pub(super) async fn claim(pool: &PgPool, holder: &str) -> anyhow::Result<i64> {
    sqlx::query_scalar(
        "UPDATE projector_fence SET epoch = epoch + 1, holder = $1, claimed_at = now() WHERE id = 1 RETURNING epoch",
    )
    .bind(holder)
    .fetch_one(pool)
    .await
    .context("claim the projector fence")
}

/// Fails with [`Fenced`] unless `fence` is still the newest epoch. The row stays share-locked until
/// the transaction ends, so a claim waits for this write instead of slipping in before its commit.
pub(super) async fn check(tx: &mut Transaction<'_, Postgres>, fence: Option<i64>) -> anyhow::Result<()> {
    let Some(ours) = fence else { return Ok(()) };
    let current: i64 = sqlx::query_scalar("SELECT epoch FROM projector_fence WHERE id = 1 FOR SHARE")
        .fetch_one(&mut **tx)
        .await
        .context("read the projector fence")?;
    if current == ours { Ok(()) } else { Err(Fenced { ours, current }.into()) }
}
