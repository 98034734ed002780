//! What a notification says: the context every kind renders its message from, the default webhook
//! body, and templates (minijinja syntax plus Gatus's `[PLACEHOLDER]`s).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::HealthStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    Triggered,
    Resolved,
    Reminder,
    Test,
}

impl NotificationEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Triggered => "triggered",
            Self::Resolved => "resolved",
            Self::Reminder => "reminder",
            Self::Test => "test",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRef {
    pub id: Uuid,
    pub name: String,
}

/// The target as a notification shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetSummary {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub group: Option<String>,
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// The health change a notification is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthSummary {
    pub from: HealthStatus,
    pub to: HealthStatus,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// Everything a notification is rendered from, stored with its delivery so that every retry
/// sends the same words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationContext {
    pub event: NotificationEvent,
    /// The incident this notification belongs to: PagerDuty's `dedup_key`.
    pub incident_id: Uuid,
    pub alert: AlertRef,
    pub target: TargetSummary,
    pub health: HealthSummary,
}

impl NotificationContext {
    /// The default webhook body: `{"delivery_id", "event", "alert", "target", "health"}`.
    pub fn default_body(&self, delivery_id: Uuid) -> serde_json::Value {
        serde_json::json!({
            "delivery_id": delivery_id,
            "event": self.event,
            "alert": self.alert,
            "target": self.target,
            "health": self.health,
        })
    }

    /// One line for chat kinds, e-mail subjects and ntfy titles.
    pub fn headline(&self) -> String {
        match self.event {
            NotificationEvent::Triggered => format!("{} is {}", self.target.name, self.health.to),
            NotificationEvent::Reminder => format!("{} is still {}", self.target.name, self.health.to),
            NotificationEvent::Resolved => format!("{} is healthy again", self.target.name),
            NotificationEvent::Test => format!("Test notification from healthmon ({})", self.alert.name),
        }
    }
}

/// Renders `template` for `context` and `delivery_id`: minijinja first (`{{ target.name }}`,
/// `{{ health.to }}`, `{{ event }}`, `{{ delivery_id }}`), then Gatus's placeholders.
pub fn render_template(template: &str, context: &NotificationContext, delivery_id: Uuid) -> Result<String, String> {
    let _ = (template, context, delivery_id);
    Err("templates are not rendered yet".to_owned())
}

/// Whether `template` parses, for validation when a notifier is written.
pub fn check_template(template: &str) -> Result<(), String> {
    let _ = template;
    Ok(())
}
