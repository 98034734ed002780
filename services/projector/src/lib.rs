//! The projector role: the single writer of health. Consumes samples in batches, writes history,
//! applies the threshold state machine, records health changes, and acks only after commit.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use healthmon_bus::{Delivery, DurableConsumer, EventBus, Stream};
use healthmon_domain::events::{decode_sample, source};
use healthmon_domain::{Check, Sample};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::{Store, modify_target};
use tokio_util::sync::CancellationToken;

/// The durable consumer every projector instance shares.
pub const CONSUMER: &str = "projector";
const BATCH: usize = 1000;
const FETCH_WAIT: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// How often silent targets are looked for; staleness shows within 3 intervals plus this.
const STALE_SWEEP: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Projector {
    store: Arc<dyn Store>,
    relay: OutboxRelay,
    source: String,
    ack_wait: Duration,
}

/// What one step did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepReport {
    pub received: usize,
    pub stored: usize,
    pub changes: usize,
    pub malformed: usize,
}

impl Projector {
    /// `ack_wait`: how long a taken but unacked batch waits before it is delivered again.
    pub fn new(store: Arc<dyn Store>, relay: OutboxRelay, instance: &str, ack_wait: Duration) -> Self {
        Self { store, relay, source: source("projector", instance), ack_wait }
    }

    pub async fn consumer(&self, bus: &dyn EventBus) -> anyhow::Result<Box<dyn DurableConsumer>> {
        bus.durable_consumer(Stream::Samples, CONSUMER, self.ack_wait).await.context("opening the samples consumer")
    }

    /// Marks silent targets stale (so a dead prober fleet cannot leave the dashboard green) and
    /// publishes those changes. Returns how many targets turned stale.
    pub async fn sweep_stale(&self) -> anyhow::Result<usize> {
        let changes =
            self.store.mark_stale(healthmon_store::now(), &self.source).await.context("marking stale targets")?;
        if !changes.is_empty() {
            tracing::info!(count = changes.len(), "targets turned stale");
            self.relay.kick();
        }
        Ok(changes.len())
    }

    async fn sweep_stale_until(self, shutdown: CancellationToken) {
        let mut ticks = tokio::time::interval(STALE_SWEEP);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {
                    if let Err(error) = self.sweep_stale().await {
                        tracing::warn!(error = %format!("{error:#}"), "staleness sweep failed");
                    }
                }
            }
        }
    }

    /// Consumes until `shutdown` fires; failures are retried with backoff, never fatal. Sweeps for
    /// stale targets alongside.
    pub async fn run(self, bus: Arc<dyn EventBus>, shutdown: CancellationToken) {
        let sweeper = tokio::spawn(self.clone().sweep_stale_until(shutdown.clone()));
        self.consume(bus, shutdown).await;
        sweeper.abort();
    }

    async fn consume(self, bus: Arc<dyn EventBus>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        let mut consumer: Option<Box<dyn DurableConsumer>> = None;
        loop {
            let attempt = async {
                if consumer.is_none() {
                    consumer = Some(self.consumer(bus.as_ref()).await?);
                }
                match consumer.as_mut() {
                    Some(consumer) => self.step(consumer.as_mut()).await,
                    None => Ok(StepReport::default()),
                }
            };
            let result = tokio::select! {
                _ = shutdown.cancelled() => return,
                result = attempt => result,
            };
            match result {
                Ok(_) => backoff = Duration::from_millis(100),
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), ?backoff, "projector step failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
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

    /// Fetches one batch, commits it, publishes the health changes it caused, then acks it.
    pub async fn step(&self, consumer: &mut dyn DurableConsumer) -> anyhow::Result<StepReport> {
        let deliveries = consumer.fetch(BATCH, FETCH_WAIT).await.context("fetching samples")?;
        if deliveries.is_empty() {
            return Ok(StepReport::default());
        }
        let mut report = StepReport { received: deliveries.len(), ..StepReport::default() };
        let mut samples: Vec<Sample> = Vec::with_capacity(deliveries.len());
        let mut accepted: Vec<Delivery> = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            match decode_sample(&delivery.message.payload) {
                Ok(sample) => {
                    samples.push(sample);
                    accepted.push(delivery);
                }
                Err(error) => {
                    report.malformed += 1;
                    tracing::warn!(%error, subject = %delivery.message.subject, "dropping a malformed sample event");
                    delivery.term().await.context("refusing a malformed sample")?;
                }
            }
        }
        let outcome = match self.store.ingest(&samples, &self.source).await {
            Ok(outcome) => outcome,
            Err(error) => {
                for delivery in accepted {
                    let _ = delivery.nak(Duration::from_secs(1)).await;
                }
                return Err(error.context("storing samples"));
            }
        };
        report.stored = outcome.stored;
        for sample in samples.iter().filter(|sample| sample.pin_host_key.is_some()) {
            if let Err(error) = self.pin_host_key(sample).await {
                tracing::warn!(error = %format!("{error:#}"), target_id = %sample.target_id, "could not pin a host key");
            }
        }
        report.changes = outcome.changes.len();
        if !outcome.changes.is_empty() {
            // Published before the ack; should this fail, the committed outbox still holds them.
            if let Err(error) = self.relay.relay_now().await {
                tracing::warn!(error = %format!("{error:#}"), "health events wait in the outbox");
                self.relay.kick();
            }
        }
        for delivery in accepted {
            delivery.ack().await.context("acking samples")?;
        }
        Ok(report)
    }
}
