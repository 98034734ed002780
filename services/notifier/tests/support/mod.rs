//! What the send tests share: a key ring to seal write-only values with, a sender bound to a
//! policy, and a notification context to send.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use healthmon_crypto::{KeyRing, LiveKeyRing};
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::alerting::notifier::{ChatDestination, Destination, WebhookDestination, WebhookMethod};
use healthmon_domain::alerting::{
    AlertRef, HealthSummary, NotificationContext, NotificationEvent, NotifierSpec, TargetSummary,
};
use healthmon_domain::{Credential, HealthStatus};
use healthmon_notifier::send::Sender;
use tempfile::TempDir;
use uuid::Uuid;

/// A fresh key ring (in a directory of its own) and a sender using it.
pub struct Harness {
    pub ring: Arc<KeyRing>,
    pub sender: Sender,
    pub notifier_id: Uuid,
    _keys: TempDir,
}

impl Harness {
    /// With the default address policy (loopback allowed; metadata and link-local refused).
    pub fn new() -> Self {
        Self::with_policy(AddressPolicy::default())
    }

    pub fn with_policy(policy: AddressPolicy) -> Self {
        let keys = tempfile::tempdir().expect("temp dir");
        let ring = Arc::new(KeyRing::load_or_create(keys.path()).expect("key ring"));
        let live = Arc::new(LiveKeyRing::open_dir(keys.path()).expect("live key ring"));
        let sender = Sender::new(live, Arc::new(policy)).expect("sender");
        Self { ring, sender, notifier_id: Uuid::new_v4(), _keys: keys }
    }

    /// A new current key in this harness's directory, as `healthmon keys rotate` makes one while
    /// the sender runs; values sealed after it use the new key.
    pub fn rotate(&mut self) {
        self.ring = Arc::new(KeyRing::rotate(self._keys.path()).expect("rotate"));
    }

    /// `text` sealed for this harness's notifier, as the API stores it.
    pub fn seal(&self, text: &str) -> Credential {
        Credential::Sealed(self.ring.seal(text.as_bytes(), self.notifier_id).expect("seal").into_string())
    }

    pub async fn send(
        &self,
        spec: &NotifierSpec,
        delivery_id: Uuid,
        context: &NotificationContext,
    ) -> healthmon_notifier::send::Attempt {
        self.sender.send(self.notifier_id, spec, delivery_id, context, now()).await
    }

    pub fn chat(&self, webhook_url: &str, kind: fn(ChatDestination) -> Destination) -> NotifierSpec {
        spec(kind(ChatDestination { webhook_url: self.seal(webhook_url) }))
    }
}

pub fn spec(destination: Destination) -> NotifierSpec {
    NotifierSpec { name: "ops".to_owned(), destination }
}

pub fn webhook(url: String) -> WebhookDestination {
    WebhookDestination { url, method: WebhookMethod::Post, headers: BTreeMap::new(), body: None, secret: None }
}

/// The moment every test sends at: its Unix seconds are what `webhook-timestamp` must carry.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).single().expect("a valid time")
}

pub fn context(event: NotificationEvent) -> NotificationContext {
    let (from, to) = match event {
        NotificationEvent::Resolved => (HealthStatus::Unhealthy, HealthStatus::Healthy),
        _ => (HealthStatus::Healthy, HealthStatus::Unhealthy),
    };
    NotificationContext {
        event,
        incident_id: Uuid::new_v4(),
        alert: AlertRef { id: Uuid::new_v4(), name: "api down".to_owned() },
        target: TargetSummary {
            id: Uuid::new_v4(),
            name: "checkout-api".to_owned(),
            kind: "http".to_owned(),
            group: Some("shop".to_owned()),
            tags: vec!["prod".to_owned()],
            url: Some("https://checkout.example/health".to_owned()),
            host: None,
        },
        health: HealthSummary { from, to, at: now(), reason: "HTTP 503 (expected 200-299)".to_owned() },
    }
}

/// `healthmon/<version>`, as every request must name itself.
pub fn user_agent() -> String {
    format!("healthmon/{}", env!("CARGO_PKG_VERSION"))
}
