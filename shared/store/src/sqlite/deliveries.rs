//! SQLite: the delivery queue. A claim is one `UPDATE … RETURNING` under `BEGIN IMMEDIATE`, so two
//! claims never overlap; an attempt is recorded only while its delivery is pending and leased to
//! the one recording it.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteExecutor, SqlitePool, Transaction};
use uuid::Uuid;

use super::{begin_write, from_micros, micros, optional_time, parse_uuid, uuid_text};
use crate::Page;
use crate::alerting::{AttemptOutcome, DeliveryFilter, DeliveryRecord, DeliveryStatus, NewDelivery, QueueStats};
use crate::alerting_rows::{AttemptColumns, DeliveryColumns, first_attempt_at, from_json_text, to_json_text};
use crate::common::{fetch_limit, into_page};

const COLUMNS: &str = "seq, id, incident_id, alert_id, notifier_id, target_id, event, status, attempts, \
     last_status_code, last_error, created_at, delivered_at, next_attempt_at, give_up_at, context";

fn optional_uuid(row: &SqliteRow, column: &str) -> anyhow::Result<Option<Uuid>> {
    let text: Option<String> = row.try_get(column).with_context(|| format!("read {column}"))?;
    text.as_deref().map(parse_uuid).transpose()
}

fn uuid(row: &SqliteRow, column: &str) -> anyhow::Result<Uuid> {
    let text: String = row.try_get(column).with_context(|| format!("read {column}"))?;
    parse_uuid(&text)
}

fn record_from_row(row: &SqliteRow) -> anyhow::Result<DeliveryRecord> {
    let context: String = row.try_get("context").context("read the delivery's context")?;
    DeliveryColumns {
        id: uuid(row, "id")?,
        seq: row.try_get("seq").context("read the delivery seq")?,
        incident_id: uuid(row, "incident_id")?,
        alert_id: optional_uuid(row, "alert_id")?,
        notifier_id: uuid(row, "notifier_id")?,
        target_id: optional_uuid(row, "target_id")?,
        event: row.try_get("event").context("read the delivery's event")?,
        status: row.try_get("status").context("read the delivery's status")?,
        attempts: row.try_get("attempts").context("read the delivery's attempts")?,
        last_status_code: row.try_get("last_status_code").context("read the delivery's status code")?,
        last_error: row.try_get("last_error").context("read the delivery's last error")?,
        created_at: from_micros(row.try_get("created_at").context("read the delivery's creation time")?)?,
        delivered_at: optional_time(row, "delivered_at")?,
        next_attempt_at: optional_time(row, "next_attempt_at")?,
        give_up_at: from_micros(row.try_get("give_up_at").context("read the delivery's give-up time")?)?,
        context: from_json_text(&context, "notification context")?,
    }
    .into_record()
}

