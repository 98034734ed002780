//! The prober's sample buffer: probes hand finished samples to it without waiting, and a
//! publisher drains it to the bus. While the bus is away it holds them, up to a bound beyond which
//! the oldest are dropped (counted, and logged in summary).

mod backoff;
mod publisher;
mod queue;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use metrics::{Counter, Gauge};
use tokio::sync::Notify;

pub use publisher::{FLUSH_LIMIT, MAX_IN_FLIGHT, publish_until_flushed};
pub use queue::{BoundedQueue, DropSummary};

/// How often, at most, a full buffer logs how many samples it dropped.
const DROP_REPORT_EVERY: Duration = Duration::from_secs(10);

const PUBLISHED_METRIC: &str = "healthmon_prober_samples_published_total";
const DROPPED_METRIC: &str = "healthmon_prober_samples_dropped_total";
const BUFFERED_METRIC: &str = "healthmon_prober_buffered_samples";

/// A finished sample, encoded and ready to publish.
#[derive(Debug, Clone)]
pub struct OutgoingSample {
    /// The subject key: the target id.
    pub key: String,
    /// The de-duplication id: the sample id, so a publish retried after a lost ack is stored once.
    pub msg_id: String,
    pub payload: Bytes,
}

/// Cheap to clone; clones share one buffer.
#[derive(Clone)]
pub struct SampleBuffer {
    shared: Arc<Shared>,
}

struct Shared {
    bound: usize,
    state: Mutex<State>,
    arrived: Notify,
    published: AtomicU64,
    dropped: AtomicU64,
    metrics: BufferMetrics,
}

struct State {
    queue: BoundedQueue<OutgoingSample>,
    drops: DropSummary,
}

/// The process-wide Prometheus series; with several probers in one process (tests) they add up.
struct BufferMetrics {
    published: Counter,
    dropped: Counter,
    /// Waiting and being published: every sample taken and not yet stored by the bus or dropped.
    buffered: Gauge,
}

impl BufferMetrics {
    fn register() -> Self {
        metrics::describe_counter!(PUBLISHED_METRIC, "Samples this process's probers published to the bus");
        metrics::describe_counter!(DROPPED_METRIC, "Samples dropped, oldest first, because the prober buffer was full");
        metrics::describe_gauge!(BUFFERED_METRIC, "Samples held by this process's probers and not yet published");
        Self {
            published: metrics::counter!(PUBLISHED_METRIC),
            dropped: metrics::counter!(DROPPED_METRIC),
            buffered: metrics::gauge!(BUFFERED_METRIC),
        }
    }
}

/// Totals of one buffer since it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferStats {
    pub published: u64,
    pub dropped: u64,
    /// Waiting to be published (not counting those being published now).
    pub waiting: usize,
}

impl SampleBuffer {
    /// A buffer holding at most `bound` samples waiting to be published.
    pub fn new(bound: usize) -> Self {
        let state = State { queue: BoundedQueue::new(bound), drops: DropSummary::new(DROP_REPORT_EVERY) };
        Self {
            shared: Arc::new(Shared {
                bound,
                state: Mutex::new(state),
                arrived: Notify::new(),
                published: AtomicU64::new(0),
                dropped: AtomicU64::new(0),
                metrics: BufferMetrics::register(),
            }),
        }
    }

    /// Adds a finished sample, dropping the oldest waiting one if the buffer is full. Never waits
    /// for the bus.
    pub fn push(&self, sample: OutgoingSample) {
        let mut state = self.lock();
        let dropped = state.queue.push_newest(sample);
        let report = dropped.is_some().then(|| state.drops.record(Instant::now())).flatten();
        drop(state);
        match dropped {
            Some(_) => self.count_drop(report),
            None => self.shared.metrics.buffered.increment(1.0),
        }
        self.shared.arrived.notify_one();
    }

    /// Takes the oldest waiting sample to publish; it stays counted as buffered until
    /// [`Self::published`] or [`Self::put_back`].
    fn take(&self) -> Option<OutgoingSample> {
        self.lock().queue.pop_oldest()
    }

    /// The bus has stored a sample taken earlier.
    fn published(&self) {
        self.shared.published.fetch_add(1, Ordering::Relaxed);
        self.shared.metrics.published.increment(1);
        self.shared.metrics.buffered.decrement(1.0);
    }

    /// A sample taken earlier could not be published: it waits again, ahead of newer ones, or is
    /// dropped if the buffer filled up meanwhile.
    fn put_back(&self, sample: OutgoingSample) {
        let mut state = self.lock();
        let dropped = state.queue.push_oldest(sample);
        let report = dropped.is_some().then(|| state.drops.record(Instant::now())).flatten();
        drop(state);
        if dropped.is_some() {
            // It had been counted in when first pushed.
            self.shared.metrics.buffered.decrement(1.0);
            self.count_drop(report);
        }
    }

    fn count_drop(&self, report: Option<u64>) {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        self.shared.metrics.dropped.increment(1);
        if let Some(count) = report {
            self.log_drops(count);
        }
    }

    /// Logs the drops not logged yet, if any.
    fn report_drops(&self) {
        let report = self.lock().drops.report(Instant::now());
        if let Some(count) = report {
            self.log_drops(count);
        }
    }

    fn log_drops(&self, count: u64) {
        tracing::warn!(
            dropped = count,
            bound = self.shared.bound,
            "sample buffer full while the bus is away: dropped the oldest samples"
        );
    }

    fn is_empty(&self) -> bool {
        self.lock().queue.is_empty()
    }

    /// Waits until a sample has been pushed since the last wait returned.
    async fn arrived(&self) {
        self.shared.arrived.notified().await;
    }

    pub fn stats(&self) -> BufferStats {
        BufferStats {
            published: self.shared.published.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            waiting: self.lock().queue.len(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; were it poisoned, the queue would still be whole.
        self.shared.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
