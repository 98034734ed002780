//! The outbox relay: publishes events committed with the changes they describe, so a stored
//! change and its event can never disagree.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use healthmon_bus::{EventBus, Stream};
use healthmon_store::{OutboxEvent, OutboxSink, OutboxStream, Store};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const BATCH: u32 = 500;
/// Also relays what another process committed (its own relay may have died).
const POLL: Duration = Duration::from_millis(250);
/// How long [`OutboxRelay::relay_now`] waits for another relay's pass to end, trying every
/// [`BUSY_RETRY`].
const BUSY_WAIT: Duration = Duration::from_millis(200);
const BUSY_RETRY: Duration = Duration::from_millis(2);

#[derive(Clone)]
pub struct OutboxRelay {
    store: Arc<dyn Store>,
    sink: Arc<BusSink>,
    wake: Arc<Notify>,
}

impl OutboxRelay {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn EventBus>) -> Self {
        Self { store, sink: Arc::new(BusSink { bus }), wake: Arc::new(Notify::new()) }
    }

    /// Asks the background loop to relay now rather than at its next poll.
    pub fn kick(&self) {
        self.wake.notify_one();
    }

    /// Relays until the outbox is empty. While another relay holds the turn, it waits for that
    /// one's pass to end (briefly, [`BUSY_WAIT`] at most) and then relays itself: the other pass
    /// read the outbox before this caller's events were committed, so leaving them to it would
    /// hold them back until its next poll.
    pub async fn relay_now(&self) -> anyhow::Result<usize> {
        let mut total = 0;
        let busy_until = tokio::time::Instant::now() + BUSY_WAIT;
        loop {
            match self.store.relay_outbox(self.sink.as_ref(), BATCH).await? {
                Some(relayed) => {
                    total += relayed;
                    if relayed < BATCH as usize {
                        return Ok(total);
                    }
                }
                None if tokio::time::Instant::now() < busy_until => tokio::time::sleep(BUSY_RETRY).await,
                None => {
                    // The holder is slow (a large backlog): the background loop takes it from here.
                    self.kick();
                    return Ok(total);
                }
            }
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            if let Err(error) = self.relay_now().await {
                tracing::warn!(error = %format!("{error:#}"), "outbox relay failed; retrying");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }
}

struct BusSink {
    bus: Arc<dyn EventBus>,
}

#[async_trait]
impl OutboxSink for BusSink {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        let stream = match event.stream {
            OutboxStream::Targets => Stream::Targets,
            OutboxStream::Health => Stream::Health,
            OutboxStream::Alerts => Stream::Alerts,
        };
        let payload = Bytes::copy_from_slice(&event.payload);
        self.bus.publish(stream, &event.key.to_string(), &event.msg_id.to_string(), payload).await
    }
}
