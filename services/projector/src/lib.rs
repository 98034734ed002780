//! The projector role: the single writer of health. Consumes samples in batches, writes history,
//! applies the threshold state machine, records health changes, and acks only after commit. With
//! several projectors, only the one holding the lease works, fenced in the store by its epoch.

pub mod dead_letter;
pub mod lease;
pub mod meters;
pub mod plan_keeper;
pub mod retention;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::future::BoxFuture;
use healthmon_bus::{Delivery, DurableConsumer, EventBus, Stream};
use healthmon_domain::events::{decode_sample_traced, source};
use healthmon_domain::{Check, Sample};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::{Fenced, IngestOutcome, Store, modify_target};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::dead_letter::{Cause, DeadLetter};
pub use crate::lease::DEFAULT_LEASE_TTL;
use crate::lease::{Lease, LeaseConfig};
use crate::meters::{Meters, STATS_EVERY};
use crate::plan_keeper::PlanKeeper;
use crate::retention::HistoryRetention;

/// The durable consumer every projector instance shares.
pub const CONSUMER: &str = "projector";
const BATCH: usize = 1000;
const FETCH_WAIT: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often silent targets are looked for; staleness shows within 3 intervals plus this.
const STALE_SWEEP: Duration = Duration::from_secs(1);
/// A sweep scans every enabled target; at 100 000 of them it takes long enough that sweeping
/// every second would keep a core busy. Pausing this many times its duration keeps it at most
/// a fifth of one core.
const SWEEP_DUTY_RATIO: u32 = 4;

fn sweep_pause(last_sweep_took: Duration) -> Duration {
    STALE_SWEEP.max(last_sweep_took * SWEEP_DUTY_RATIO)
}

#[derive(Clone)]
pub struct Projector {
    store: Arc<dyn Store>,
    relay: OutboxRelay,
    instance: String,
    source: String,
    ack_wait: Duration,
    /// The epoch this projector claimed when it took the lease; `None` when it runs alone.
    fence: Option<i64>,
    meters: Meters,
    retention: HistoryRetention,
}

/// What one step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub received: usize,
    pub stored: usize,
    pub changes: usize,
    pub malformed: usize,
    /// Samples the store refused, set aside as dead letters.
    pub unstorable: usize,
}

impl Projector {
    /// `ack_wait`: how long a taken but unacked batch waits before it is delivered again.
    pub fn new(store: Arc<dyn Store>, relay: OutboxRelay, instance: &str, ack_wait: Duration) -> Self {
        Self {
            store,
            relay,
            instance: instance.to_string(),
            source: source("projector", instance),
            ack_wait,
            fence: None,
            meters: Meters::register(),
            retention: HistoryRetention::default(),
        }
    }

    /// How long history is kept ([`HistoryRetention::default`] unless set).
    pub fn with_retention(self, retention: HistoryRetention) -> Self {
        Self { retention, ..self }
    }

    pub async fn consumer(&self, bus: &dyn EventBus) -> anyhow::Result<Box<dyn DurableConsumer>> {
        bus.durable_consumer(Stream::Samples, CONSUMER, self.ack_wait).await.context("opening the samples consumer")
    }

    /// Marks silent targets stale (so a dead prober fleet cannot leave the dashboard green) and
    /// publishes those changes. Returns how many targets turned stale.
    pub async fn sweep_stale(&self) -> anyhow::Result<usize> {
        let changes = self
            .store
            .mark_stale_fenced(healthmon_store::now(), &self.source, self.fence)
            .await
            .context("marking stale targets")?;
        if !changes.is_empty() {
            tracing::info!(count = changes.len(), "targets turned stale");
            self.relay.kick();
        }
        Ok(changes.len())
    }

