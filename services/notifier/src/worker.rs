//! The delivery worker: claims due deliveries with a lease, sends each to its notifier's receiver,
//! and records how it went — delivered, tried again later with backoff, or given up. Any number of
//! workers share the queue: a claim is exclusive until its lease runs out, so a worker killed
//! mid-send only delays its deliveries until another (or its restart) claims them again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use healthmon_domain::alerting::retry::next_attempt;
use healthmon_domain::alerting::{NotificationEvent, NotifierSpec};
use healthmon_store::Store;
use healthmon_store::alerting::{AttemptOutcome, DeliveryRecord};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::meters;
use crate::send::Sender;

/// How often the pending queue's gauges are brought up to date.
const QUEUE_GAUGES_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The name this worker's leases are held under; unique per process.
    pub holder: String,
    /// How long a claim is exclusive. Well above the 10 s a send may take, so a live worker never
    /// loses a delivery it is still sending.
    pub lease: Duration,
    /// Deliveries claimed (and sent concurrently) at once.
    pub batch: u32,
    /// How often the queue is looked at when nothing wakes the worker (retries fall due with time,
    /// and tests queued by another process's API arrive unannounced).
    pub poll: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            holder: "notifier".to_owned(),
            lease: Duration::from_secs(60),
            batch: 64,
            poll: Duration::from_millis(250),
        }
    }
}

pub struct Worker {
    store: Arc<dyn Store>,
    sender: Arc<Sender>,
    config: WorkerConfig,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, sender: Arc<Sender>, config: WorkerConfig) -> Self {
        Self { store, sender, config }
    }

    /// Claims one batch and works it; returns how many deliveries it attempted.
    pub async fn work_once(&self) -> anyhow::Result<usize> {
        let now = healthmon_store::now();
        let lease_until = now + chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::minutes(1));
        let claimed = self.store.claim_deliveries(&self.config.holder, now, lease_until, self.config.batch).await?;
        let mut notifiers: HashMap<Uuid, Option<NotifierSpec>> = HashMap::new();
        for delivery in &claimed {
            if let std::collections::hash_map::Entry::Vacant(entry) = notifiers.entry(delivery.notifier_id) {
                entry.insert(self.store.get_notifier(delivery.notifier_id).await?.map(|record| record.spec));
            }
        }
        let attempts = claimed.iter().map(|delivery| self.attempt(delivery, notifiers.get(&delivery.notifier_id)));
        let results = join_all(attempts).await;
        let count = results.len();
        for result in results {
            result?;
        }
        Ok(count)
    }

    async fn attempt(&self, delivery: &DeliveryRecord, spec: Option<&Option<NotifierSpec>>) -> anyhow::Result<()> {
        let Some(Some(spec)) = spec else {
            let outcome = AttemptOutcome::Failed {
                status_code: None,
                error: "the notifier was deleted".to_owned(),
                at: healthmon_store::now(),
            };
            self.store.record_attempt(delivery.id, &self.config.holder, &outcome).await?;
            return Ok(());
        };
        let kind = spec.kind().as_str();
        let started = healthmon_store::now();
        if delivery.attempts == 0 && delivery.event != NotificationEvent::Test {
            let waited = (started - delivery.context.health.at).to_std().unwrap_or_default();
            meters::change_to_request(waited);
        }
        let attempt = self.sender.send(delivery.notifier_id, spec, delivery.id, &delivery.context, started).await;
        let at = healthmon_store::now();
        meters::attempted(kind, if attempt.delivered() { "ok" } else { "error" });
        let outcome = match attempt.error {
            None => AttemptOutcome::Delivered { status_code: attempt.status_code, at },
            Some(error) => match next_attempt(delivery.attempts + 1, at, delivery.give_up_at) {
                Some(next_attempt_at) => {
                    AttemptOutcome::Retry { status_code: attempt.status_code, error, next_attempt_at }
                }
                None => AttemptOutcome::Failed { status_code: attempt.status_code, error, at },
            },
        };
        match &outcome {
            AttemptOutcome::Delivered { .. } => meters::finished(kind, "delivered"),
            AttemptOutcome::Failed { .. } => meters::finished(kind, "failed"),
            AttemptOutcome::Retry { .. } => {}
        }
        self.store.record_attempt(delivery.id, &self.config.holder, &outcome).await?;
        Ok(())
    }

    /// Works the queue until `shutdown`: at once when `queued` is notified, else every poll.
    pub async fn run(self, queued: Arc<Notify>, shutdown: CancellationToken) {
        // The queue's gauges cost a count over the pending deliveries: once a second is enough,
        // and keeps that query off the path of a delivery that just arrived.
        let mut measured_at: Option<tokio::time::Instant> = None;
        loop {
            let worked = match self.work_once().await {
                Ok(count) => count,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "delivery worker failed; trying again");
                    0
                }
            };
            if measured_at.is_none_or(|at| at.elapsed() >= QUEUE_GAUGES_EVERY) {
                measured_at = Some(tokio::time::Instant::now());
                if let Ok(stats) = self.store.queue_stats().await {
                    meters::queue(stats, healthmon_store::now());
                }
            }
            if worked > 0 {
                continue;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = queued.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }
}
