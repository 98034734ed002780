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

/// The most a rendered template may be: more is refused, not sent.
pub const MAX_RENDERED_BYTES: usize = 64 * 1024;
/// Instructions one rendering may run: far more than any message needs, far fewer than a loop
/// meant to hang the notifier.
const TEMPLATE_FUEL: u64 = 100_000;
const TEMPLATE_RECURSION_LIMIT: usize = 16;

/// Renders `template` for `context` and `delivery_id`: minijinja first (`{{ target.name }}`,
/// `{{ health.to }}`, `{{ event }}`, `{{ delivery_id }}`, `{{ alert.name }}`, `{{ incident_id }}`;
/// `tojson` for JSON bodies), then Gatus's placeholders (`[ENDPOINT_NAME]`, `[ENDPOINT_GROUP]`,
/// `[ENDPOINT_URL]`, `[ALERT_DESCRIPTION]`, `[RESULT_ERRORS]`, `[ALERT_TRIGGERED_OR_RESOLVED]`).
/// A template is an admin's text, but rendering is bounded anyway: by fuel, recursion depth and
/// output size ([`MAX_RENDERED_BYTES`]), each an error. (minijinja caps one string repetition at
/// 100 MB, so memory is bounded per step, not per rendering.)
pub fn render_template(template: &str, context: &NotificationContext, delivery_id: Uuid) -> Result<String, String> {
    let environment = environment();
    let compiled = environment.template_from_str(template).map_err(|error| error.to_string())?;
    let mut variables = context.default_body(delivery_id);
    if let Some(object) = variables.as_object_mut() {
        object.insert("incident_id".to_owned(), serde_json::json!(context.incident_id));
    }
    let mut output = BoundedOutput::default();
    if let Err(error) = compiled.render_captured_to(&variables, &mut output) {
        return Err(if output.overflowed { too_large() } else { error.to_string() });
    }
    let rendered = String::from_utf8(output.bytes).map_err(|_| "the template rendered invalid UTF-8".to_owned())?;
    let replaced = replace_placeholders(&rendered, context);
    if replaced.len() > MAX_RENDERED_BYTES { Err(too_large()) } else { Ok(replaced) }
}

/// Whether `template` compiles and renders for a sample notification, for validation when a
/// notifier is written (a runtime error such as an unknown filter shows here, not at 3 a.m.).
pub fn check_template(template: &str) -> Result<(), String> {
    render_template(template, &sample_context(), Uuid::nil()).map(drop)
}

fn environment() -> minijinja::Environment<'static> {
    let mut environment = minijinja::Environment::new();
    environment.set_fuel(Some(TEMPLATE_FUEL));
    environment.set_recursion_limit(TEMPLATE_RECURSION_LIMIT);
    environment
}

fn too_large() -> String {
    format!("the template renders to more than {MAX_RENDERED_BYTES} bytes")
}

/// Gatus's placeholders, as its alert templates write them.
fn replace_placeholders(rendered: &str, context: &NotificationContext) -> String {
    if !rendered.contains('[') {
        return rendered.to_owned();
    }
    let target = &context.target;
    let address = target.url.as_deref().or(target.host.as_deref()).unwrap_or_default();
    let verdict = match context.event {
        NotificationEvent::Triggered | NotificationEvent::Reminder => "TRIGGERED",
        NotificationEvent::Resolved => "RESOLVED",
        NotificationEvent::Test => "TEST",
    };
    [
        ("[ENDPOINT_NAME]", target.name.as_str()),
        ("[ENDPOINT_GROUP]", target.group.as_deref().unwrap_or_default()),
        ("[ENDPOINT_URL]", address),
        ("[ALERT_DESCRIPTION]", context.alert.name.as_str()),
        ("[RESULT_ERRORS]", context.health.reason.as_str()),
        ("[ALERT_TRIGGERED_OR_RESOLVED]", verdict),
    ]
    .into_iter()
    .fold(rendered.to_owned(), |text, (placeholder, value)| text.replace(placeholder, value))
}

/// What a notifier's test sends, and what templates are checked against.
pub fn sample_context() -> NotificationContext {
    let at = DateTime::<Utc>::UNIX_EPOCH;
    NotificationContext {
        event: NotificationEvent::Test,
        incident_id: Uuid::nil(),
        alert: AlertRef { id: Uuid::nil(), name: "test".to_owned() },
        target: TargetSummary {
            id: Uuid::nil(),
            name: "example".to_owned(),
            kind: "http".to_owned(),
            group: None,
            tags: Vec::new(),
            url: Some("https://example.com/health".to_owned()),
            host: None,
        },
        health: HealthSummary {
            from: HealthStatus::Healthy,
            to: HealthStatus::Unhealthy,
            at,
            reason: "test".to_owned(),
        },
    }
}

/// Rendered output that refuses to grow past [`MAX_RENDERED_BYTES`], so a template that would
/// write megabytes stops at the limit instead of building them.
#[derive(Default)]
struct BoundedOutput {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl std::io::Write for BoundedOutput {
    fn write(&mut self, chunk: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + chunk.len() > MAX_RENDERED_BYTES {
            self.overflowed = true;
            return Err(std::io::Error::other("output limit reached"));
        }
        self.bytes.extend_from_slice(chunk);
        Ok(chunk.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
