//! The in-process bus: the same at-least-once, ack-after-commit contract as JetStream, kept in
//! memory, for the all-in-one binary and for tests.

mod consumer;
mod log;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::{DurableConsumer, EventBus, Message, Naming, StartAt, Stream};
use consumer::{ConsumerState, MemoryConsumer};
use log::{Log, Retention};

/// Shared with the NATS streams' `duplicate_window`, so both buses de-duplicate alike.
pub(crate) use log::DUPLICATE_WINDOW;

/// How many messages a follower copies out of the log per lock.
const FOLLOW_BATCH: usize = 256;

/// Limits that keep the in-memory streams from growing forever.
#[derive(Debug, Clone)]
pub struct MemoryOptions {
    pub max_messages_per_stream: usize,
    pub samples_max_age: Duration,
    pub health_max_age: Duration,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        Self {
            max_messages_per_stream: 1_000_000,
            samples_max_age: Duration::from_secs(24 * 60 * 60),
            health_max_age: Duration::from_secs(7 * 24 * 60 * 60),
        }
    }
}

/// Cheap to clone; clones share the streams. Separate `MemoryBus::new` calls share nothing.
#[derive(Clone)]
pub struct MemoryBus {
    inner: Arc<Inner>,
}

struct Inner {
    naming: Naming,
    streams: HashMap<Stream, Arc<StreamShared>>,
}

/// One stream with its durable consumers, shared by the bus, consumer handles, ackers and followers.
struct StreamShared {
    state: Mutex<StreamState>,
    /// Bumped on every stored message; wakes fetches and followers.
    appended: watch::Sender<u64>,
    /// Bumped when a pending delivery gets due earlier or frees room; wakes fetches only.
    consumers_changed: watch::Sender<u64>,
}

struct StreamState {
    log: Log,
    consumers: HashMap<String, ConsumerState>,
}

impl StreamShared {
    fn new(retention: Retention) -> Self {
        Self {
            state: Mutex::new(StreamState { log: Log::new(retention), consumers: HashMap::new() }),
            appended: watch::Sender::new(0),
            consumers_changed: watch::Sender::new(0),
        }
    }

    /// Critical sections never panic half-way, so a poisoned lock still guards consistent state.
    fn lock(&self) -> MutexGuard<'_, StreamState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryBus {
    pub fn new(naming: Naming) -> Self {
        Self::with_options(naming, MemoryOptions::default())
    }

    pub fn with_options(naming: Naming, options: MemoryOptions) -> Self {
        let streams = Stream::ALL
            .into_iter()
            .map(|stream| {
                let retention = Retention {
                    max_messages: options.max_messages_per_stream,
                    max_age: match stream {
                        Stream::Samples => Some(options.samples_max_age),
                        Stream::Health | Stream::DeadLetters | Stream::Alerts => Some(options.health_max_age),
                        Stream::Targets => None,
                    },
                    newest_per_subject_only: stream == Stream::Targets,
                };
                (stream, Arc::new(StreamShared::new(retention)))
            })
            .collect();
        Self { inner: Arc::new(Inner { naming, streams }) }
    }

    fn stream(&self, stream: Stream) -> anyhow::Result<&Arc<StreamShared>> {
        self.inner.streams.get(&stream).ok_or_else(|| anyhow::anyhow!("the in-memory bus has no {stream} stream"))
    }
}

#[async_trait]
impl EventBus for MemoryBus {
    fn naming(&self) -> &Naming {
        &self.inner.naming
    }

    async fn publish(&self, stream: Stream, key: &str, msg_id: &str, payload: Bytes) -> anyhow::Result<()> {
        let subject = self.inner.naming.subject(stream, key);
        let shared = self.stream(stream)?;
        let stored = shared.lock().log.append(subject, msg_id, payload, Instant::now());
        if let Some(sequence) = stored {
            shared.appended.send_replace(sequence);
        }
        Ok(())
    }

    async fn durable_consumer(
        &self,
        stream: Stream,
        name: &str,
        ack_wait: Duration,
    ) -> anyhow::Result<Box<dyn DurableConsumer>> {
        let shared = self.stream(stream)?.clone();
        shared
            .lock()
            .consumers
            .entry(name.to_owned())
            .and_modify(|consumer| consumer.set_ack_wait(ack_wait))
            .or_insert_with(|| ConsumerState::new(ack_wait));
        Ok(Box::new(MemoryConsumer { shared, name: name.to_owned(), ack_wait }))
    }

    async fn follow(
        &self,
        stream: Stream,
        start: StartAt,
    ) -> anyhow::Result<BoxStream<'static, anyhow::Result<Message>>> {
        let shared = self.stream(stream)?.clone();
        let appended = shared.appended.subscribe();
        let cursor = match start {
            StartAt::Beginning => 0,
            StartAt::New => shared.lock().log.last_sequence(),
        };
        let follower = Follower { shared, appended, cursor, buffered: VecDeque::new() };
        Ok(futures::stream::unfold(follower, |mut follower| async move {
            let message = follower.next().await?;
            Some((Ok(message), follower))
        })
        .boxed())
    }

    async fn keys(&self, stream: Stream) -> anyhow::Result<Vec<String>> {
        let naming = &self.inner.naming;
        let state = self.stream(stream)?.lock();
        Ok(state
            .log
            .subjects()
            .into_iter()
            .filter_map(|subject| naming.key_of(stream, subject))
            .map(str::to_owned)
            .collect())
    }

    async fn check(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

struct Follower {
    shared: Arc<StreamShared>,
    appended: watch::Receiver<u64>,
    /// The last sequence handed out; only higher ones follow, so there are no repeats.
    cursor: u64,
    buffered: VecDeque<Message>,
}

impl Follower {
    async fn next(&mut self) -> Option<Message> {
        loop {
            if let Some(message) = self.buffered.pop_front() {
                return Some(message);
            }
            self.appended.borrow_and_update();
            let batch = self.shared.lock().log.after(self.cursor, FOLLOW_BATCH);
            if let Some(last) = batch.last() {
                self.cursor = last.sequence;
                self.buffered.extend(batch);
                continue;
            }
            // Only fails once the sender is gone, and `shared` keeps it alive.
            self.appended.changed().await.ok()?;
        }
    }
}
