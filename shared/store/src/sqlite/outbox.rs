//! SQLite outbox and transition writes, and the relay that hands committed events to the bus.

use anyhow::Context;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use super::{begin_write, micros, parse_uuid, uuid_text};
use healthmon_domain::projection::Change;

use crate::common::PendingOutbox;
use crate::{OutboxEvent, OutboxSink, OutboxStream};

/// Appends events in the given order (their `seq` follows it).
pub(super) async fn insert_events(tx: &mut Transaction<'_, Sqlite>, events: &[PendingOutbox]) -> anyhow::Result<()> {
    let created_at = micros(crate::now());
    for event in events {
        sqlx::query("INSERT INTO outbox (stream, key, msg_id, payload, created_at) VALUES (?, ?, ?, ?, ?)")
            .bind(event.stream.as_str())
            .bind(uuid_text(event.key))
            .bind(uuid_text(event.msg_id))
            .bind(event.payload.as_slice())
            .bind(created_at)
            .execute(&mut **tx)
            .await
            .context("append to the outbox")?;
    }
    Ok(())
}

pub(super) async fn insert_transitions(tx: &mut Transaction<'_, Sqlite>, transitions: &[Change]) -> anyhow::Result<()> {
    for pending in transitions {
        let transition = &pending.transition;
        sqlx::query(
            "INSERT INTO transitions (target_id, from_status, to_status, at, reason, slot) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(pending.target_id))
        .bind(transition.from.as_str())
        .bind(transition.to.as_str())
        .bind(micros(transition.at))
        .bind(&transition.reason)
        .bind(transition.slot)
        .execute(&mut **tx)
        .await
        .context("record a health transition")?;
    }
    Ok(())
}

/// Delivers the oldest events, then deletes what was delivered. The caller holds the relay turn.
/// A delivery failure stops the pass: the events delivered before it are still removed, and the
/// failure is returned as the error, so the caller backs off; the failed event and those after it
/// stay for the next call.
pub(super) async fn relay(pool: &SqlitePool, sink: &dyn OutboxSink, limit: u32) -> anyhow::Result<usize> {
    let rows = sqlx::query("SELECT seq, stream, key, msg_id, payload FROM outbox ORDER BY seq LIMIT ?")
        .bind(i64::from(limit))
        .fetch_all(pool)
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
    if let (Some(first), Some(last)) = (delivered.first(), delivered.last()) {
        // AUTOINCREMENT never reuses or back-fills a seq, so the range holds exactly the rows read.
        let mut tx = begin_write(pool).await?;
        sqlx::query("DELETE FROM outbox WHERE seq BETWEEN ? AND ?")
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await
            .context("remove delivered outbox events")?;
        tx.commit().await.context("commit the outbox relay")?;
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(delivered.len()),
    }
}

fn event_from_row(row: &SqliteRow) -> anyhow::Result<OutboxEvent> {
    let stream: String = row.try_get("stream").context("read outbox stream")?;
    let key: String = row.try_get("key").context("read outbox key")?;
    let msg_id: String = row.try_get("msg_id").context("read outbox message id")?;
    Ok(OutboxEvent {
        seq: row.try_get("seq").context("read outbox seq")?,
        stream: OutboxStream::parse(&stream).with_context(|| format!("unknown outbox stream {stream:?}"))?,
        key: parse_uuid(&key)?,
        msg_id: parse_uuid(&msg_id)?,
        payload: row.try_get("payload").context("read outbox payload")?,
    })
}