    async fn sweep_stale_until(self, shutdown: CancellationToken) {
        let mut pause = STALE_SWEEP;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
            let started = Instant::now();
            match self.sweep_stale().await {
                Err(error) if error.downcast_ref::<Fenced>().is_some() => {
                    tracing::warn!(error = %format!("{error:#}"), "another projector is active; standing down");
                    shutdown.cancel();
                    return;
                }
                Err(error) => tracing::warn!(error = %format!("{error:#}"), "staleness sweep failed"),
                Ok(_) => {}
            }
            pause = sweep_pause(started.elapsed());
        }
    }

    /// Works until `shutdown` fires: alone, at once; with a NATS lease, while holding it, standing
    /// by otherwise. Failures are retried with backoff, never fatal.
    pub async fn run(self, bus: Arc<dyn EventBus>, lease: LeaseConfig, shutdown: CancellationToken) {
        match lease {
            LeaseConfig::Solo => self.work(bus, shutdown).await,
            LeaseConfig::NatsKv { nats, ttl } => {
                let Some(lease) = self.open_lease(&nats, ttl, &shutdown).await else { return };
                self.take_turns(bus, lease, shutdown).await;
            }
        }
    }

    async fn open_lease(
        &self,
        nats: &healthmon_bus::NatsBus,
        ttl: Duration,
        shutdown: &CancellationToken,
    ) -> Option<Lease> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match Lease::open(nats, &self.instance, ttl).await {
                Ok(lease) => return Some(lease),
                Err(error) => tracing::warn!(error = %format!("{error:#}"), "could not open the projector lease"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = tokio::time::sleep(backoff) => backoff = (backoff * 2).min(MAX_BACKOFF),
            }
        }
    }

    /// Stands by until this projector holds the lease, works while it does, and stands by again
    /// when it loses it, until shutdown (which releases the lease for a standby to take at once).
    async fn take_turns(self, bus: Arc<dyn EventBus>, lease: Lease, shutdown: CancellationToken) {
        loop {
            tracing::info!(instance = %self.instance, "standing by for the projector lease");
            let Some(tenure) = lease.acquire(&shutdown).await else { return };
            let term = shutdown.child_token();
            // In this task, not spawned: killed with it, as a crash would, the lease lapses.
            let working = async {
                if let Some(epoch) = self.claim_fence(&term).await {
                    tracing::info!(instance = %self.instance, epoch, "became the active projector");
                    Self { fence: Some(epoch), ..self.clone() }.work(bus.clone(), term.clone()).await;
                }
                term.cancel();
            };
            tokio::join!(lease.hold(tenure, term.clone()), working);
            if shutdown.is_cancelled() {
                return;
            }
        }
    }

    /// Claims the next epoch in the store, so writes of any earlier holder fail from now on.
    async fn claim_fence(&self, term: &CancellationToken) -> Option<i64> {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.store.claim_fence(&self.instance).await {
                Ok(epoch) => return Some(epoch),
                Err(error) => tracing::warn!(error = %format!("{error:#}"), "could not claim the projector fence"),
            }
            tokio::select! {
                _ = term.cancelled() => return None,
                _ = tokio::time::sleep(backoff) => backoff = (backoff * 2).min(MAX_BACKOFF),
            }
        }
    }

    /// Consumes and sweeps for stale targets until `stop` fires or another projector fences this
    /// one off.
    async fn work(self, bus: Arc<dyn EventBus>, stop: CancellationToken) {
        let _active = self.meters.activate();
        let done = stop.child_token();
        let sweeping = self.clone().sweep_stale_until(done.clone());
        let keeping =
            PlanKeeper::new(self.store.clone(), bus.clone(), self.relay.clone(), &self.source).run(done.clone());
        let purging = retention::run(self.store.clone(), self.retention, done.clone());
        let consuming = async {
            self.consume(bus, done.clone()).await;
            done.cancel();
        };
        tokio::join!(sweeping, keeping, purging, consuming);
    }

    async fn consume(self, bus: Arc<dyn EventBus>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut consumer: Option<Box<dyn DurableConsumer>> = None;
        let mut stats_read_at: Option<Instant> = None;
        loop {
            let attempt = async {
                if consumer.is_none() {
                    let mut opened = self.consumer(bus.as_ref()).await?;
                    // Whatever was taken and never acked (by a crashed predecessor, or by this
                    // projector before a failed step) first, so each target's slots apply in order.
                    opened.reclaim_unacked().await.context("reclaiming unacked samples")?;
                    consumer = Some(opened);
                }
                match consumer.as_mut() {
                    Some(consumer) => {
                        let report = self.step(consumer.as_mut(), bus.as_ref()).await;
                        if stats_read_at.is_none_or(|at| at.elapsed() >= STATS_EVERY) {
                            stats_read_at = Some(Instant::now());
                            self.read_consumer_stats(consumer.as_mut()).await;
                        }
                        report
                    }
                    None => Ok(StepReport::default()),
                }
            };
            let result = tokio::select! {
                _ = shutdown.cancelled() => return,
                result = attempt => result,
            };
            match result {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(error) if error.downcast_ref::<Fenced>().is_some() => {
                    tracing::warn!(error = %format!("{error:#}"), "another projector is active; standing down");
                    return;
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), ?backoff, "projector step failed; retrying");
                    // A failed step may leave samples taken but unacked (a fetch that timed out
                    // after the server sent them, a batch that could not be stored). Left alone they
                    // would come back only after the ack wait, behind newer ones, and the state
                    // machine would skip them as late; reopening reclaims them in order instead.
                    consumer = None;
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// A failed read leaves the gauges at their last values; the next read may succeed.
    async fn read_consumer_stats(&self, consumer: &mut dyn DurableConsumer) {
        match consumer.stats().await {
            Ok(stats) => self.meters.consumer(stats),
            Err(error) => tracing::debug!(error = %format!("{error:#}"), "could not read the consumer's backlog"),
        }
    }

    /// Records the first host key a trust-on-first-use target met, once: later samples find it
    /// pinned. The change reaches probers as a `target.updated` event through the outbox.
    async fn pin_host_key(&self, sample: &Sample) -> anyhow::Result<()> {
        let Some(key) = &sample.pin_host_key else { return Ok(()) };
        let pinned = modify_target(self.store.as_ref(), sample.target_id, &self.source, |target| {
            let mut spec = target.spec.clone();
            match &mut spec.check {
                Check::Ssh(ssh) if ssh.trust_on_first_use && ssh.host_key_sha256.is_none() => {
                    ssh.host_key_sha256 = Some(key.clone());
                    Ok(Some(spec))
                }
                _ => Ok(None),
            }
        })
        .await
        .context("pinning the host key")?;
        if pinned {
            tracing::info!(target_id = %sample.target_id, host_key = %key, "pinned the host key on first use");
            self.relay.kick();
        }
        Ok(())
    }

    /// Fetches one batch, commits it, publishes the health changes it caused, then acks it. A
    /// message that can never be stored goes to the dead letters on `bus` instead of holding up
    /// the rest.
    pub async fn step(&self, consumer: &mut dyn DurableConsumer, bus: &dyn EventBus) -> anyhow::Result<StepReport> {
        let deliveries = consumer.fetch(BATCH, FETCH_WAIT).await.context("fetching samples")?;
        if deliveries.is_empty() {
            return Ok(StepReport::default());
        }
        let started = Instant::now();
        self.meters.received(&deliveries);
        let mut report = StepReport { received: deliveries.len(), ..StepReport::default() };
        let mut batch = Batch::default();
        let mut traces = Vec::new();
        for delivery in deliveries {
            match decode_sample_traced(&delivery.message.payload) {
                Ok((sample, trace)) => {
                    traces.extend(trace);
                    batch.samples.push(sample);
                    batch.deliveries.push(delivery);
                }
                Err(error) => {
                    report.malformed += 1;
                    tracing::warn!(%error, subject = %delivery.message.subject, "setting aside a malformed sample event");
                    set_aside(bus, delivery, Cause::Malformed, error.to_string()).await?;
                }
            }
        }
        let span = tracing::debug_span!("ingest", received = report.received, trace_ids = tracing::field::Empty);
        // The probes' trace ids, so a search for one finds this batch; built only when recorded.
        if !span.is_disabled() {
            let ids: Vec<String> = traces.iter().map(|trace| trace.trace_id()).collect();
            span.record("trace_ids", ids.join(","));
        }
        let report = self.commit(bus, batch, report).instrument(span).await?;
        self.meters.ingested(report.stored, started.elapsed());
        Ok(report)
    }

    async fn commit(&self, bus: &dyn EventBus, batch: Batch, mut report: StepReport) -> anyhow::Result<StepReport> {
        let stored = self.ingest_sharded(bus, batch).await?;
        report.stored = stored.outcome.stored;
        report.unstorable = stored.set_aside;
        for sample in stored.samples.iter().filter(|sample| sample.pin_host_key.is_some()) {
            if let Err(error) = self.pin_host_key(sample).await {
                tracing::warn!(error = %format!("{error:#}"), target_id = %sample.target_id, "could not pin a host key");
            }
        }
        report.changes = stored.outcome.changes.len();
        if !stored.outcome.changes.is_empty() {
            // Relayed beside the next batch rather than before its fetch: the committed outbox
            // holds them, so the ack need not wait for the bus to take them.
            let relay = self.relay.clone();
            tokio::spawn(async move {
                if let Err(error) = relay.relay_now().await {
                    tracing::warn!(error = %format!("{error:#}"), "health events wait in the outbox");
                    relay.kick();
                }
            });
        }
        for delivery in stored.deliveries {
            delivery.ack().await.context("acking samples")?;
        }
        tracing::debug!(stored = report.stored, changes = report.changes, "ingested a batch");
        Ok(report)
    }

    /// Stores the batch in as many concurrent transactions as the store is worth, each over its
    /// own targets, so that a target's samples stay in order in one of them. All of them are
    /// stored before anything is acked; should one fail, the step fails, and the others' samples,
    /// delivered again, change nothing.
    async fn ingest_sharded(&self, bus: &dyn EventBus, batch: Batch) -> anyhow::Result<Stored> {
        let shards = self.store.concurrent_ingests().max(1);
        if shards == 1 || batch.samples.len() < 2 {
            return self.ingest_isolating(bus, batch).await;
        }
        let mut parts: Vec<Batch> = (0..shards).map(|_| Batch::default()).collect();
        for (sample, delivery) in batch.samples.into_iter().zip(batch.deliveries) {
            let part = &mut parts[(sample.target_id.as_u128() % shards as u128) as usize];
            part.samples.push(sample);
            part.deliveries.push(delivery);
        }
        let storing =
            parts.into_iter().filter(|part| !part.samples.is_empty()).map(|part| self.ingest_isolating(bus, part));
        let mut stored = Stored::default();
        for part in futures::future::try_join_all(storing).await? {
            stored.absorb(part);
        }
        Ok(stored)
    }

    /// Stores the batch. When the store refuses it for what it holds, stores each half on its
    /// own, down to single samples: only a sample refused alone is set aside as a dead letter,
    /// and the others are stored in their order. Any other failure (the database is away) fails
    /// the whole step, to be retried.
    fn ingest_isolating<'a>(
        &'a self,
        bus: &'a dyn EventBus,
        mut batch: Batch,
    ) -> BoxFuture<'a, anyhow::Result<Stored>> {
        Box::pin(async move {
            let error = match self.store.ingest_fenced(&batch.samples, &self.source, self.fence).await {
                Ok(outcome) => {
                    return Ok(Stored { outcome, samples: batch.samples, deliveries: batch.deliveries, set_aside: 0 });
                }
                // Not nak'ed: a delayed redelivery would arrive behind newer samples. The caller
                // reopens the consumer, which delivers these again before anything newer.
                Err(error) if !healthmon_store::is_unstorable(&error) => return Err(error.context("storing samples")),
                Err(error) => error,
            };
            if batch.samples.len() == 1
                && let Some(delivery) = batch.deliveries.pop()
            {
                let reason = format!("{error:#}");
                tracing::warn!(%reason, subject = %delivery.message.subject, "setting aside a sample the store refuses");
                set_aside(bus, delivery, Cause::Unstorable, reason).await?;
                return Ok(Stored { set_aside: 1, ..Stored::default() });
            }
            let half = batch.samples.len() / 2;
            let second = Batch { samples: batch.samples.split_off(half), deliveries: batch.deliveries.split_off(half) };
            let mut stored = self.ingest_isolating(bus, batch).await?;
            stored.absorb(self.ingest_isolating(bus, second).await?);
            Ok(stored)
        })
    }
}

