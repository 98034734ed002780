//! The health board: every target's status in memory, so the aggregate health check is a pointer
//! load and never touches the database or the bus. Fed by target and health events.

mod gauges;
mod keeper;
mod tally;

use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use healthmon_wire::health::{AggregateHealth, StatusCounts, Verdict};
use tokio::sync::{broadcast, mpsc};

use gauges::StatusGauges;
pub use gauges::TARGETS_METRIC;
pub use keeper::run_keeper;
pub use tally::{Aggregate, Counts, Tally};

/// A health change as it travels to SSE clients: the CloudEvent id and its JSON.
#[derive(Debug, Clone)]
pub struct HealthEvent {
    pub id: String,
    pub json: Bytes,
}

/// Clone-cheap handle: readers load the aggregate, the keeper stores new ones.
#[derive(Clone)]
pub struct HealthBoard {
    current: Arc<ArcSwap<Aggregate>>,
    events: broadcast::Sender<HealthEvent>,
    resync: mpsc::Sender<tokio::sync::oneshot::Sender<anyhow::Result<()>>>,
    gauges: StatusGauges,
}

impl HealthBoard {
    /// The board and the receiving end of resync requests, which its keeper serves.
    pub fn new() -> (Self, mpsc::Receiver<tokio::sync::oneshot::Sender<anyhow::Result<()>>>) {
        let (events, _) = broadcast::channel(1024);
        let (resync, requests) = mpsc::channel(8);
        let board = Self {
            current: Arc::new(ArcSwap::from_pointee(Aggregate::starting())),
            events,
            resync,
            gauges: StatusGauges::register(),
        };
        (board, requests)
    }

    pub fn load(&self) -> Arc<Aggregate> {
        self.current.load_full()
    }

    pub fn publish(&self, aggregate: Aggregate) {
        self.gauges.show(&aggregate.all);
        self.current.store(Arc::new(aggregate));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HealthEvent> {
        self.events.subscribe()
    }

    pub fn announce(&self, event: HealthEvent) {
        // No subscriber is fine: nobody is listening to the stream right now.
        let _ = self.events.send(event);
    }

    /// Rebuilds the board from the store; resolves when done.
    pub async fn resync(&self) -> anyhow::Result<()> {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        self.resync.send(done_tx).await.map_err(|_| anyhow::anyhow!("the health board is not running"))?;
        done_rx.await.map_err(|_| anyhow::anyhow!("the health board stopped during resync"))?
    }
}

impl Default for Aggregate {
    fn default() -> Self {
        Self::starting()
    }
}

/// Renders the `/healthz` body once per change rather than once per request.
pub fn render(counts: &Counts) -> Bytes {
    let body = AggregateHealth {
        status: if counts.passing() { Verdict::Pass } else { Verdict::Fail },
        total: Some(counts.total()),
        counts: Some(StatusCounts {
            healthy: counts.healthy,
            unhealthy: counts.unhealthy,
            unknown: counts.unknown,
            stale: counts.stale,
            paused: counts.paused,
        }),
        reason: None,
    };
    // Plain data of our own: serializing it cannot fail.
    Bytes::from(serde_json::to_vec(&body).unwrap_or_default())
}
