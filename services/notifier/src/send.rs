//! Sending one notification to one notifier's receiver, by kind: each kind builds its message in a
//! module of its own, HTTP kinds go out through one policy-bound client with the same delivery
//! headers, and every error is made safe to store (no secret, no secret-bearing URL).

mod chat;
mod email;
mod http;
mod ntfy;
mod pagerduty;
mod webhook;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use healthmon_crypto::{LiveKeyRing, Sealed};
use healthmon_domain::Credential;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::alerting::context::NotificationContext;
use healthmon_domain::alerting::notifier::{Destination, NotifierSpec};
use uuid::Uuid;
use zeroize::Zeroizing;

/// Every attempt, of every kind, gives up after this long.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends notifications; cheap to share, one per process.
pub struct Sender {
    http: http::HttpTransport,
    /// Follows its directory, so a key rotated in while the notifier runs is found.
    keys: Arc<LiveKeyRing>,
    policy: Arc<AddressPolicy>,
    timeout: Duration,
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The receiver's HTTP status, when it answered one.
    pub status_code: Option<u16>,
    /// Why it was not delivered; safe to store and show (never holds a secret).
    pub error: Option<String>,
    pub latency: Duration,
}

impl Attempt {
    pub fn delivered(&self) -> bool {
        self.error.is_none()
    }
}

/// Why an attempt failed, before it is timed: what the kind modules return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status_code: Option<u16>,
    pub message: String,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Self { status_code: None, message: message.into() }
    }
}

/// A write-only value in the clear, only for as long as one attempt needs it.
pub(crate) type Opened = Zeroizing<String>;

impl Sender {
    pub fn new(keys: Arc<LiveKeyRing>, policy: Arc<AddressPolicy>) -> anyhow::Result<Self> {
        Ok(Self { http: http::HttpTransport::new(policy.clone())?, keys, policy, timeout: SEND_TIMEOUT })
    }

    /// The same sender with another limit per attempt (tests of timeouts only).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends one notification; never panics, never returns a secret in `error`.
    pub async fn send(
        &self,
        notifier_id: Uuid,
        spec: &NotifierSpec,
        delivery_id: Uuid,
        context: &NotificationContext,
        now: DateTime<Utc>,
    ) -> Attempt {
        let started = Instant::now();
        let outcome =
            match tokio::time::timeout(self.timeout, self.dispatch(notifier_id, spec, delivery_id, context, now)).await
            {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::new(format!("timed out after {} s", self.timeout.as_secs_f64()))),
            };
        let latency = started.elapsed();
        match outcome {
            Ok(status_code) => Attempt { status_code, error: None, latency },
            Err(failure) => Attempt { status_code: failure.status_code, error: Some(failure.message), latency },
        }
    }

    async fn dispatch(
        &self,
        notifier_id: Uuid,
        spec: &NotifierSpec,
        delivery_id: Uuid,
        context: &NotificationContext,
        now: DateTime<Utc>,
    ) -> Result<Option<u16>, Failure> {
        let open = |credential: &Credential| self.open(credential, notifier_id);
        let message = match &spec.destination {
            Destination::Webhook(webhook) => webhook::message(webhook, context, delivery_id, open)?,
            Destination::Slack(chat) => chat::slack(&open(&chat.webhook_url)?, context)?,
            Destination::Discord(chat) => chat::discord(&open(&chat.webhook_url)?, context)?,
            Destination::Teams(chat) => chat::teams(&open(&chat.webhook_url)?, context)?,
            Destination::Pagerduty(pagerduty) => {
                pagerduty::message(pagerduty, &open(&pagerduty.routing_key)?, context, delivery_id)?
            }
            Destination::Ntfy(ntfy) => ntfy::message(ntfy, ntfy.token.as_ref().map(open).transpose()?, context)?,
            Destination::Email(email) => {
                let password = email.password.as_ref().map(open).transpose()?;
                return email::send(email, password, &self.policy, context, delivery_id, self.timeout)
                    .await
                    .map(|()| None);
            }
        };
        self.http.send(message, delivery_id, now).await.map(Some)
    }

    /// Opens a sealed write-only value for `notifier_id` (the id it was sealed for).
    fn open(&self, credential: &Credential, notifier_id: Uuid) -> Result<Opened, Failure> {
        let text = match credential {
            // The API seals every value before it stores a notifier: a plain one here skipped that.
            Credential::Plain(_) => return Err(Failure::new("credential not sealed")),
            Credential::Sealed(text) => text,
        };
        let sealed = Sealed::parse(text).map_err(|error| unsealable(&error))?;
        let opened = self.keys.open(&sealed, notifier_id).map_err(|error| unsealable(&error))?;
        let text = std::str::from_utf8(&opened).map_err(|_| Failure::new("stored credential is not UTF-8 text"))?;
        Ok(Zeroizing::new(text.to_owned()))
    }
}

fn unsealable(error: &healthmon_crypto::CryptoError) -> Failure {
    Failure::new(format!("stored credential cannot be unsealed ({error})"))
}

/// `text` with every non-empty secret replaced, for errors built from text a peer sent back.
pub(crate) fn redact(text: &str, secrets: &[&str]) -> String {
    secrets
        .iter()
        .filter(|secret| secret.len() >= 4)
        .fold(text.to_owned(), |redacted, secret| redacted.replace(secret, "[redacted]"))
}

/// The plain-text message ntfy and e-mail send: the reason, then the target and the change.
pub(crate) fn details(context: &NotificationContext) -> String {
    let target = &context.target;
    let mut lines = vec![];
    if !context.health.reason.is_empty() {
        lines.push(context.health.reason.clone());
    }
    lines.push(format!("Target: {} ({})", target.name, target.kind));
    if let Some(address) = target.url.as_ref().or(target.host.as_ref()) {
        lines.push(format!("Address: {address}"));
    }
    lines.push(format!(
        "Health: {} → {} at {}",
        context.health.from,
        context.health.to,
        context.health.at.to_rfc3339()
    ));
    lines.push(format!("Alert: {}", context.alert.name));
    lines.join("\n")
}
