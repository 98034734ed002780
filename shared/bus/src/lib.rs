//! The event bus: one trait with a NATS JetStream implementation and an in-process one that keeps
//! the same at-least-once, ack-after-commit contract.

pub mod memory;
pub mod nats;

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

pub use memory::MemoryBus;
pub use nats::NatsBus;

/// The event streams: the three of the architecture, the dead letters and the alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// `probe.sampled`: limits retention, bounded age.
    Samples,
    /// `health.changed`: the log external systems subscribe to.
    Health,
    /// `target.*`: keeps only the newest event per target, so reading it from the start is a
    /// complete, current plan of every target.
    Targets,
    /// Messages a consumer could never process (malformed, or refused by the store), each with
    /// its reason, kept for an operator to look at instead of holding up the messages behind it.
    DeadLetters,
    /// `alert.*`: every incident change (triggered, reminded, resolved, suppressed), keyed by the
    /// alert rule's id, for other systems to subscribe to as they do to health changes.
    Alerts,
}

impl Stream {
    pub const ALL: [Stream; 5] =
        [Stream::Samples, Stream::Health, Stream::Targets, Stream::DeadLetters, Stream::Alerts];

    /// The subject token: `<prefix>.<token>.<key>`.
    pub fn token(self) -> &'static str {
        match self {
            Stream::Samples => "samples",
            Stream::Health => "health",
            Stream::Targets => "targets",
            Stream::DeadLetters => "deadletters",
            Stream::Alerts => "alerts",
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// Names every subject, stream and consumer after a prefix so deployments can share a server.
#[derive(Debug, Clone)]
pub struct Naming {
    prefix: String,
}

impl Naming {
    pub fn new(prefix: impl Into<String>) -> Self {
        Self { prefix: prefix.into() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `healthmon.samples.<key>`
    pub fn subject(&self, stream: Stream, key: &str) -> String {
        format!("{}.{}.{}", self.prefix, stream.token(), key)
    }

    /// The key of a subject of `stream` (`healthmon.samples.<key>` → `<key>`); `None` for any
    /// other subject.
    pub fn key_of<'subject>(&self, stream: Stream, subject: &'subject str) -> Option<&'subject str> {
        subject.strip_prefix(self.prefix.as_str())?.strip_prefix('.')?.strip_prefix(stream.token())?.strip_prefix('.')
    }

    /// `healthmon.samples.>`
    pub fn wildcard(&self, stream: Stream) -> String {
        format!("{}.{}.>", self.prefix, stream.token())
    }

    /// `HEALTHMON_SAMPLES`: stream names allow no dots, so anything but letters and digits becomes `_`.
    pub fn stream_name(&self, stream: Stream) -> String {
        let prefix: String =
            self.prefix.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
        format!("{prefix}_{}", stream.token().to_ascii_uppercase())
    }

    /// `healthmon_projector`: durable consumer and KV bucket names.
    pub fn durable_name(&self, name: &str) -> String {
        let prefix: String =
            self.prefix.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        format!("{prefix}_{name}")
    }
}

impl Default for Naming {
    fn default() -> Self {
        Self::new("healthmon")
    }
}

/// Where a follower starts reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Everything the stream still holds, then live messages.
    Beginning,
    /// Only messages published after the follow starts.
    New,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub subject: String,
    pub payload: Bytes,
    /// The stream sequence; strictly increasing within one stream.
    pub sequence: u64,
}

/// A message taken from a durable consumer; it is redelivered unless acked before the ack wait.
pub struct Delivery {
    pub message: Message,
    /// How many times this message has been delivered, 1 on the first delivery.
    pub delivered: u64,
    acker: Box<dyn Acknowledge>,
}

impl Delivery {
    pub fn new(message: Message, delivered: u64, acker: Box<dyn Acknowledge>) -> Self {
        Self { message, delivered, acker }
    }

    /// Confirms processing; call only after the effects are durable.
    pub async fn ack(self) -> anyhow::Result<()> {
        self.acker.ack().await
    }