/// Appends the deliveries in the given order (their `seq` follows it).
pub(super) async fn insert(tx: &mut Transaction<'_, Sqlite>, deliveries: &[NewDelivery]) -> anyhow::Result<()> {
    for delivery in deliveries {
        sqlx::query(
            "INSERT INTO deliveries (id, incident_id, alert_id, notifier_id, target_id, event, status, created_at, \
             next_attempt_at, give_up_at, context) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(uuid_text(delivery.id))
        .bind(uuid_text(delivery.incident_id))
        .bind(delivery.alert_id.map(uuid_text))
        .bind(uuid_text(delivery.notifier_id))
        .bind(delivery.target_id.map(uuid_text))
        .bind(delivery.context.event.as_str())
        .bind(delivery.status.as_str())
        .bind(micros(delivery.created_at))
        .bind(first_attempt_at(delivery).map(micros))
        .bind(micros(delivery.give_up_at))
        .bind(to_json_text(&delivery.context, "notification context")?)
        .execute(&mut **tx)
        .await
        .context("record a delivery")?;
    }
    Ok(())
}

pub(super) async fn enqueue(pool: &SqlitePool, delivery: &NewDelivery) -> anyhow::Result<()> {
    let mut tx = begin_write(pool).await?;
    insert(&mut tx, std::slice::from_ref(delivery)).await?;
    tx.commit().await.context("commit the delivery")
}

pub(super) async fn claim(
    pool: &SqlitePool,
    holder: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> anyhow::Result<Vec<DeliveryRecord>> {
    let mut tx = begin_write(pool).await?;
    let rows = sqlx::query(&format!(
        "UPDATE deliveries SET lease_holder = ?1, lease_until = ?3 WHERE id IN ( \
           SELECT d.id FROM deliveries d \
            WHERE d.status = 'pending' AND d.next_attempt_at <= ?2 \
              AND (d.lease_until IS NULL OR d.lease_until < ?2) \
              AND NOT EXISTS (SELECT 1 FROM deliveries e \
                               WHERE e.incident_id = d.incident_id AND e.notifier_id = d.notifier_id \
                                 AND e.status = 'pending' AND e.seq < d.seq) \
            ORDER BY d.next_attempt_at, d.seq LIMIT ?4) \
         RETURNING {COLUMNS}"
    ))
    .bind(holder)
    .bind(micros(now))
    .bind(micros(lease_until))
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .context("claim due deliveries")?;
    tx.commit().await.context("commit the claim")?;
    let (claimed, unreadable) = crate::alerting_rows::split_claimed(&rows, record_from_row, |row| uuid(row, "id").ok());
    for (id, error) in unreadable {
        sqlx::query(
            "UPDATE deliveries SET status = 'failed', last_error = ?2, lease_holder = NULL, lease_until = NULL, \
             next_attempt_at = NULL WHERE id = ?1",
        )
        .bind(uuid_text(id))
        .bind(error)
        .execute(pool)
        .await
        .context("fail an unreadable delivery")?;
    }
    Ok(claimed)
}

/// Recorded only while the delivery is pending and leased to `holder`, even when that lease has
/// run out meanwhile: nobody else has claimed it since, and the attempt did happen. Once another
/// process has claimed it again (the holder changed), the late attempt is not recorded: the new
/// holder's own attempt will be. One write transaction for the whole batch.
pub(super) async fn record_attempts(
    pool: &SqlitePool,
    holder: &str,
    attempts: &[(Uuid, AttemptOutcome)],
) -> anyhow::Result<Vec<Uuid>> {
    if attempts.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = begin_write(pool).await?;
    let mut recorded = Vec::with_capacity(attempts.len());
    for (id, outcome) in attempts {
        let columns = AttemptColumns::of(outcome);
        let updated = sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, status = ?, last_status_code = ?, last_error = ?, \
             delivered_at = ?, next_attempt_at = ?, lease_holder = NULL, lease_until = NULL \
             WHERE id = ? AND status = 'pending' AND lease_holder = ?",
        )
        .bind(columns.status.as_str())
        .bind(columns.status_code)
        .bind(columns.error.as_deref())
        .bind(columns.delivered_at.map(micros))
        .bind(columns.next_attempt_at.map(micros))
        .bind(uuid_text(*id))
        .bind(holder)
        .execute(&mut *tx)
        .await
        .context("record a delivery attempt")?;
        if updated.rows_affected() == 1 {
            recorded.push(*id);
        }
    }
    tx.commit().await.context("commit the attempts")?;
    Ok(recorded)
}

pub(super) async fn get<'c>(executor: impl SqliteExecutor<'c>, id: Uuid) -> anyhow::Result<Option<DeliveryRecord>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = ?"))
        .bind(uuid_text(id))
        .fetch_optional(executor)
        .await
        .context("read a delivery")?;
    row.as_ref().map(record_from_row).transpose()
}

pub(super) async fn list(pool: &SqlitePool, filter: &DeliveryFilter) -> anyhow::Result<Page<DeliveryRecord>> {
    let mut query = QueryBuilder::<Sqlite>::new(format!("SELECT {COLUMNS} FROM deliveries WHERE 1 = 1"));
    if let Some(alert) = filter.alert {
        query.push(" AND alert_id = ").push_bind(uuid_text(alert));
    }
    if let Some(notifier) = filter.notifier {
        query.push(" AND notifier_id = ").push_bind(uuid_text(notifier));
    }
    if let Some(target) = filter.target {
        query.push(" AND target_id = ").push_bind(uuid_text(target));
    }
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(before) = filter.before_seq {
        query.push(" AND seq < ").push_bind(before);
    }
    query.push(" ORDER BY seq DESC LIMIT ").push_bind(fetch_limit(filter.limit));
    let rows = query.build().fetch_all(pool).await.context("list deliveries")?;
    let records = rows.iter().map(record_from_row).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(into_page(records, filter.limit, |record| record.seq.to_string()))
}

pub(super) async fn stats(pool: &SqlitePool) -> anyhow::Result<QueueStats> {
    let row = sqlx::query("SELECT count(*) AS pending, min(created_at) AS oldest FROM deliveries WHERE status = ?")
        .bind(DeliveryStatus::Pending.as_str())
        .fetch_one(pool)
        .await
        .context("measure the delivery queue")?;
    let pending: i64 = row.try_get("pending").context("read the pending count")?;
    Ok(QueueStats { pending: u64::try_from(pending).unwrap_or(0), oldest_pending_at: optional_time(&row, "oldest")? })
}
