//! Postgres: the delivery queue. Claims lease rows with `FOR UPDATE SKIP LOCKED`, so processes
//! claiming at once get disjoint sets, and each leased row is re-checked as it is locked (a row
//! another process has just leased no longer qualifies).

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::Page;
use crate::alerting::{AttemptOutcome, DeliveryFilter, DeliveryRecord, DeliveryStatus, NewDelivery, QueueStats};
use crate::alerting_rows::{AttemptColumns, DeliveryColumns, first_attempt_at};
use crate::common::{fetch_limit, into_page};

const COLUMNS: &str = "seq, id, incident_id, alert_id, notifier_id, target_id, event, status, attempts, \
     last_status_code, last_error, created_at, delivered_at, next_attempt_at, give_up_at, context";

fn record_from_row(row: &PgRow) -> anyhow::Result<DeliveryRecord> {
    let attempts: i32 = row.try_get("attempts").context("read the delivery's attempts")?;
    let status_code: Option<i32> = row.try_get("last_status_code").context("read the delivery's status code")?;
    let Json(context) = row.try_get("context").context("decode the delivery's context")?;
    DeliveryColumns {
        id: row.try_get("id").context("read the delivery id")?,
        seq: row.try_get("seq").context("read the delivery seq")?,
        incident_id: row.try_get("incident_id").context("read the delivery's incident")?,
        alert_id: row.try_get("alert_id").context("read the delivery's rule")?,
        notifier_id: row.try_get("notifier_id").context("read the delivery's notifier")?,
        target_id: row.try_get("target_id").context("read the delivery's target")?,
        event: row.try_get("event").context("read the delivery's event")?,
        status: row.try_get("status").context("read the delivery's status")?,
        attempts: i64::from(attempts),
        last_status_code: status_code.map(i64::from),
        last_error: row.try_get("last_error").context("read the delivery's last error")?,
        created_at: row.try_get("created_at").context("read the delivery's creation time")?,
        delivered_at: row.try_get("delivered_at").context("read the delivery time")?,
        next_attempt_at: row.try_get("next_attempt_at").context("read the delivery's next attempt")?,
        give_up_at: row.try_get("give_up_at").context("read the delivery's give-up time")?,
        context,
    }
    .into_record()
}

