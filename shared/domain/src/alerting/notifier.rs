//! Notifiers: where notifications go. One kind per receiver family, each with its own fields;
//! write-only values (secrets, webhook URLs that embed a token, header values) are [`Credential`]s,
//! sealed by the API before anything stores them, like an SSH target's password.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Credential, ValidationErrors};

/// The Events API v2 endpoint a `pagerduty` notifier posts to unless told otherwise.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

impl NotifierKind {
    pub const ALL: [NotifierKind; 7] =
        [Self::Webhook, Self::Slack, Self::Discord, Self::Teams, Self::Pagerduty, Self::Email, Self::Ntfy];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Slack => "slack",
            Self::Discord => "discord",
            Self::Teams => "teams",
            Self::Pagerduty => "pagerduty",
            Self::Email => "email",
            Self::Ntfy => "ntfy",
        }
    }
}

/// Everything a client may write about a notifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotifierSpec {
    pub name: String,
    #[serde(flatten)]
    pub destination: Destination,
}

/// Where and how a notifier sends, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Destination {
    Webhook(WebhookDestination),
    Slack(ChatDestination),
    Discord(ChatDestination),
    Teams(ChatDestination),
    Pagerduty(PagerDutyDestination),
    Email(EmailDestination),
    Ntfy(NtfyDestination),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WebhookMethod {
    Get,
    Post,
    Put,
    Patch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDestination {
    pub url: String,
    pub method: WebhookMethod,
    /// Header names as given; values are write-only.
    pub headers: BTreeMap<String, Credential>,
    /// A template (minijinja syntax and Gatus's `[PLACEHOLDER]`s); `None` sends the default JSON.
    pub body: Option<String>,
    /// Standard Webhooks signing secret (`whsec_<base64>` or any text).
    pub secret: Option<Credential>,
}

/// Slack, Discord and Teams: an incoming-webhook URL, which is itself the secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatDestination {
    pub webhook_url: Credential,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PagerDutyDestination {
    pub routing_key: Credential,
    pub url: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmailDestination {
    pub smtp_host: String,
    pub smtp_port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<Credential>,
    pub from: String,
    pub to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NtfyDestination {
    /// Server and topic: `https://ntfy.sh/my-topic`.
    pub url: String,
    pub token: Option<Credential>,
}

impl NotifierSpec {
    pub fn kind(&self) -> NotifierKind {
        match &self.destination {
            Destination::Webhook(_) => NotifierKind::Webhook,
            Destination::Slack(_) => NotifierKind::Slack,
            Destination::Discord(_) => NotifierKind::Discord,
            Destination::Teams(_) => NotifierKind::Teams,
            Destination::Pagerduty(_) => NotifierKind::Pagerduty,
            Destination::Email(_) => NotifierKind::Email,
            Destination::Ntfy(_) => NotifierKind::Ntfy,
        }
    }

    /// Every write-only value, by the field a client writes it in (`headers.X-Token` for a header),
    /// so the API can seal the plain ones and the notifier can open them.
    pub fn credentials_mut(&mut self) -> Vec<(String, &mut Credential)> {
        match &mut self.destination {
            Destination::Webhook(webhook) => {
                let mut fields: Vec<(String, &mut Credential)> =
                    webhook.headers.iter_mut().map(|(name, value)| (format!("headers.{name}"), value)).collect();
                if let Some(secret) = webhook.secret.as_mut() {
                    fields.push(("secret".to_owned(), secret));
                }
                fields
            }
            Destination::Slack(chat) | Destination::Discord(chat) | Destination::Teams(chat) => {
                vec![("webhook_url".to_owned(), &mut chat.webhook_url)]
            }
            Destination::Pagerduty(pagerduty) => vec![("routing_key".to_owned(), &mut pagerduty.routing_key)],
            Destination::Email(email) => {
                email.password.as_mut().map(|password| ("password".to_owned(), password)).into_iter().collect()
            }
            Destination::Ntfy(ntfy) => {
                ntfy.token.as_mut().map(|token| ("token".to_owned(), token)).into_iter().collect()
            }
        }
    }

    /// The URLs this notifier connects to that are not secret (for the address policy and for
    /// the rule that a sealed value never follows a moved destination). Chat kinds have none: their
    /// URL is the secret, and the notifier judges it when it sends.
    pub fn public_urls(&self) -> Vec<(&'static str, &str)> {
        match &self.destination {
            Destination::Webhook(webhook) => vec![("url", webhook.url.as_str())],
            Destination::Pagerduty(pagerduty) => vec![("url", pagerduty.url.as_str())],
            Destination::Ntfy(ntfy) => vec![("url", ntfy.url.as_str())],
            Destination::Slack(_) | Destination::Discord(_) | Destination::Teams(_) | Destination::Email(_) => vec![],
        }
    }
}

/// Validates a complete notifier document (POST and PUT; PATCH merges first): `name`, a known
/// `kind` and that kind's fields, every bad or unknown field named at once. Write-only values come
/// out as [`Credential::Plain`] (or `Sealed` when the document carries a stored sealed form).
pub fn parse_notifier(_value: &serde_json::Value) -> Result<NotifierSpec, ValidationErrors> {
    Err(ValidationErrors::single("body", "notifiers are not parsed yet"))
}