/// Samples in delivery order, each beside the delivery it came in.
#[derive(Default)]
struct Batch {
    samples: Vec<Sample>,
    deliveries: Vec<Delivery>,
}

/// What storing a batch did: the outcome, and the samples and deliveries it stored.
#[derive(Default)]
struct Stored {
    outcome: IngestOutcome,
    samples: Vec<Sample>,
    deliveries: Vec<Delivery>,
    set_aside: usize,
}

impl Stored {
    fn absorb(&mut self, later: Stored) {
        self.outcome.stored += later.outcome.stored;
        self.outcome.changes.extend(later.outcome.changes);
        self.samples.extend(later.samples);
        self.deliveries.extend(later.deliveries);
        self.set_aside += later.set_aside;
    }
}

/// Publishes the dead letter, then refuses the message for good: published first, so a crash in
/// between delivers the message again rather than losing it.
async fn set_aside(bus: &dyn EventBus, delivery: Delivery, cause: Cause, reason: String) -> anyhow::Result<()> {
    DeadLetter::new(&delivery.message, cause, reason).publish(bus).await.context("publishing a dead letter")?;
    delivery.term().await.context("refusing a sample set aside")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_sweeps_run_every_second_and_slow_ones_pause_four_times_as_long() {
        assert_eq!(sweep_pause(Duration::from_millis(20)), STALE_SWEEP);
        assert_eq!(sweep_pause(Duration::from_millis(250)), STALE_SWEEP);
        assert_eq!(sweep_pause(Duration::from_millis(600)), Duration::from_millis(2_400));
    }
}
