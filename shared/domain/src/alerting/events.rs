//! Incident changes as CloudEvents: what other systems subscribe to on `<prefix>.alerts.<rule id>`,
//! as they do to health changes. Nothing secret is in them: a rule's and a target's names and ids,
//! the change and the health it is about.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Notice, NoticeKind, NotificationContext};
use crate::HealthStatus;
use crate::events::{EnvelopeError, decode, encode};

/// Names alert events after what they announce, so a decision replayed names them alike.
const ALERT_NAMESPACE: Uuid = Uuid::from_u128(0x91d3_0c5e_7a24_4b18_b6f0_3e8a_52c7_d149);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertChange {
    Triggered,
    Reminded,
    Resolved,
    /// A notification held back by a maintenance window (`notice` says which).
    Suppressed,
}

impl AlertChange {
    pub fn event_type(self) -> &'static str {
        match self {
            Self::Triggered => "healthmon.alert.triggered",
            Self::Reminded => "healthmon.alert.reminded",
            Self::Resolved => "healthmon.alert.resolved",
            Self::Suppressed => "healthmon.alert.suppressed",
        }
    }

    const ALL: [AlertChange; 4] = [Self::Triggered, Self::Reminded, Self::Resolved, Self::Suppressed];
}

/// One change of one incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertChanged {
    pub incident_id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub target_id: Uuid,
    pub target_name: String,
    pub change: AlertChange,
    /// The notice: `triggered`, `reminder` or `resolved` (also for a suppressed one).
    pub notice: NoticeKind,
    /// The target's status the change is about.
    pub status: HealthStatus,
    pub at: DateTime<Utc>,
    pub reason: String,
}

impl AlertChanged {
    /// The event for `notice` about `context`, decided at `at`.
    pub fn new(context: &NotificationContext, notice: Notice, at: DateTime<Utc>) -> Self {
        let change = match (notice.suppressed, notice.kind) {
            (true, _) => AlertChange::Suppressed,
            (false, NoticeKind::Triggered) => AlertChange::Triggered,
            (false, NoticeKind::Reminder) => AlertChange::Reminded,
            (false, NoticeKind::Resolved) => AlertChange::Resolved,
        };
        Self {
            incident_id: context.incident_id,
            rule_id: context.alert.id,
            rule_name: context.alert.name.clone(),
            target_id: context.target.id,
            target_name: context.target.name.clone(),
            change,
            notice: notice.kind,
            status: context.health.to,
            at,
            reason: context.health.reason.clone(),
        }
    }

    pub fn event_id(&self) -> Uuid {
        let name = format!("{}:{:?}:{:?}:{}", self.incident_id, self.change, self.notice, self.at.timestamp_micros());
        Uuid::new_v5(&ALERT_NAMESPACE, name.as_bytes())
    }
}

/// The CloudEvent of `change`, its subject the rule's id.
pub fn encode_alert(change: &AlertChanged, source: &str) -> Vec<u8> {
    let data = serde_json::to_value(change).unwrap_or(serde_json::Value::Null);
    encode(change.event_id(), change.change.event_type(), source, change.rule_id, change.at, data)
}

pub fn decode_alert(bytes: &[u8]) -> Result<AlertChanged, EnvelopeError> {
    let (event_type, data) = decode(bytes)?;
    if !AlertChange::ALL.iter().any(|change| change.event_type() == event_type) {
        return Err(EnvelopeError::UnexpectedType(event_type));
    }
    serde_json::from_value(data).map_err(|error| EnvelopeError::Malformed(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::{AlertRef, HealthSummary, NotificationEvent, TargetSummary};

    fn context() -> NotificationContext {
        let at = DateTime::from_timestamp(1_800_000_000, 0).expect("a time");
        NotificationContext {
            event: NotificationEvent::Triggered,
            incident_id: Uuid::from_u128(1),
            alert: AlertRef { id: Uuid::from_u128(2), name: "pager".into() },
            target: TargetSummary {
                id: Uuid::from_u128(3),
                name: "web".into(),
                kind: "http".into(),
                group: None,
                tags: vec![],
                url: Some("http://web/".into()),
                host: None,
            },
            health: HealthSummary {
                from: HealthStatus::Healthy,
                to: HealthStatus::Unhealthy,
                at,
                reason: "503".into(),
            },
        }
    }

    #[test]
    fn given_a_notice_then_its_event_round_trips_with_its_type_and_the_rule_as_subject() {
        let at = DateTime::from_timestamp(1_800_000_010, 0).expect("a time");
        let change = AlertChanged::new(&context(), Notice { kind: NoticeKind::Triggered, suppressed: false }, at);
        let bytes = encode_alert(&change, "/healthmon/notifier/n1");
        let event: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(event["type"], "healthmon.alert.triggered");
        assert_eq!(event["subject"], Uuid::from_u128(2).to_string());
        assert_eq!(decode_alert(&bytes).expect("decodes"), change);
        assert_eq!(
            change.event_id(),
            AlertChanged::new(&context(), Notice { kind: NoticeKind::Triggered, suppressed: false }, at).event_id()
        );
    }

    #[test]
    fn given_a_suppressed_notice_then_the_change_is_suppressed_and_names_the_notice() {
        let at = DateTime::from_timestamp(1_800_000_010, 0).expect("a time");
        let held = AlertChanged::new(&context(), Notice { kind: NoticeKind::Reminder, suppressed: true }, at);
        assert_eq!((held.change, held.notice), (AlertChange::Suppressed, NoticeKind::Reminder));
        let told = AlertChanged::new(&context(), Notice { kind: NoticeKind::Reminder, suppressed: false }, at);
        assert_ne!(held.event_id(), told.event_id());
        assert!(
            decode_alert(&crate::events::encode(Uuid::nil(), "other", "s", Uuid::nil(), at, serde_json::json!({})))
                .is_err()
        );
    }
}
