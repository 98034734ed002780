//! Dead letters: a sample message the projector can never store (malformed, or refused by the
//! store for what it holds) is set aside on the dead-letter stream with its reason, so it cannot
//! hold up the messages behind it and an operator can still see what it was.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use healthmon_bus::{EventBus, Message, Stream};
use serde::{Deserialize, Serialize};

pub const DEAD_LETTERS_METRIC: &str = "healthmon_projector_dead_letters_total";

/// The subject key of the projector's dead letters: `<prefix>.deadletters.samples`.
pub const SAMPLES_KEY: &str = "samples";

/// Why a message was set aside; also the metric's `reason` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// Not a sample event at all.
    Malformed,
    /// A sample the store refuses, however often it is retried.
    Unstorable,
}

impl Cause {
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Malformed => "malformed",
            Cause::Unstorable => "unstorable",
        }
    }
}

/// One dead letter as published: the original message, whole, and why it was set aside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub cause: Cause,
    /// The error that refused it.
    pub reason: String,
    /// Where it came from.
    pub subject: String,
    pub sequence: u64,
    pub dead_at: DateTime<Utc>,
    /// The original payload, base64: it may not even be text.
    pub payload_base64: String,
}

impl DeadLetter {
    pub fn new(message: &Message, cause: Cause, reason: String) -> Self {
        Self {
            cause,
            reason,
            subject: message.subject.clone(),
            sequence: message.sequence,
            dead_at: Utc::now(),
            payload_base64: STANDARD.encode(&message.payload),
        }
    }

    /// Publishes it; the message's stream sequence is its de-duplication id, so setting the same
    /// message aside twice (a retried batch) stores one dead letter.
    pub async fn publish(&self, bus: &dyn EventBus) -> anyhow::Result<()> {
        let payload = Bytes::from(serde_json::to_vec(self)?);
        let msg_id = format!("dead-{}-{}", self.subject, self.sequence);
        bus.publish(Stream::DeadLetters, SAMPLES_KEY, &msg_id, payload).await?;
        metrics::counter!(DEAD_LETTERS_METRIC, "reason" => self.cause.as_str()).increment(1);
        Ok(())
    }
}
