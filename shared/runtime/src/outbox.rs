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
/// The first retry after finding another relay's pass under way.
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

    /// Relays until the outbox is empty, and returns how many it relayed. While another relay
    /// holds the turn it does not wait: it hands the work to its background loop, which tries
    /// again within milliseconds (see [`OutboxRelay::run`]).
    pub async fn relay_now(&self) -> anyhow::Result<usize> {
        match self.relay_until_empty().await? {
            Some(relayed) => Ok(relayed),
            None => {
                self.kick();
                Ok(0)
            }
        }
    }

    /// Pass after pass until one finds nothing, so that what is committed during a pass goes out
    /// in the next one rather than at the next poll: the committer's own relay may have found
    /// the turn taken. `None` when another relay held the turn at the first pass.
    async fn relay_until_empty(&self) -> anyhow::Result<Option<usize>> {
        let mut total = 0;
        loop {
            match self.store.relay_outbox(self.sink.as_ref(), BATCH).await? {
                None if total == 0 => return Ok(None),
                // Another relay took the turn after this one's pass: it sees all that is left.
                None | Some(0) => return Ok(Some(total)),
                Some(relayed) => total += relayed,
            }
        }
    }

    /// Relays whenever kicked, and every [`POLL`] in any case. While another relay holds the
    /// turn it tries again soon, backing off from [`BUSY_RETRY`] to [`POLL`]: events committed
    /// while that relay's last pass ran may be waiting for this one.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut busy_retry = BUSY_RETRY;
        loop {
            let wait = match self.relay_until_empty().await {
                Ok(Some(_)) => {
                    busy_retry = BUSY_RETRY;
                    POLL
                }
                Ok(None) => {
                    let wait = busy_retry;
                    busy_retry = (busy_retry * 2).min(POLL);
                    wait
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "outbox relay failed; retrying");
                    POLL
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
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
