//! The projector's Prometheus series: throughput, batch time, whether this process is the active
//! projector, and the samples consumer's backlog as the bus reports it.

use std::time::Duration;

use healthmon_bus::{ConsumerStats, Delivery};
use metrics::{Counter, Gauge, Histogram};

pub const RECEIVED_METRIC: &str = "healthmon_projector_samples_received_total";
pub const INGESTED_METRIC: &str = "healthmon_projector_samples_ingested_total";
pub const REDELIVERED_METRIC: &str = "healthmon_projector_redeliveries_total";
pub const BATCH_DURATION_METRIC: &str = "healthmon_projector_batch_duration_seconds";
pub const ACTIVE_METRIC: &str = "healthmon_projector_active";
pub const PENDING_METRIC: &str = "healthmon_projector_consumer_pending";
pub const ACK_PENDING_METRIC: &str = "healthmon_projector_consumer_ack_pending";
pub const CONSUMER_REDELIVERED_METRIC: &str = "healthmon_projector_consumer_redelivered";

/// How often the active projector asks the bus for the consumer's backlog: a round trip to
/// JetStream each time, so not once per batch.
pub const STATS_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Meters {
    received: Counter,
    ingested: Counter,
    redelivered: Counter,
    batch_duration: Histogram,
    active: Gauge,
    pending: Gauge,
    ack_pending: Gauge,
    consumer_redelivered: Gauge,
}

impl Meters {
    pub fn register() -> Self {
        // The series go nowhere unless the recorder is installed first.
        healthmon_runtime::metrics::install();
        metrics::describe_counter!(RECEIVED_METRIC, "Sample deliveries the projector took from the bus");
        metrics::describe_counter!(INGESTED_METRIC, "Samples the projector stored (duplicates excluded)");
        metrics::describe_counter!(REDELIVERED_METRIC, "Sample deliveries that were not the first of their message");
        metrics::describe_histogram!(
            BATCH_DURATION_METRIC,
            metrics::Unit::Seconds,
            "Time from fetching a batch of samples to acking it"
        );
        metrics::describe_counter!(
            crate::dead_letter::DEAD_LETTERS_METRIC,
            "Sample messages set aside on the dead-letter stream, by reason (malformed, unstorable)"
        );
        metrics::describe_gauge!(ACTIVE_METRIC, "1 while this process's projector is the active one");
        metrics::describe_gauge!(PENDING_METRIC, "Samples in the stream not yet delivered to the projector");
        metrics::describe_gauge!(ACK_PENDING_METRIC, "Samples delivered to the projector and not yet acked");
        metrics::describe_gauge!(CONSUMER_REDELIVERED_METRIC, "Unacked samples delivered more than once");
        let active = metrics::gauge!(ACTIVE_METRIC);
        // Shown as 0 by a standby that never became active, rather than missing.
        active.increment(0.0);
        Self {
            received: metrics::counter!(RECEIVED_METRIC),
            ingested: metrics::counter!(INGESTED_METRIC),
            redelivered: metrics::counter!(REDELIVERED_METRIC),
            batch_duration: metrics::histogram!(BATCH_DURATION_METRIC),
            active,
            pending: metrics::gauge!(PENDING_METRIC),
            ack_pending: metrics::gauge!(ACK_PENDING_METRIC),
            consumer_redelivered: metrics::gauge!(CONSUMER_REDELIVERED_METRIC),
        }
    }

    pub fn received(&self, deliveries: &[Delivery]) {
        self.received.increment(deliveries.len() as u64);
        let again = deliveries.iter().filter(|delivery| delivery.delivered > 1).count();
        if again > 0 {
            self.redelivered.increment(again as u64);
        }
    }

    pub fn ingested(&self, stored: usize, took: Duration) {
        self.ingested.increment(stored as u64);
        self.batch_duration.record(took.as_secs_f64());
    }

    pub fn consumer(&self, stats: ConsumerStats) {
        self.pending.set(stats.pending as f64);
        self.ack_pending.set(stats.ack_pending as f64);
        self.consumer_redelivered.set(stats.redelivered as f64);
    }

    /// Counts this process as active until the guard is dropped, however the term ends.
    pub fn activate(&self) -> ActiveGuard {
        self.active.increment(1.0);
        ActiveGuard(self.clone())
    }
}

/// Incremented and decremented rather than set, so two projectors in one process (as in tests)
/// never leave the gauge at 0 while one of them is active.
pub struct ActiveGuard(Meters);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.decrement(1.0);
        // The new active projector reports the backlog now; a sum over processes must not count it twice.
        self.0.consumer(ConsumerStats::default());
    }
}
