//! Durable pull consumers on JetStream, and the acker that settles their messages.

use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::message::Acker;
use async_nats::jetstream::stream::{ConsumerError, ConsumerErrorKind};
use async_nats::jetstream::{self, AckKind, ErrorCode};
use async_trait::async_trait;
use futures::StreamExt;

use super::{NatsBus, nats_error};
use crate::{Acknowledge, Delivery, DurableConsumer, Message, Stream};

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
        let mut handle = Self { bus, stream, config, consumer: None };
        handle.consumer = Some(handle.create().await?);
        Ok(handle)
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

    async fn fetch_from(consumer: &PullConsumer, max: usize, wait: Duration) -> anyhow::Result<Vec<Delivery>> {
        let mut request = consumer.fetch().max_messages(max);
        if wait >= SHORTEST_EXPIRES {
            request = request.expires(wait);
        }
        let mut batch = request.messages().await.context("requesting a batch from the durable consumer")?;
        let mut deliveries = Vec::new();
        while let Some(item) = batch.next().await {
            match item.map_err(nats_error).and_then(into_delivery) {
                Ok(delivery) => deliveries.push(delivery),
                Err(error) if deliveries.is_empty() => return Err(error.context("fetching from the durable consumer")),
                // What came before the error is still good; anything lost is redelivered after ack_wait.
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "fetch ended early");
                    break;
                }
            }
        }
        Ok(deliveries)
    }
}

#[async_trait]
impl DurableConsumer for NatsDurableConsumer {
    async fn fetch(&mut self, max: usize, wait: Duration) -> anyhow::Result<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let consumer = match self.consumer.take() {
            Some(consumer) => consumer,
            None => self.create().await?,
        };
        let fetched = match tokio::time::timeout(wait + FETCH_GRACE, Self::fetch_from(&consumer, max, wait)).await {
            Ok(fetched) => fetched,
            Err(_) => Err(anyhow::anyhow!("NATS did not answer a fetch within {:?}", wait + FETCH_GRACE)),
        };
        if fetched.is_ok() {
            self.consumer = Some(consumer);
        }
        fetched
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
