//! The notifier role: follows the stored health changes, turns them into incidents and deliveries
//! (one store transaction per turn), and works the delivery queue, sending each notification to
//! its receiver and retrying until it is delivered or given up.
//!
//! Its source of truth is the store, never the bus: the cursor over the stored transitions, the
//! incidents and the queue all live there, so a process killed at any point loses nothing, and
//! health events on the bus only wake it up sooner than its poll would.

pub mod decide;
mod meters;
pub mod send;
mod turns;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use healthmon_bus::EventBus;
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::Store;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use turns::turn_once;
pub use worker::{Worker, WorkerConfig};

/// How the role runs.
#[derive(Clone)]
pub struct NotifierConfig {
    /// This process's name: the holder of its delivery leases and the source of its events.
    pub instance: String,
    /// How long a delivery is retried before it is `failed`.
    pub give_up_after: Duration,
    pub sender: Arc<send::Sender>,
}

/// Runs the role until `shutdown`: the turns (health changes into deliveries) and the worker
/// (deliveries to receivers), each in its own task, the first waking the second.
pub async fn run(
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    relay: OutboxRelay,
    config: NotifierConfig,
    shutdown: CancellationToken,
) {
    let queued = Arc::new(Notify::new());
    let policy = decide::Policy {
        give_up_after: chrono::Duration::from_std(config.give_up_after).unwrap_or(chrono::Duration::days(1)),
        source: healthmon_domain::events::source("notifier", &config.instance),
    };
    let turns = turns::run(store.clone(), bus, relay, policy, queued.clone(), shutdown.clone());
    let worker = Worker::new(
        store,
        config.sender,
        WorkerConfig {
            holder: format!("{}-{}", config.instance, uuid::Uuid::new_v4().simple()),
            ..WorkerConfig::default()
        },
    );
    let working = worker.run(queued, shutdown);
    tokio::join!(turns, working);
}
