//! PagerDuty Events API v2: a trigger when an incident opens (and again as a reminder), a resolve
//! when it closes, both with the incident's id as `dedup_key` so PagerDuty folds them into one.

use healthmon_domain::alerting::context::{NotificationContext, NotificationEvent};
use healthmon_domain::alerting::notifier::PagerDutyDestination;
use serde_json::json;
use uuid::Uuid;
use zeroize::Zeroizing;

use super::http::HttpMessage;
use super::{Failure, Opened};

pub(crate) fn message(
    pagerduty: &PagerDutyDestination,
    routing_key: &Opened,
    context: &NotificationContext,
    delivery_id: Uuid,
) -> Result<HttpMessage, Failure> {
    let (event_action, dedup_key) = match context.event {
        NotificationEvent::Triggered | NotificationEvent::Reminder => ("trigger", context.incident_id),
        NotificationEvent::Resolved => ("resolve", context.incident_id),
        // A test opens an event of its own, never one of a real incident.
        NotificationEvent::Test => ("trigger", delivery_id),
    };
    let target = &context.target;
    let body = json!({
        "routing_key": routing_key.as_str(),
        "event_action": event_action,
        "dedup_key": dedup_key.to_string(),
        "payload": {
            "summary": context.headline(),
            "source": target.name,
            "severity": "critical",
            "timestamp": context.health.at.to_rfc3339(),
            "group": target.group,
            "class": target.kind,
            "custom_details": {
                "event": context.event,
                "alert": context.alert,
                "target": target,
                "health": context.health,
                "delivery_id": delivery_id,
            },
        },
    });
    let mut message = HttpMessage::json_post(Zeroizing::new(pagerduty.url.clone()), &body);
    // The body holds the routing key: keep it out of any error text a peer echoes back.
    message.secrets.push(routing_key.clone());
    Ok(message)
}