    /// Asks for redelivery after `delay`.
    pub async fn nak(self, delay: Duration) -> anyhow::Result<()> {
        self.acker.nak(delay).await
    }

    /// Refuses the message for good (it can never be processed, e.g. it is malformed).
    pub async fn term(self) -> anyhow::Result<()> {
        self.acker.term().await
    }
}

#[async_trait]
pub trait Acknowledge: Send + Sync {
    async fn ack(&self) -> anyhow::Result<()>;
    async fn nak(&self, delay: Duration) -> anyhow::Result<()>;
    async fn term(&self) -> anyhow::Result<()>;
}

#[async_trait]
pub trait DurableConsumer: Send {
    /// Up to `max` messages; waits at most `wait` when none is available, then returns what it has
    /// (possibly nothing), in stream order. A fetch that breaks off returns what came before; the
    /// messages it left behind come again at the next fetch, before anything newer.
    async fn fetch(&mut self, max: usize, wait: Duration) -> anyhow::Result<Vec<Delivery>>;

    /// Makes every message taken but not acked, by any handle of this consumer (say one of a
    /// crashed process), due again at once and delivered before anything newer, so a new owner
    /// applies messages in order. May deliver again some messages acked after the oldest unacked one.
    async fn reclaim_unacked(&mut self) -> anyhow::Result<()>;

    /// The consumer's backlog as the bus sees it (JetStream's consumer info), for metrics.
    async fn stats(&mut self) -> anyhow::Result<ConsumerStats>;
}

/// A durable consumer's backlog, across every handle of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Messages in the stream not yet delivered to the consumer.
    pub pending: u64,
    /// Messages delivered and not yet acked.
    pub ack_pending: u64,
    /// Messages delivered more than once and not yet acked.
    pub redelivered: u64,
}

#[async_trait]
pub trait EventBus: Send + Sync + 'static {
    fn naming(&self) -> &Naming;

    /// Publishes and returns once the bus has stored the message. Publishing the same `msg_id` to
    /// a stream again within the de-duplication window stores nothing new.
    async fn publish(&self, stream: Stream, key: &str, msg_id: &str, payload: Bytes) -> anyhow::Result<()>;

    /// A durable pull consumer with explicit acks. Handles opened with the same name share one
    /// cursor and split the messages; unacked messages are redelivered after `ack_wait`, also to a
    /// handle opened after the one that fetched them was dropped.
    async fn durable_consumer(
        &self,
        stream: Stream,
        name: &str,
        ack_wait: Duration,
    ) -> anyhow::Result<Box<dyn DurableConsumer>>;

    /// An ordered, unacknowledged view of the stream, from `start` on, without gaps or repeats.
    async fn follow(
        &self,
        stream: Stream,
        start: StartAt,
    ) -> anyhow::Result<BoxStream<'static, anyhow::Result<Message>>>;

    /// The keys the stream holds at least one message for right now, sorted, each once. On the
    /// targets stream these are the targets the stream still has a word on, whatever that word is.
    async fn keys(&self, stream: Stream) -> anyhow::Result<Vec<String>>;

    /// How many keys [`EventBus::keys`] would list, without listing them (cheap enough to ask
    /// every few seconds at 100 000 targets).
    async fn key_count(&self, stream: Stream) -> anyhow::Result<u64> {
        Ok(self.keys(stream).await?.len() as u64)
    }

    /// Whether the bus is reachable now (for readiness).
    async fn check(&self) -> anyhow::Result<()>;
    /// Whether the connection is up right now, without a round trip: cheap enough to ask before
    /// every publish. A publish may still fail when it says yes.
    fn is_connected(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_of_inverts_subject_for_its_own_stream_and_prefix_only() {
        let naming = Naming::new("hm");
        let subject = naming.subject(Stream::Targets, "0190-abc");
        assert_eq!(naming.key_of(Stream::Targets, &subject), Some("0190-abc"));
        assert_eq!(naming.key_of(Stream::Samples, &subject), None);
        assert_eq!(Naming::new("h").key_of(Stream::Targets, &subject), None);
        assert_eq!(naming.key_of(Stream::Targets, "hm.targetsx.a"), None);
    }
}
