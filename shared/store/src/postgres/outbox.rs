//! Postgres outbox and transition writes, and the relay that hands committed events to the bus.

use anyhow::Context;
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use healthmon_domain::projection::Change;

use crate::common::PendingOutbox;
use crate::{OutboxEvent, OutboxSink, OutboxStream};

/// The advisory lock key that makes one relay at a time run across every process sharing the
/// database ("hmrelay1" in ASCII); any fixed value works as long as nothing else uses it.
const RELAY_LOCK_KEY: i64 = 0x686d_7265_6c61_7931;

/// Appends events in the given order (their `seq` follows it).
pub(super) async fn insert_events(tx: &mut Transaction<'_, Postgres>, events: &[PendingOutbox]) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let streams: Vec<&str> = events.iter().map(|event| event.stream.as_str()).collect();
    let keys: Vec<Uuid> = events.iter().map(|event| event.key).collect();
    let msg_ids: Vec<Uuid> = events.iter().map(|event| event.msg_id).collect();
    let payloads: Vec<&[u8]> = events.iter().map(|event| event.payload.as_slice()).collect();
    sqlx::query(
        "INSERT INTO outbox (stream, key, msg_id, payload) \
         SELECT stream, key, msg_id, payload \
         FROM UNNEST($1::text[], $2::uuid[], $3::uuid[], $4::bytea[]) WITH ORDINALITY AS u(stream, key, msg_id, payload, n) \
         ORDER BY n",
    )
    .bind(&streams)
    .bind(&keys)
    .bind(&msg_ids)
    .bind(&payloads)
    .execute(&mut **tx)
    .await
    .context("append to the outbox")?;
    Ok(())
}

pub(super) async fn insert_transitions(
    tx: &mut Transaction<'_, Postgres>,
    transitions: &[Change],
) -> anyhow::Result<()> {
    if transitions.is_empty() {
        return Ok(());
    }
    let target_ids: Vec<Uuid> = transitions.iter().map(|pending| pending.target_id).collect();
    let froms: Vec<&str> = transitions.iter().map(|pending| pending.transition.from.as_str()).collect();
    let tos: Vec<&str> = transitions.iter().map(|pending| pending.transition.to.as_str()).collect();
    let ats: Vec<_> = transitions.iter().map(|pending| pending.transition.at).collect();
    let reasons: Vec<&str> = transitions.iter().map(|pending| pending.transition.reason.as_str()).collect();
    let slots: Vec<i64> = transitions.iter().map(|pending| pending.transition.slot).collect();
    sqlx::query(
        "INSERT INTO transitions (target_id, from_status, to_status, at, reason, slot) \
         SELECT target_id, from_status, to_status, at, reason, slot \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::int8[]) \
         WITH ORDINALITY AS u(target_id, from_status, to_status, at, reason, slot, n) ORDER BY n",
    )
    .bind(&target_ids)
    .bind(&froms)
    .bind(&tos)
    .bind(&ats)
    .bind(&reasons)
    .bind(&slots)
    .execute(&mut **tx)
    .await
    .context("record health transitions")?;
    Ok(())
}

/// Delivers the oldest events under a transaction-scoped advisory lock, then deletes what was
/// delivered in the same transaction. A delivery failure stops the pass: the events delivered
/// before it are still removed (and committed), and the failure is returned as the error, so the
/// caller backs off; the failed event and those after it stay for the next call.
pub(super) async fn relay(pool: &PgPool, sink: &dyn OutboxSink, limit: u32) -> anyhow::Result<Option<usize>> {
    let mut tx = pool.begin().await.context("begin the outbox relay transaction")?;
    let granted: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(RELAY_LOCK_KEY)
        .fetch_one(&mut *tx)
        .await
        .context("try the outbox relay lock")?;
    if !granted {
        return Ok(None);
    }
    let rows = sqlx::query("SELECT seq, stream, key, msg_id, payload FROM outbox ORDER BY seq LIMIT $1")
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .context("read pending outbox events")?;

    let mut delivered: Vec<i64> = Vec::with_capacity(rows.len());
    let mut failure = None;
    for row in &rows {
        let event = event_from_row(row)?;
        if let Err(error) = sink.deliver(&event).await {
            failure = Some(error.context(format!("deliver outbox event {}", event.seq)));
            break;
        }
        delivered.push(event.seq);
    }
    if !delivered.is_empty() {
        sqlx::query("DELETE FROM outbox WHERE seq = ANY($1)")
            .bind(&delivered)
            .execute(&mut *tx)
            .await
            .context("remove delivered outbox events")?;
    }
    tx.commit().await.context("commit the outbox relay")?;
    match failure {
        Some(error) => Err(error),
        None => Ok(Some(delivered.len())),
    }
}

fn event_from_row(row: &sqlx::postgres::PgRow) -> anyhow::Result<OutboxEvent> {
    let stream: String = row.try_get("stream").context("read outbox stream")?;
    Ok(OutboxEvent {
        seq: row.try_get("seq").context("read outbox seq")?,
        stream: OutboxStream::parse(&stream).with_context(|| format!("unknown outbox stream {stream:?}"))?,
        key: row.try_get("key").context("read outbox key")?,
        msg_id: row.try_get("msg_id").context("read outbox message id")?,
        payload: row.try_get("payload").context("read outbox payload")?,
    })
}
