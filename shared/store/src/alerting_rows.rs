//! Alerting's values as both dialects store them: specs and contexts as JSON, a delivery's
//! columns to and from its record, and an attempt's outcome as the columns it sets.

use std::borrow::Cow;

use anyhow::Context;
use chrono::{DateTime, Utc};
use healthmon_domain::alerting::{NotificationContext, NotificationEvent};
use healthmon_domain::text::storable;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::alerting::{
    AlertRuleRecord, AttemptOutcome, DeliveryRecord, DeliveryStatus, MaintenanceRecord, NewDelivery, NotifierRecord,
};
use crate::common::counter;

/// The configuration records, each stored in its table as `id, name, spec, created_at, updated_at`
/// (notifiers also with their `kind`), so that both dialects read and write all three alike.
pub(crate) trait ConfigRecord: Sized + Send + Unpin + 'static {
    type Spec: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static;
    const TABLE: &'static str;
    /// What the record is, for error messages.
    const WHAT: &'static str;
    fn assemble(id: Uuid, spec: Self::Spec, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Self;
    fn name(spec: &Self::Spec) -> &str;
    /// The `kind` column's value, for the tables that have one.
    fn kind(_spec: &Self::Spec) -> Option<&'static str> {
        None
    }
}

impl ConfigRecord for NotifierRecord {
    type Spec = healthmon_domain::alerting::NotifierSpec;
    const TABLE: &'static str = "notifiers";
    const WHAT: &'static str = "notifier";
    fn assemble(id: Uuid, spec: Self::Spec, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Self {
        Self { id, spec, created_at, updated_at }
    }
    fn name(spec: &Self::Spec) -> &str {
        &spec.name
    }
    fn kind(spec: &Self::Spec) -> Option<&'static str> {
        Some(spec.kind().as_str())
    }
}

impl ConfigRecord for AlertRuleRecord {
    type Spec = healthmon_domain::alerting::AlertRuleSpec;
    const TABLE: &'static str = "alert_rules";
    const WHAT: &'static str = "alert rule";
    fn assemble(id: Uuid, spec: Self::Spec, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Self {
        Self { id, spec, created_at, updated_at }
    }
    fn name(spec: &Self::Spec) -> &str {
        &spec.name
    }
}

impl ConfigRecord for MaintenanceRecord {
    type Spec = healthmon_domain::alerting::MaintenanceSpec;
    const TABLE: &'static str = "maintenance_windows";
    const WHAT: &'static str = "maintenance window";
    fn assemble(id: Uuid, spec: Self::Spec, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Self {
        Self { id, spec, created_at, updated_at }
    }
    fn name(spec: &Self::Spec) -> &str {
        &spec.name
    }
}

/// Whether a statement failed on a foreign key (a rule naming a missing notifier, or the delete
/// of a notifier a rule names, written concurrently with the check before it).
pub(crate) fn is_foreign_key_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_foreign_key_violation())
}

/// The notifiers a rule names, each once, in the order named.
pub(crate) fn named_notifiers(spec: &healthmon_domain::alerting::AlertRuleSpec) -> Vec<Uuid> {
    let mut seen = std::collections::HashSet::new();
    spec.notifiers.iter().copied().filter(|id| seen.insert(*id)).collect()
}

/// Those of `named` that are not in `found`, in the order named.
pub(crate) fn missing(named: &[Uuid], found: &[Uuid]) -> Vec<Uuid> {
    named.iter().copied().filter(|id| !found.contains(id)).collect()
}

/// A configuration or state as its JSON column holds it. A notifier with a plain (unsealed)
/// credential fails here, by design: only sealed forms serialise (the error names no value).
pub(crate) fn to_json<T: Serialize>(value: &T, what: &'static str) -> anyhow::Result<serde_json::Value> {
    serde_json::to_value(value).with_context(|| format!("serialise {what} for the store"))
}

/// [`to_json`] as text, for SQLite's TEXT columns.
pub(crate) fn to_json_text<T: Serialize>(value: &T, what: &'static str) -> anyhow::Result<String> {
    serde_json::to_string(value).with_context(|| format!("serialise {what} for the store"))
}

pub(crate) fn from_json_text<T: DeserializeOwned>(text: &str, what: &'static str) -> anyhow::Result<T> {
    serde_json::from_str(text).with_context(|| format!("decode a stored {what}"))
}

pub(crate) fn parse_event(text: &str) -> anyhow::Result<NotificationEvent> {
    [NotificationEvent::Triggered, NotificationEvent::Resolved, NotificationEvent::Reminder, NotificationEvent::Test]
        .into_iter()
        .find(|event| event.as_str() == text)
        .with_context(|| format!("unknown stored notification event {text:?}"))
}

/// When a new delivery is first attempted: at once when pending, never when only recorded.
pub(crate) fn first_attempt_at(delivery: &NewDelivery) -> Option<DateTime<Utc>> {
    (delivery.status == DeliveryStatus::Pending).then_some(delivery.created_at)
}

