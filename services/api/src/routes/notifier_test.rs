//! `POST /api/v1/notifiers/{id}/test`: one test notification now. The API holds only the public
//! key and can never open a notifier's secrets, so it does not send: it records a delivery whose
//! first attempt is its last, and waits for a notifier process to attempt it.

use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::Method;
use chrono::{DateTime, Utc};
use healthmon_domain::HealthStatus;
use healthmon_domain::alerting::{AlertRef, HealthSummary, NotificationContext, NotificationEvent, TargetSummary};
use healthmon_store::alerting::{DeliveryRecord, DeliveryStatus, NewDelivery};
use healthmon_wire::NotifierTestResult;
use uuid::Uuid;

use super::notifiers::stored;
use super::table::{Access, RouteTable};
use crate::error::ApiError;
use crate::extract::{PathParam, Writer};
use crate::state::AppState;

/// How long the test waits for a notifier process to attempt it.
pub const TEST_DEADLINE: Duration = Duration::from_secs(15);
/// How often it looks (another process records the outcome; there is nothing to be woken by).
const POLL_EVERY: Duration = Duration::from_millis(50);
pub const NOBODY_ATTEMPTED: &str = "no notifier process attempted the test within 15 s";

pub fn routes(table: RouteTable) -> RouteTable {
    table.route(
        Method::POST,
        "/api/v1/notifiers/{id}/test",
        Access::Admin,
        "Send one test notification through a notifier now",
        test,
    )
}

#[tracing::instrument(skip_all)]
async fn test(
    State(state): State<AppState>,
    _: Writer,
    PathParam(id): PathParam<String>,
) -> Result<Json<NotifierTestResult>, ApiError> {
    let notifier = stored(&state, &id).await?;
    let now = healthmon_store::now();
    let incident_id = Uuid::now_v7();
    let delivery = NewDelivery {
        id: Uuid::now_v7(),
        incident_id,
        alert_id: None,
        notifier_id: notifier.id,
        target_id: None,
        status: DeliveryStatus::Pending,
        created_at: now,
        // The first attempt is the last: a test is not retried.
        give_up_at: now,
        context: sample_context(incident_id, notifier.id, &notifier.spec.name, now),
    };
    state.store.enqueue_delivery(&delivery).await?;
    let enqueued = Instant::now();
    tracing::info!(notifier_id = %notifier.id, delivery_id = %delivery.id, "notifier test recorded");
    let outcome = tokio::select! {
        outcome = attempted(&state, delivery.id, enqueued + TEST_DEADLINE) => outcome?,
        () = state.shutdown.cancelled() => None,
    };
    let latency_ms = u64::try_from(enqueued.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Json(match outcome {
        Some(record) => NotifierTestResult {
            delivered: record.status == DeliveryStatus::Delivered,
            status_code: record.last_status_code,
            error: record.last_error,
            latency_ms: record.delivered_at.map_or(latency_ms, |at| millis_between(now, at)),
        },
        None => {
            NotifierTestResult { delivered: false, status_code: None, error: Some(NOBODY_ATTEMPTED.into()), latency_ms }
        }
    }))
}

/// The delivery once an attempt is recorded, or `None` at the deadline.
async fn attempted(state: &AppState, id: Uuid, deadline: Instant) -> Result<Option<DeliveryRecord>, ApiError> {
    loop {
        if let Some(record) = state.store.get_delivery(id).await?
            && record.status != DeliveryStatus::Pending
        {
            return Ok(Some(record));
        }
        if Instant::now() + POLL_EVERY > deadline {
            return Ok(None);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

fn millis_between(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
}

/// What a test notification says: a made-up target going down, named so nobody mistakes it.
fn sample_context(
    incident_id: Uuid,
    notifier_id: Uuid,
    notifier_name: &str,
    now: DateTime<Utc>,
) -> NotificationContext {
    NotificationContext {
        event: NotificationEvent::Test,
        incident_id,
        alert: AlertRef { id: notifier_id, name: notifier_name.to_owned() },
        target: TargetSummary {
            id: Uuid::nil(),
            name: "healthmon test".into(),
            kind: "http".into(),
            group: None,
            tags: vec!["test".into()],
            url: Some("https://healthmon.invalid/test".into()),
            host: None,
        },
        health: HealthSummary {
            from: HealthStatus::Healthy,
            to: HealthStatus::Unhealthy,
            at: now,
            reason: "a test notification: nothing is down".into(),
        },
    }
}
