//! The NATS JetStream bus: three file-backed streams, durable pull consumers and ordered followers.

mod durable;
mod follow;
mod kv;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use anyhow::Context as _;
use async_nats::connection::State;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{self, RetentionPolicy, StorageType};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::memory::DUPLICATE_WINDOW;
use crate::{DurableConsumer, EventBus, Message, Naming, StartAt, Stream};
use durable::NatsDurableConsumer;

const PUBLISH_ATTEMPTS: u32 = 5;
const FIRST_PUBLISH_RETRY_DELAY: Duration = Duration::from_millis(50);
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
const RESTORE_ATTEMPTS: u32 = 20;
const FIRST_RESTORE_DELAY: Duration = Duration::from_millis(100);
const LONGEST_RESTORE_DELAY: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct NatsOptions {
    pub samples_max_age: Duration,
    pub health_max_age: Duration,
}

impl Default for NatsOptions {
    fn default() -> Self {
        Self {
            samples_max_age: Duration::from_secs(24 * 60 * 60),
            health_max_age: Duration::from_secs(7 * 24 * 60 * 60),
        }
    }
}

/// Cheap to clone; clones share one connection.
#[derive(Clone)]
pub struct NatsBus {
    inner: Arc<Inner>,
}

struct Inner {
    naming: Naming,
    options: NatsOptions,
    client: async_nats::Client,
    jetstream: async_nats::jetstream::Context,
    /// The KV buckets' streams this process opened, to create again should the server lose them.
    buckets: Mutex<Vec<stream::Config>>,
}

impl NatsBus {
    /// Fails fast when the first connection fails; after that the client reconnects forever, and
    /// on every reconnection creates again whatever streams and buckets the server has lost (a
    /// server restarted without its data), so publishing, consuming and leases resume by themselves.
    pub async fn connect(url: &str, naming: Naming, options: NatsOptions) -> anyhow::Result<Self> {
        let (connected_tx, connected_rx) = tokio::sync::mpsc::unbounded_channel();
        let client = async_nats::ConnectOptions::new()
            .name(format!("healthmon ({})", naming.prefix()))
            .event_callback(move |event| {
                let connected_tx = connected_tx.clone();
                async move {
                    if matches!(event, async_nats::Event::Connected) {
                        let _ = connected_tx.send(());
                    }
                }
            })
            .connect(url)
            .await
            .with_context(|| format!("connecting to NATS at {url}"))?;
        let jetstream = async_nats::jetstream::new(client.clone());
        let inner = Arc::new(Inner { naming, options, client, jetstream, buckets: Mutex::new(Vec::new()) });
        let bus = Self { inner };
        for stream in Stream::ALL {
            bus.ensure_stream(stream).await?;
        }
        tokio::spawn(restore_on_reconnect(Arc::downgrade(&bus.inner), connected_rx));
        Ok(bus)
    }

    /// Creates again every stream and bucket of this process that the server lacks; existing
    /// ones are left as they are (streams are brought to the current config).
    pub async fn restore(&self) -> anyhow::Result<()> {
        for stream in Stream::ALL {
            self.ensure_stream(stream).await?;
        }
        let buckets = self.inner.buckets.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for config in buckets {
            if self.inner.jetstream.get_stream(&config.name).await.is_err() {
                let name = config.name.clone();
                tracing::warn!(bucket = %name, "the NATS server lost a bucket; creating it again");
                if let Err(error) = self.inner.jetstream.create_stream(config).await {
                    // Another process may have created it in the meantime.
                    tracing::debug!(%error, bucket = %name, "could not create the bucket again");
                }
            }
        }
        Ok(())
    }

    /// Remembers a bucket's stream, so [`NatsBus::restore`] can create it again.
    fn remember_bucket(&self, config: &stream::Config) {
        let mut buckets = self.inner.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if !buckets.iter().any(|known| known.name == config.name) {
            buckets.push(config.clone());
        }
    }

    pub fn client(&self) -> async_nats::Client {
        self.inner.client.clone()
    }

    pub fn jetstream(&self) -> async_nats::jetstream::Context {
        self.inner.jetstream.clone()
    }

    /// Creates the stream, or brings an existing one to the current config.
    async fn ensure_stream(&self, stream: Stream) -> anyhow::Result<()> {
        let config = self.stream_config(stream);
        let name = config.name.clone();
        self.inner
            .jetstream
            .create_or_update_stream(config)
            .await
            .with_context(|| format!("creating or updating JetStream stream {name}"))?;
        Ok(())
    }

    fn stream_config(&self, stream: Stream) -> stream::Config {
        let naming = &self.inner.naming;
        let (max_age, max_messages_per_subject) = match stream {
            Stream::Samples => (self.inner.options.samples_max_age, 0),
            Stream::Health | Stream::DeadLetters | Stream::Alerts => (self.inner.options.health_max_age, 0),
            // Zero max age is unlimited: the newest event per target is the plan, however old.
            Stream::Targets => (Duration::ZERO, 1),
        };
        stream::Config {
            name: naming.stream_name(stream),
            subjects: vec![naming.wildcard(stream)],
            retention: RetentionPolicy::Limits,
            storage: StorageType::File,
            max_age,
            max_messages_per_subject,
            duplicate_window: DUPLICATE_WINDOW,
            ..Default::default()
        }
    }

