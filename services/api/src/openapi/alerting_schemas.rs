//! Schemas of alerting's request bodies (notifiers, alert rules, maintenance windows), for the
//! OpenAPI document only: the handlers read them as JSON values so the parsers can name every bad
//! field in one 422. A PATCH body is any of a full body's fields; `null` removes an optional one.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub use healthmon_wire::{NotifierKind, SmtpTls, WebhookMethod};

/// Creates or fully replaces a notifier. `kind` decides which fields apply: `webhook` needs `url`;
/// `slack`, `discord` and `teams` need `webhook_url`; `pagerduty` needs `routing_key`; `email`
/// needs `smtp_host`, `from` and `to`; `ntfy` needs `url`. Write-only values (`secret`, header
/// values, `webhook_url`, `routing_key`, `password`, `token`) are never shown again; a
/// replacement that omits one keeps the stored one while the destination stays the same.
#[derive(Serialize, ToSchema)]
pub struct NotifierBody {
    /// 1 … 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: NotifierKind,
    #[serde(flatten)]
    pub fields: NotifierFields,
}

/// A JSON merge patch (RFC 7396) of a notifier, validated as a whole once merged.
#[derive(Serialize, ToSchema)]
pub struct NotifierPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub kind: Option<NotifierKind>,
    #[serde(flatten)]
    pub fields: NotifierFields,
}

/// The fields of each notifier kind.
#[derive(Serialize, ToSchema)]
pub struct NotifierFields {
    /// webhook, pagerduty (default the Events API v2 endpoint), ntfy (server and topic): an http
    /// or https URL, at most 2048 characters.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// webhook: POST (default), GET, PUT or PATCH.
    pub method: Option<WebhookMethod>,
    /// webhook: headers sent with each request; values are write-only.
    pub headers: Option<BTreeMap<String, String>>,
    /// webhook: a body template (`{{ target.name }}`, `[ENDPOINT_NAME]`, …); default the JSON body.
    pub body: Option<String>,
    /// webhook, write-only: the Standard Webhooks signing secret (`whsec_<base64>` or any text).
    pub secret: Option<String>,
    /// slack, discord, teams, write-only: the incoming-webhook URL.
    pub webhook_url: Option<String>,
    /// pagerduty, write-only: the integration's routing key.
    pub routing_key: Option<String>,
    /// email: the SMTP server.
    pub smtp_host: Option<String>,
    /// email: default 587 for starttls, 465 for tls, 25 for none.
    #[schema(minimum = 1, maximum = 65535)]
    pub smtp_port: Option<u16>,
    /// email: default starttls.
    pub tls: Option<SmtpTls>,
    /// email: the SMTP user, if it logs in.
    pub username: Option<String>,
    /// email, write-only: the SMTP password.
    pub password: Option<String>,
    /// email: the sender's address.
    pub from: Option<String>,
    /// email: the recipients' addresses, at least one.
    pub to: Option<Vec<String>>,
    /// ntfy, write-only: an access token.
    pub token: Option<String>,
}

/// Which targets a rule or window concerns: empty (the default) matches every target; otherwise
/// a target matches when it has any listed tag or is listed.
#[derive(Serialize, ToSchema)]
pub struct SelectorBody {
    pub tags: Option<Vec<String>>,
    pub targets: Option<Vec<Uuid>>,
}

/// Creates or fully replaces an alert rule.
#[derive(Serialize, ToSchema)]
pub struct AlertRuleBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The notifiers to notify: 1 … 20 ids of existing notifiers.
    #[schema(min_items = 1, max_items = 20)]
    pub notifiers: Vec<Uuid>,
    #[serde(flatten)]
    pub fields: AlertRuleFields,
}

/// A JSON merge patch (RFC 7396) of an alert rule.
#[derive(Serialize, ToSchema)]
pub struct AlertRulePatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(min_items = 1, max_items = 20)]
    pub notifiers: Option<Vec<Uuid>>,
    #[serde(flatten)]
    pub fields: AlertRuleFields,
}

#[derive(Serialize, ToSchema)]
pub struct AlertRuleFields {
    pub selector: Option<SelectorBody>,
    /// Seconds a target must stay not healthy before the trigger is sent, 0 … 86400, default 0.
    #[schema(minimum = 0, maximum = 86400)]
    pub trigger_after_s: Option<u32>,
    /// Default true.
    pub send_on_resolved: Option<bool>,
    /// Seconds between reminders while the incident lasts, at most a week; 0 (the default) sends none.
    #[schema(minimum = 0, maximum = 604800)]
    pub remind_every_s: Option<u32>,
    /// Default true.
    pub enabled: Option<bool>,
}

/// Creates or fully replaces a maintenance window: `starts_at` and `ends_at` for one span, or
/// `cron`, `duration_s` and `timezone` for a recurring one (never both).
#[derive(Serialize, ToSchema)]
pub struct MaintenanceBody {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(flatten)]
    pub fields: MaintenanceFields,
}

/// A JSON merge patch (RFC 7396) of a maintenance window; switching between one span and a
/// recurring one removes the other's fields with `null`.
#[derive(Serialize, ToSchema)]
pub struct MaintenancePatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[serde(flatten)]
    pub fields: MaintenanceFields,
}

#[derive(Serialize, ToSchema)]
pub struct MaintenanceFields {
    pub selector: Option<SelectorBody>,
    pub starts_at: Option<DateTime<Utc>>,
    /// After `starts_at`.
    pub ends_at: Option<DateTime<Utc>>,
    /// Five fields (minute hour day-of-month month day-of-week), such as `0 2 * * sun`.
    #[schema(example = "0 2 * * sun")]
    pub cron: Option<String>,
    /// How long each occurrence lasts, 60 s … 7 days.
    #[schema(minimum = 60, maximum = 604800)]
    pub duration_s: Option<u32>,
    /// An IANA time zone, such as `Europe/Berlin`.
    #[schema(example = "Europe/Berlin")]
    pub timezone: Option<String>,
}
