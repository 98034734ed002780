//! Alerting as the API shows it: notifiers (where notifications go), alert rules (when to send
//! them), maintenance windows (when not to), deliveries (what was sent) and a notifier's test. A
//! notifier's write-only values have no field here: it says only whether each is set
//! (`has_secret`, `has_webhook_url`, …), and a webhook's headers are listed by name.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::nullable;

/// Which receiver family a notifier sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifierKind {
    Webhook,
    Slack,
    Discord,
    Teams,
    Pagerduty,
    Email,
    Ntfy,
}

impl From<healthmon_domain::alerting::NotifierKind> for NotifierKind {
    fn from(kind: healthmon_domain::alerting::NotifierKind) -> Self {
        use healthmon_domain::alerting::NotifierKind as Domain;
        match kind {
            Domain::Webhook => Self::Webhook,
            Domain::Slack => Self::Slack,
            Domain::Discord => Self::Discord,
            Domain::Teams => Self::Teams,
            Domain::Pagerduty => Self::Pagerduty,
            Domain::Email => Self::Email,
            Domain::Ntfy => Self::Ntfy,
        }
    }
}

/// The request method of a `webhook` notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum WebhookMethod {
    Get,
    Post,
    Put,
    Patch,
}

impl From<healthmon_domain::alerting::notifier::WebhookMethod> for WebhookMethod {
    fn from(method: healthmon_domain::alerting::notifier::WebhookMethod) -> Self {
        use healthmon_domain::alerting::notifier::WebhookMethod as Domain;
        match method {
            Domain::Get => Self::Get,
            Domain::Post => Self::Post,
            Domain::Put => Self::Put,
            Domain::Patch => Self::Patch,
        }
    }
}

/// How an `email` notifier secures its SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

impl From<healthmon_domain::alerting::notifier::SmtpTls> for SmtpTls {
    fn from(tls: healthmon_domain::alerting::notifier::SmtpTls) -> Self {
        use healthmon_domain::alerting::notifier::SmtpTls as Domain;
        match tls {
            Domain::None => Self::None,
            Domain::Starttls => Self::Starttls,
            Domain::Tls => Self::Tls,
        }
    }
}

/// A notifier as stored. Only the fields of its kind are present (flat, as in the body that
/// created it); write-only values appear only as `has_*` flags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotifierView {
    pub id: Uuid,
    pub name: String,
    pub kind: NotifierKind,
    /// webhook, pagerduty and ntfy: where it sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// webhook only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<WebhookMethod>,
    /// webhook only: the names of the headers it sends (their values are write-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Vec<String>>,
    /// webhook only: the body template, null for the default JSON body.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable::present")]
    #[schema(value_type = Option<String>)]
    pub body: Option<Option<String>>,
    /// webhook only: whether requests are signed (the secret is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_secret: Option<bool>,
    /// slack, discord and teams: whether the webhook URL is stored (it is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_webhook_url: Option<bool>,
    /// pagerduty only: whether the routing key is stored (it is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_routing_key: Option<bool>,
    // email
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SmtpTls>,
    /// email only: the SMTP user, null when it sends without logging in.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "nullable::present")]
    #[schema(value_type = Option<String>)]
    pub username: Option<Option<String>>,
    /// email only: whether an SMTP password is stored (it is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_password: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// ntfy only: whether an access token is stored (it is never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_token: Option<bool>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotifierList {
    pub items: Vec<NotifierView>,
}

/// Which targets a rule or a window concerns: empty matches every target; otherwise a target
/// matches when it has any listed tag or is listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SelectorView {
    pub tags: Vec<String>,
    pub targets: Vec<Uuid>,
}

impl From<&healthmon_domain::alerting::Selector> for SelectorView {
    fn from(selector: &healthmon_domain::alerting::Selector) -> Self {
        Self { tags: selector.tags.clone(), targets: selector.targets.clone() }
    }
}

/// An alert rule as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertRuleView {
    pub id: Uuid,
    pub name: String,
    /// The notifiers each of its notifications goes to.
    pub notifiers: Vec<Uuid>,
    pub selector: SelectorView,
    pub trigger_after_s: u32,
    pub send_on_resolved: bool,
    /// 0: no reminders.
    pub remind_every_s: u32,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertRuleList {
    pub items: Vec<AlertRuleView>,
}

/// A maintenance window as stored: either one span (`starts_at`, `ends_at`) or a recurring one
/// (`cron`, `duration_s`, `timezone`), and whether it is open now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceView {
    pub id: Uuid,
    pub name: String,
    pub selector: SelectorView,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
    /// Five fields, evaluated in `timezone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<u32>,
    /// An IANA zone name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// Whether the window is open now.
    pub active: bool,
    /// When the open window ends; null while it is closed.
    #[schema(required = true)]
    pub active_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MaintenanceList {
    pub items: Vec<MaintenanceView>,
}

/// What a delivery tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryEvent {
    Triggered,
    Resolved,
    Reminder,
    Test,
}

impl From<healthmon_domain::alerting::NotificationEvent> for DeliveryEvent {
    fn from(event: healthmon_domain::alerting::NotificationEvent) -> Self {
        use healthmon_domain::alerting::NotificationEvent as Domain;
        match event {
            Domain::Triggered => Self::Triggered,
            Domain::Resolved => Self::Resolved,
            Domain::Reminder => Self::Reminder,
            Domain::Test => Self::Test,
        }
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not yet delivered; attempted again at `next_attempt_at`.
    Pending,
    Delivered,
    /// Given up.
    Failed,
    /// Recorded inside a maintenance window and not sent.
    Suppressed,
}

/// One notification to one notifier, with how its attempts went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    /// Null for a notifier's test.
    #[schema(required = true)]
    pub alert_id: Option<Uuid>,
    pub notifier_id: Uuid,
    /// Null for a notifier's test.
    #[schema(required = true)]
    pub target_id: Option<Uuid>,
    pub event: DeliveryEvent,
    pub status: DeliveryState,
    pub attempts: u32,
    #[schema(required = true)]
    pub last_status_code: Option<u16>,
    #[schema(required = true)]
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub delivered_at: Option<DateTime<Utc>>,
    /// When a pending delivery is attempted next; null otherwise.
    #[schema(required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    /// Pass as `cursor` for the next page; null on the last.
    pub next_cursor: Option<String>,
}

/// How a notifier's test went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NotifierTestResult {
    pub delivered: bool,
    /// The receiver's HTTP status, when it answered one.
    #[schema(required = true)]
    pub status_code: Option<u16>,
    /// Why it was not delivered.
    #[schema(required = true)]
    pub error: Option<String>,
    /// From the test's start to its recorded outcome.
    pub latency_ms: u64,
}