    async fn publish_once(&self, subject: &str, msg_id: &str, payload: Bytes) -> anyhow::Result<()> {
        let publish = PublishMessage::build().payload(payload).message_id(msg_id);
        let ack = self.inner.jetstream.send_publish(subject.to_owned(), publish).await?;
        ack.await?;
        Ok(())
    }
}

#[async_trait]
impl EventBus for NatsBus {
    fn naming(&self) -> &Naming {
        &self.inner.naming
    }

    /// Retries with the same msg id, so a publish whose ack was lost is not stored twice.
    async fn publish(&self, stream: Stream, key: &str, msg_id: &str, payload: Bytes) -> anyhow::Result<()> {
        let subject = self.inner.naming.subject(stream, key);
        let mut delay = FIRST_PUBLISH_RETRY_DELAY;
        let mut attempt = 1;
        loop {
            match self.publish_once(&subject, msg_id, payload.clone()).await {
                Ok(()) => return Ok(()),
                Err(error) if attempt < PUBLISH_ATTEMPTS => {
                    tracing::warn!(error = format!("{error:#}"), subject, msg_id, attempt, "publish failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    attempt += 1;
                }
                Err(error) => {
                    return Err(error.context(format!("publishing {msg_id} to {subject} ({attempt} attempts)")));
                }
            }
        }
    }

    async fn durable_consumer(
        &self,
        stream: Stream,
        name: &str,
        ack_wait: Duration,
    ) -> anyhow::Result<Box<dyn DurableConsumer>> {
        Ok(Box::new(NatsDurableConsumer::open(self.clone(), stream, name, ack_wait).await?))
    }

    /// An ordered consumer. An `Err` item is a passing failure (say the server restarted): the
    /// stream goes on after it, from the message after the last one it yielded.
    async fn follow(
        &self,
        stream: Stream,
        start: StartAt,
    ) -> anyhow::Result<BoxStream<'static, anyhow::Result<Message>>> {
        follow::follow(self, stream, start).await
    }

    /// From the stream's per-subject counts (paged by async-nats), so no message is read.
    async fn keys(&self, stream: Stream) -> anyhow::Result<Vec<String>> {
        let naming = &self.inner.naming;
        let stream_name = naming.stream_name(stream);
        let js_stream = self
            .inner
            .jetstream
            .get_stream(&stream_name)
            .await
            .with_context(|| format!("reading stream {stream_name}"))?;
        let mut subjects = js_stream
            .info_with_subjects(naming.wildcard(stream))
            .await
            .with_context(|| format!("listing the subjects of stream {stream_name}"))?;
        let mut keys = BTreeSet::new();
        while let Some(entry) = subjects.next().await {
            let (subject, _count) = entry.with_context(|| format!("listing the subjects of stream {stream_name}"))?;
            if let Some(key) = naming.key_of(stream, &subject) {
                keys.insert(key.to_owned());
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// From the stream's info, which counts its subjects.
    async fn key_count(&self, stream: Stream) -> anyhow::Result<u64> {
        let stream_name = self.inner.naming.stream_name(stream);
        let js_stream = self
            .inner
            .jetstream
            .get_stream(&stream_name)
            .await
            .with_context(|| format!("reading stream {stream_name}"))?;
        Ok(js_stream.cached_info().state.subjects_count)
    }

    fn is_connected(&self) -> bool {
        self.inner.client.connection_state() == State::Connected
    }

    async fn check(&self) -> anyhow::Result<()> {
        let state = self.inner.client.connection_state();
        if state != State::Connected {
            anyhow::bail!("NATS connection is {state}");
        }
        tokio::time::timeout(CHECK_TIMEOUT, self.inner.client.flush())
            .await
            .context("NATS did not answer a flush in time")?
            .context("flushing the NATS connection")
    }
}

/// On every (re)connection, restores the streams and buckets, retrying while the server's
/// JetStream is still starting. Ends with the bus.
async fn restore_on_reconnect(inner: Weak<Inner>, mut connected: tokio::sync::mpsc::UnboundedReceiver<()>) {
    while connected.recv().await.is_some() {
        let mut delay = FIRST_RESTORE_DELAY;
        for attempt in 1..=RESTORE_ATTEMPTS {
            let Some(inner) = inner.upgrade() else { return };
            match (NatsBus { inner }).restore().await {
                Ok(()) => break,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), attempt, "could not restore the streams after reconnecting");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(LONGEST_RESTORE_DELAY);
                }
            }
        }
    }
}

/// async-nats reports many errors as a boxed `std::error::Error`, which anyhow does not take by `?`.
fn nats_error(error: async_nats::Error) -> anyhow::Error {
    anyhow::anyhow!(error)
}