/// A delivery row, each value already decoded by its dialect.
pub(crate) struct DeliveryColumns {
    pub id: Uuid,
    pub seq: i64,
    pub incident_id: Uuid,
    pub alert_id: Option<Uuid>,
    pub notifier_id: Uuid,
    pub target_id: Option<Uuid>,
    pub event: String,
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub give_up_at: DateTime<Utc>,
    pub context: NotificationContext,
}

impl DeliveryColumns {
    pub fn into_record(self) -> anyhow::Result<DeliveryRecord> {
        Ok(DeliveryRecord {
            id: self.id,
            seq: self.seq,
            incident_id: self.incident_id,
            alert_id: self.alert_id,
            notifier_id: self.notifier_id,
            target_id: self.target_id,
            event: parse_event(&self.event)?,
            status: DeliveryStatus::parse(&self.status)
                .with_context(|| format!("unknown stored delivery status {:?}", self.status))?,
            attempts: counter(self.attempts),
            last_status_code: self
                .last_status_code
                .map(u16::try_from)
                .transpose()
                .context("stored status code out of range")?,
            last_error: self.last_error,
            created_at: self.created_at,
            delivered_at: self.delivered_at,
            next_attempt_at: self.next_attempt_at,
            give_up_at: self.give_up_at,
            context: self.context,
        })
    }
}

/// What an attempt sets on its delivery (besides counting it and releasing the lease).
pub(crate) struct AttemptColumns<'a> {
    pub status: DeliveryStatus,
    pub status_code: Option<i32>,
    /// Made storable: a receiver's answer quoted in an error may hold a NUL, which Postgres
    /// refuses in `text`, and one such row would fail every outcome written with it.
    pub error: Option<Cow<'a, str>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl<'a> AttemptColumns<'a> {
    pub fn of(outcome: &'a AttemptOutcome) -> Self {
        match outcome {
            AttemptOutcome::Delivered { status_code, at } => Self {
                status: DeliveryStatus::Delivered,
                status_code: status_code.map(i32::from),
                error: None,
                delivered_at: Some(*at),
                next_attempt_at: None,
            },
            AttemptOutcome::Retry { status_code, error, next_attempt_at } => Self {
                status: DeliveryStatus::Pending,
                status_code: status_code.map(i32::from),
                error: Some(storable(error)),
                delivered_at: None,
                next_attempt_at: Some(*next_attempt_at),
            },
            AttemptOutcome::Failed { status_code, error, at: _ } => Self {
                status: DeliveryStatus::Failed,
                status_code: status_code.map(i32::from),
                error: Some(storable(error)),
                delivered_at: None,
                next_attempt_at: None,
            },
        }
    }
}

/// The claimed rows as records, and those that cannot be read as one (id and why), so that one
/// unreadable row (a context written by a newer version, say) fails alone instead of holding up
/// every delivery claimed with it.
pub(crate) fn split_claimed<R>(
    rows: &[R],
    decode: impl Fn(&R) -> anyhow::Result<crate::alerting::DeliveryRecord>,
    id_of: impl Fn(&R) -> Option<uuid::Uuid>,
) -> (Vec<crate::alerting::DeliveryRecord>, Vec<(uuid::Uuid, String)>) {
    let mut readable = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::new();
    for row in rows {
        match decode(row) {
            Ok(record) => readable.push(record),
            Err(error) => match id_of(row) {
                Some(id) => {
                    tracing::warn!(delivery = %id, error = %format!("{error:#}"), "an unreadable delivery fails");
                    unreadable.push((id, format!("the stored delivery cannot be read: {error:#}")));
                }
                None => tracing::warn!(error = %format!("{error:#}"), "an unreadable delivery row without an id"),
            },
        }
    }
    readable.sort_by_key(|delivery| (delivery.next_attempt_at, delivery.seq));
    (readable, unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_parses_back_from_its_text() {
        for event in [
            NotificationEvent::Triggered,
            NotificationEvent::Resolved,
            NotificationEvent::Reminder,
            NotificationEvent::Test,
        ] {
            assert_eq!(parse_event(event.as_str()).unwrap(), event);
        }
        assert!(parse_event("exploded").is_err());
    }

    #[test]
    fn a_retry_keeps_the_delivery_pending_and_a_delivery_clears_the_error() {
        let at = Utc::now();
        let retry = AttemptOutcome::Retry { status_code: Some(503), error: "busy".into(), next_attempt_at: at };
        let columns = AttemptColumns::of(&retry);
        assert_eq!(
            (columns.status, columns.next_attempt_at, columns.error.as_deref()),
            (DeliveryStatus::Pending, Some(at), Some("busy"))
        );
        let delivered = AttemptOutcome::Delivered { status_code: Some(200), at };
        let columns = AttemptColumns::of(&delivered);
        assert_eq!(
            (columns.status, columns.delivered_at, columns.error.as_deref()),
            (DeliveryStatus::Delivered, Some(at), None)
        );
        let quoted_nul = AttemptOutcome::Failed { status_code: Some(500), error: "bad\0answer".into(), at };
        assert_eq!(AttemptColumns::of(&quoted_nul).error.as_deref(), Some("bad\\0answer"));
    }
}
