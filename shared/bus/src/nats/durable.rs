//! Durable pull consumers on JetStream, and the acker that settles their messages.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::consumer::{self, AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::stream::{ConsumerError, ConsumerErrorKind};
use async_nats::jetstream::{self, AckKind, ErrorCode};
use async_trait::async_trait;
use futures::StreamExt;

use super::{NatsBus, nats_error};
use crate::{Acknowledge, ConsumerStats, Delivery, DurableConsumer, Message, Stream};

/// Generous, so a slow batch commit never stalls delivery, yet bounded like JetStream requires.
const MAX_ACK_PENDING: i64 = 20_000;

/// Below this JetStream cannot express a wait; such a fetch takes only what is there.
const SHORTEST_EXPIRES: Duration = Duration::from_millis(1);

/// How long past its wait a fetch may take before the server counts as unreachable; async-nats
/// alone would wait 5 s more, and while disconnected every fetch would run that long.
const FETCH_GRACE: Duration = Duration::from_secs(1);

pub(super) struct NatsDurableConsumer {
    bus: NatsBus,
    stream: Stream,
    config: pull::Config,
    /// Dropped after a failed fetch and created again (idempotently) before the next one, so the
    /// handle recovers when the server or the consumer comes back.
    consumer: Option<PullConsumer>,
    /// The last fetch broke off: messages the server sent after that are taken but unreturned,
    /// so the next fetch reclaims first, to get them before anything newer.
    broke_off: bool,
}

/// A fetch that ended before the server said the batch was complete: what came before, in order,
/// and why it ended.
struct BrokeOff {
    deliveries: Vec<Delivery>,
    error: anyhow::Error,
}

impl NatsDurableConsumer {
    pub async fn open(bus: NatsBus, stream: Stream, name: &str, ack_wait: Duration) -> anyhow::Result<Self> {
        let naming = &bus.inner.naming;
        let config = pull::Config {
            durable_name: Some(naming.durable_name(name)),
            filter_subject: naming.wildcard(stream),
            ack_policy: AckPolicy::Explicit,
            ack_wait,
            deliver_policy: DeliverPolicy::All,
            max_ack_pending: MAX_ACK_PENDING,
            ..Default::default()
        };
        let mut handle = Self { bus, stream, config, consumer: None, broke_off: false };
        handle.adopt_start_position().await;
        handle.consumer = Some(handle.create().await?);
        Ok(handle)
    }

    /// An existing consumer keeps the start position it was created or reclaimed with: the server
    /// refuses to change a deliver policy. Absent, the consumer starts from the stream's beginning.
    async fn adopt_start_position(&mut self) {
        let jetstream = &self.bus.inner.jetstream;
        let stream_name = self.bus.inner.naming.stream_name(self.stream);
        let durable = self.config.durable_name.clone().unwrap_or_default();
        if let Ok(stream) = jetstream.get_stream(&stream_name).await
            && let Ok(info) = stream.consumer_info(&durable).await
        {
            self.config.deliver_policy = info.config.deliver_policy;
        }
    }

    /// Create-or-update: an existing consumer with an older config (say another ack wait) is updated.
    async fn create(&self) -> anyhow::Result<PullConsumer> {
        let jetstream = &self.bus.inner.jetstream;
        let stream_name = self.bus.inner.naming.stream_name(self.stream);
        let durable = self.config.durable_name.as_deref().unwrap_or_default();
        match jetstream.create_consumer_on_stream(self.config.clone(), &stream_name).await {
            Ok(consumer) => Ok(consumer),
            // A server that lost its storage: put the stream back, then the consumer.
            Err(error) if is_stream_not_found(&error) => {
                tracing::warn!(stream = %stream_name, durable, "stream is gone, creating it again");
                self.bus.ensure_stream(self.stream).await?;
                jetstream
                    .create_consumer_on_stream(self.config.clone(), &stream_name)
                    .await
                    .with_context(|| format!("creating durable consumer {durable} on stream {stream_name}"))
            }
            Err(error) => {
                Err(error).with_context(|| format!("creating durable consumer {durable} on stream {stream_name}"))
            }
        }
    }

    /// The stream, the durable name and the server's view of this consumer across all its handles.
    async fn info(&self) -> anyhow::Result<(jetstream::stream::Stream, String, consumer::Info)> {
        let jetstream = &self.bus.inner.jetstream;
        let stream_name = self.bus.inner.naming.stream_name(self.stream);
        let durable = self.config.durable_name.clone().unwrap_or_default();
        let stream =
            jetstream.get_stream(&stream_name).await.with_context(|| format!("opening stream {stream_name}"))?;
        let info = stream.consumer_info(&durable).await.with_context(|| format!("reading consumer {durable}"))?;
        Ok((stream, durable, info))
    }

