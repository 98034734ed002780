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

/// A URL, or an SMTP server's host, port, user name and TLS mode.
type CredentialDestination<'a> = (&'a str, Option<u16>, Option<&'a str>, Option<SmtpTls>);

impl Destination {
    pub fn kind(&self) -> NotifierKind {
        match self {
            Destination::Webhook(_) => NotifierKind::Webhook,
            Destination::Slack(_) => NotifierKind::Slack,
            Destination::Discord(_) => NotifierKind::Discord,
            Destination::Teams(_) => NotifierKind::Teams,
            Destination::Pagerduty(_) => NotifierKind::Pagerduty,
            Destination::Email(_) => NotifierKind::Email,
            Destination::Ntfy(_) => NotifierKind::Ntfy,
        }
    }

    /// Where the write-only values are presented: what must not change under a kept one. Chat
    /// kinds' URL is their only secret, so a kept one goes nowhere new.
    fn credential_destination(&self) -> Option<CredentialDestination<'_>> {
        match self {
            Destination::Webhook(WebhookDestination { url, .. })
            | Destination::Pagerduty(PagerDutyDestination { url, .. })
            | Destination::Ntfy(NtfyDestination { url, .. }) => Some((url.as_str(), None, None, None)),
            // The TLS mode too: a password kept must not start travelling in clear text.
            Destination::Email(email) => {
                Some((email.smtp_host.as_str(), Some(email.smtp_port), email.username.as_deref(), Some(email.tls)))
            }
            Destination::Slack(_) | Destination::Discord(_) | Destination::Teams(_) => None,
        }
    }
}

impl NotifierSpec {
    pub fn kind(&self) -> NotifierKind {
        self.destination.kind()
    }

    /// Each write-only value, by the field a client writes it in (`headers.X-Token` for a header).
    pub fn credential_fields(&self) -> Vec<(String, &Credential)> {
        match &self.destination {
            Destination::Webhook(webhook) => {
                let mut fields: Vec<(String, &Credential)> =
                    webhook.headers.iter().map(|(name, value)| (format!("headers.{name}"), value)).collect();
                fields.extend(webhook.secret.as_ref().map(|secret| ("secret".to_owned(), secret)));
                fields
            }
            Destination::Slack(chat) | Destination::Discord(chat) | Destination::Teams(chat) => {
                vec![("webhook_url".to_owned(), &chat.webhook_url)]
            }
            Destination::Pagerduty(pagerduty) => vec![("routing_key".to_owned(), &pagerduty.routing_key)],
            Destination::Email(email) => {
                email.password.iter().map(|password| ("password".to_owned(), password)).collect()
            }
            Destination::Ntfy(ntfy) => ntfy.token.iter().map(|token| ("token".to_owned(), token)).collect(),
        }
    }

    /// The write-only values `next`, an edit of `self` (the stored notifier), may not keep: each
    /// one it carries over sealed while its destination moves (webhook, PagerDuty and ntfy `url`;
    /// e-mail `smtp_host`, `smtp_port`, `username` and `tls`), named by its field
    /// ([`crate::credential::carried_over`]).
    pub fn credentials_refused_in(&self, next: &NotifierSpec) -> ValidationErrors {
        let mut refused = ValidationErrors::new();
        let before = self.destination.credential_destination();
        let after = next.destination.credential_destination();
        for (field, credential) in next.credential_fields() {
            let verdict = crate::credential::carried_over(&before, &after, [("value", credential)], "destination");
            if let Some(message) = verdict.fields().get("value") {
                refused.add(field, message.clone());
            }
        }
        refused
    }

    /// For a PUT or PATCH parsed with [`parse_notifier`]: every write-only value this spec leaves
    /// out that `stored` (of the same kind) has is carried over as stored, sealed, and the ones
    /// that may not follow a moved destination are refused, by field name. The chat kinds'
    /// `webhook_url` and PagerDuty's `routing_key` are required, so [`parse_notifier`] refuses a
    /// document without them; [`parse_notifier_edit`] keeps those too.
    pub fn keep_stored_credentials(&mut self, stored: &NotifierSpec) -> ValidationErrors {
        match (&mut self.destination, &stored.destination) {
            (Destination::Webhook(next), Destination::Webhook(before)) => {
                for (name, value) in &before.headers {
                    next.headers.entry(name.clone()).or_insert_with(|| value.clone());
                }
                if next.secret.is_none() {
                    next.secret.clone_from(&before.secret);
                }
            }
            (Destination::Email(next), Destination::Email(before)) if next.password.is_none() => {
                next.password.clone_from(&before.password);
            }
            (Destination::Ntfy(next), Destination::Ntfy(before)) if next.token.is_none() => {
                next.token.clone_from(&before.token);
            }
            _ => {}
        }
        stored.credentials_refused_in(self)
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

/// Validates a complete notifier document (POST): `name`, a known `kind` and that kind's fields,
/// every bad or unknown field named at once. Write-only values come out as [`Credential::Plain`].
/// Read-only echoes (`id`, timestamps, `has_*` flags) are ignored; webhook `headers` given as a
/// list of names (as responses show them) set none, leaving [`NotifierSpec::keep_stored_credentials`]
/// to keep the stored ones.
pub fn parse_notifier(value: &serde_json::Value) -> Result<NotifierSpec, ValidationErrors> {
    parse::notifier(value, None)
}

/// Validates an edit (PUT, or PATCH after merging) of `stored`: as [`parse_notifier`], except
/// that a write-only value the document leaves out is the stored one (for the same kind), sealed;
/// `null` removes an optional one; `headers` as a list of names keeps the stored headers named
/// and drops the rest; absent, all stored headers stay. A kept value whose destination moved is
/// refused by its field name, with the parse errors.
pub fn parse_notifier_edit(value: &serde_json::Value, stored: &NotifierSpec) -> Result<NotifierSpec, ValidationErrors> {
    let spec = parse::notifier(value, Some(stored))?;
    let refused = stored.credentials_refused_in(&spec);
    if refused.is_empty() { Ok(spec) } else { Err(refused) }
}

mod parse;
#[cfg(test)]
mod tests;