/// Appends the deliveries in the given order (their `seq` follows it), in one statement.
pub(super) async fn insert<'c>(executor: impl PgExecutor<'c>, deliveries: &[NewDelivery]) -> anyhow::Result<()> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = deliveries.iter().map(|d| d.id).collect();
    let incident_ids: Vec<Uuid> = deliveries.iter().map(|d| d.incident_id).collect();
    let alert_ids: Vec<Option<Uuid>> = deliveries.iter().map(|d| d.alert_id).collect();
    let notifier_ids: Vec<Uuid> = deliveries.iter().map(|d| d.notifier_id).collect();
    let target_ids: Vec<Option<Uuid>> = deliveries.iter().map(|d| d.target_id).collect();
    let events: Vec<&str> = deliveries.iter().map(|d| d.context.event.as_str()).collect();
    let statuses: Vec<&str> = deliveries.iter().map(|d| d.status.as_str()).collect();
    let created: Vec<DateTime<Utc>> = deliveries.iter().map(|d| d.created_at).collect();
    let next: Vec<Option<DateTime<Utc>>> = deliveries.iter().map(first_attempt_at).collect();
    let give_up: Vec<DateTime<Utc>> = deliveries.iter().map(|d| d.give_up_at).collect();
    let contexts = deliveries
        .iter()
        .map(|d| crate::alerting_rows::to_json(&d.context, "notification context"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    sqlx::query(
        "INSERT INTO deliveries (id, incident_id, alert_id, notifier_id, target_id, event, status, created_at, \
         next_attempt_at, give_up_at, context) \
         SELECT id, incident_id, alert_id, notifier_id, target_id, event, status, created_at, next_attempt_at, \
         give_up_at, context \
         FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], \
         $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::jsonb[]) \
         WITH ORDINALITY AS u(id, incident_id, alert_id, notifier_id, target_id, event, status, created_at, \
         next_attempt_at, give_up_at, context, n) ORDER BY n",
    )
    .bind(&ids)
    .bind(&incident_ids)
    .bind(&alert_ids)
    .bind(&notifier_ids)
    .bind(&target_ids)
    .bind(&events)
    .bind(&statuses)
    .bind(&created)
    .bind(&next)
    .bind(&give_up)
    .bind(&contexts)
    .execute(executor)
    .await
    .context("record deliveries")?;
    Ok(())
}

pub(super) async fn claim(
    pool: &PgPool,
    holder: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u32,
) -> anyhow::Result<Vec<DeliveryRecord>> {
    // A lease lost in a crash of the database only makes its deliveries claimable again, to be
    // sent once more with the same `webhook-id` (at least once, as always): so the claim does not
    // wait for its commit to reach the disk.
    let mut tx = pool.begin().await.context("begin a claim")?;
    sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await.context("relax the claim's commit")?;
    let rows = sqlx::query(&format!(
        "UPDATE deliveries SET lease_holder = $1, lease_until = $3 WHERE id IN ( \
           SELECT d.id FROM deliveries d \
            WHERE d.status = 'pending' AND d.next_attempt_at <= $2 \
              AND (d.lease_until IS NULL OR d.lease_until < $2) \
              AND NOT EXISTS (SELECT 1 FROM deliveries e \
                               WHERE e.incident_id = d.incident_id AND e.notifier_id = d.notifier_id \
                                 AND e.status = 'pending' AND e.seq < d.seq) \
            ORDER BY d.next_attempt_at, d.seq LIMIT $4 FOR UPDATE SKIP LOCKED) \
         RETURNING {COLUMNS}"
    ))
    .bind(holder)
    .bind(now)
    .bind(lease_until)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await
    .context("claim due deliveries")?;
    tx.commit().await.context("commit a claim")?;
    let (claimed, unreadable) =
        crate::alerting_rows::split_claimed(&rows, record_from_row, |row| row.try_get("id").ok());
    for (id, error) in unreadable {
        sqlx::query(
            "UPDATE deliveries SET status = 'failed', last_error = $2, lease_holder = NULL, lease_until = NULL, \
             next_attempt_at = NULL WHERE id = $1",
        )
        .bind(id)
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
/// holder's own attempt will be. One statement, one commit, for the whole batch.
pub(super) async fn record_attempts(
    pool: &PgPool,
    holder: &str,
    attempts: &[(Uuid, AttemptOutcome)],
) -> anyhow::Result<Vec<Uuid>> {
    if attempts.is_empty() {
        return Ok(Vec::new());
    }
    let columns: Vec<AttemptColumns> = attempts.iter().map(|(_, outcome)| AttemptColumns::of(outcome)).collect();
    let ids: Vec<Uuid> = attempts.iter().map(|(id, _)| *id).collect();
    let statuses: Vec<&str> = columns.iter().map(|c| c.status.as_str()).collect();
    let codes: Vec<Option<i32>> = columns.iter().map(|c| c.status_code).collect();
    let errors: Vec<Option<&str>> = columns.iter().map(|c| c.error.as_deref()).collect();
    let delivered: Vec<Option<DateTime<Utc>>> = columns.iter().map(|c| c.delivered_at).collect();
    let next: Vec<Option<DateTime<Utc>>> = columns.iter().map(|c| c.next_attempt_at).collect();
    let recorded = sqlx::query_scalar(
        "UPDATE deliveries d SET attempts = d.attempts + 1, status = u.status, last_status_code = u.code, \
         last_error = u.error, delivered_at = u.delivered_at, next_attempt_at = u.next_attempt_at, \
         lease_holder = NULL, lease_until = NULL \
         FROM UNNEST($2::uuid[], $3::text[], $4::int4[], $5::text[], $6::timestamptz[], $7::timestamptz[]) \
         AS u(id, status, code, error, delivered_at, next_attempt_at) \
         WHERE d.id = u.id AND d.status = 'pending' AND d.lease_holder = $1 \
         RETURNING d.id",
    )
    .bind(holder)
    .bind(&ids)
    .bind(&statuses)
    .bind(&codes)
    .bind(&errors)
    .bind(&delivered)
    .bind(&next)
    .fetch_all(pool)
    .await
    .context("record delivery attempts")?;
    Ok(recorded)
}

pub(super) async fn get(pool: &PgPool, id: Uuid) -> anyhow::Result<Option<DeliveryRecord>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
        .context("read a delivery")?;
    row.as_ref().map(record_from_row).transpose()
}

pub(super) async fn list(pool: &PgPool, filter: &DeliveryFilter) -> anyhow::Result<Page<DeliveryRecord>> {
    let mut query = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM deliveries WHERE TRUE"));
    if let Some(alert) = filter.alert {
        query.push(" AND alert_id = ").push_bind(alert);
    }
    if let Some(notifier) = filter.notifier {
        query.push(" AND notifier_id = ").push_bind(notifier);
    }
    if let Some(target) = filter.target {
        query.push(" AND target_id = ").push_bind(target);
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

pub(super) async fn stats(pool: &PgPool) -> anyhow::Result<QueueStats> {
    let row = sqlx::query("SELECT count(*) AS pending, min(created_at) AS oldest FROM deliveries WHERE status = $1")
        .bind(DeliveryStatus::Pending.as_str())
        .fetch_one(pool)
        .await
        .context("measure the delivery queue")?;
    let pending: i64 = row.try_get("pending").context("read the pending count")?;
    Ok(QueueStats {
        pending: u64::try_from(pending).unwrap_or(0),
        oldest_pending_at: row.try_get("oldest").context("read the oldest pending time")?,
    })
}