    /// The grace bounds each wait for the server, not the whole batch, so a batch still arriving
    /// on a loaded machine is not cut off for being slow.
    async fn fetch_from(consumer: &PullConsumer, max: usize, wait: Duration) -> Result<Vec<Delivery>, BrokeOff> {
        let silent_for = wait + FETCH_GRACE;
        let unanswered = || anyhow::anyhow!("NATS did not answer a fetch within {silent_for:?}");
        let mut request = consumer.fetch().max_messages(max);
        if wait >= SHORTEST_EXPIRES {
            request = request.expires(wait);
        }
        let broke_off = |deliveries, error| BrokeOff { deliveries, error };
        let mut batch = match tokio::time::timeout(silent_for, request.messages()).await {
            Ok(Ok(batch)) => batch,
            Ok(Err(error)) => {
                return Err(broke_off(Vec::new(), anyhow::Error::new(error).context("requesting a batch")));
            }
            Err(_) => return Err(broke_off(Vec::new(), unanswered())),
        };
        let mut deliveries = Vec::new();
        loop {
            let item = match tokio::time::timeout(silent_for, batch.next()).await {
                Ok(Some(item)) => item,
                Ok(None) => return Ok(deliveries),
                Err(_) => return Err(broke_off(deliveries, unanswered())),
            };
            match item.map_err(nats_error).and_then(into_delivery) {
                Ok(delivery) => deliveries.push(delivery),
                Err(error) => return Err(broke_off(deliveries, error.context("fetching from the durable consumer"))),
            }
        }
    }
}

#[async_trait]
impl DurableConsumer for NatsDurableConsumer {
    async fn fetch(&mut self, max: usize, wait: Duration) -> anyhow::Result<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        if self.broke_off {
            self.reclaim_unacked().await.context("reclaiming what a broken-off fetch left behind")?;
            self.broke_off = false;
        }
        let consumer = match self.consumer.take() {
            Some(consumer) => consumer,
            None => self.create().await?,
        };
        match Self::fetch_from(&consumer, max, wait).await {
            Ok(deliveries) => {
                self.consumer = Some(consumer);
                Ok(deliveries)
            }
            // Nothing came: the server is away, or the consumer is; it is created again next time.
            Err(BrokeOff { deliveries, error }) if deliveries.is_empty() => {
                self.broke_off = true;
                Err(error)
            }
            // What came is in order and good to use; the rest comes again, in order, next time.
            Err(BrokeOff { deliveries, error }) => {
                tracing::warn!(
                    error = format!("{error:#}"),
                    taken = deliveries.len(),
                    "fetch broke off; reclaiming the rest"
                );
                self.broke_off = true;
                self.consumer = Some(consumer);
                Ok(deliveries)
            }
        }
    }

    /// JetStream cannot make another client's deliveries due early, so the consumer is created
    /// again starting right after its ack floor (everything below it is acked).
    async fn reclaim_unacked(&mut self) -> anyhow::Result<()> {
        let (stream, durable, info) = self.info().await?;
        if info.num_ack_pending == 0 {
            return Ok(());
        }
        // A consumer created at a start sequence that has acked nothing yet reports a floor of 0;
        // everything before its start was acked by the consumer it replaced.
        let created_at = match info.config.deliver_policy {
            DeliverPolicy::ByStartSequence { start_sequence } => start_sequence,
            _ => 1,
        };
        let start_sequence = (info.ack_floor.stream_sequence + 1).max(created_at);
        tracing::info!(durable, pending = info.num_ack_pending, start_sequence, "reclaiming unacked messages");
        self.consumer = None;
        stream.delete_consumer(&durable).await.with_context(|| format!("deleting consumer {durable}"))?;
        self.config.deliver_policy = DeliverPolicy::ByStartSequence { start_sequence };
        self.consumer = Some(self.create().await?);
        Ok(())
    }

    async fn stats(&mut self) -> anyhow::Result<ConsumerStats> {
        let (_, _, info) = self.info().await?;
        Ok(ConsumerStats {
            pending: info.num_pending,
            ack_pending: u64::try_from(info.num_ack_pending).unwrap_or(0),
            redelivered: u64::try_from(info.num_redelivered).unwrap_or(0),
        })
    }
}

fn is_stream_not_found(error: &ConsumerError) -> bool {
    matches!(error.kind(), ConsumerErrorKind::JetStream(js) if js.error_code() == ErrorCode::STREAM_NOT_FOUND)
}

fn into_delivery(message: jetstream::Message) -> anyhow::Result<Delivery> {
    let info = message.info().map_err(nats_error).context("reading JetStream message metadata")?;
    let sequence = info.stream_sequence;
    let delivered = u64::try_from(info.delivered).unwrap_or(1);
    let (message, acker) = message.split();
    let message = Message { subject: message.subject.to_string(), payload: message.payload, sequence };
    Ok(Delivery::new(message, delivered, Box::new(NatsAcker(acker))))
}

/// Acks are fire-and-forget like in every JetStream client: a lost ack only means a redelivery,
/// which consumers handle idempotently anyway.
struct NatsAcker(Acker);

#[async_trait]
impl Acknowledge for NatsAcker {
    async fn ack(&self) -> anyhow::Result<()> {
        self.0.ack().await.map_err(nats_error).context("acking a message")
    }

    async fn nak(&self, delay: Duration) -> anyhow::Result<()> {
        self.0.ack_with(AckKind::Nak(Some(delay))).await.map_err(nats_error).context("naking a message")
    }

    async fn term(&self) -> anyhow::Result<()> {
        self.0.ack_with(AckKind::Term).await.map_err(nats_error).context("terminating a message")
    }
}
