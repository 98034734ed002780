//! The delivery worker: claims due deliveries with a lease, sends each to its notifier's receiver,
//! and records how it went — delivered, tried again later with backoff, or given up. Any number of
//! workers share the queue: a claim is exclusive until its lease runs out, so a worker killed
//! mid-send only delays its deliveries until another (or its restart) claims them again.
//!
//! It works as a pipeline, so that a burst goes at the pace of the receiver rather than of the
//! store: up to `batch` sends are in flight at once, the claim is topped up as they finish (never
//! waiting for the slowest of a batch), and a recorder task writes the outcomes a batch per
//! statement while the next sends go out.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use healthmon_domain::alerting::retry::next_attempt;
use healthmon_domain::alerting::{NotificationEvent, NotifierSpec};
use healthmon_store::Store;
use healthmon_store::alerting::{AttemptOutcome, DeliveryRecord};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::meters;
use crate::send::Sender;

/// How often the pending queue's gauges are brought up to date.
const QUEUE_GAUGES_EVERY: Duration = Duration::from_secs(1);
/// Outcomes written by one statement at most.
const RECORD_BATCH: usize = 256;
/// After a failed write of outcomes (the database away), before the next try.
const RECORD_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The name this worker's leases are held under; unique per process.
    pub holder: String,
    /// How long a claim is exclusive. Well above the 10 s a send may take, so a live worker never
    /// loses a delivery it is still sending.
    pub lease: Duration,
    /// Sends in flight at once; as many again may wait claimed ahead of them.
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

/// A claimed delivery with its notifier (`None` once the notifier is deleted).
type Claimed = (DeliveryRecord, Option<NotifierSpec>);

pub struct Worker {
    store: Arc<dyn Store>,
    sender: Arc<Sender>,
    config: WorkerConfig,
}

impl Worker {
    pub fn new(store: Arc<dyn Store>, sender: Arc<Sender>, config: WorkerConfig) -> Self {
        Self { store, sender, config }
    }

    /// One step of the pipeline, whole: claims a batch, sends it, records it; returns how many
    /// deliveries it attempted.
    pub async fn work_once(&self) -> anyhow::Result<usize> {
        let claimed = self.claim(self.config.batch).await?;
        let outcomes = futures::future::join_all(
            claimed
                .iter()
                .map(|(delivery, spec)| async move { (delivery.id, self.attempt(delivery, spec.as_ref()).await) }),
        )
        .await;
        self.store.record_attempts(&self.config.holder, &outcomes).await?;
        Ok(outcomes.len())
    }

    /// Leases up to `limit` due deliveries, each with its notifier (read once per claim).
    async fn claim(&self, limit: u32) -> anyhow::Result<Vec<Claimed>> {
        let now = healthmon_store::now();
        let lease_until = now + chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::minutes(1));
        let claimed = self.store.claim_deliveries(&self.config.holder, now, lease_until, limit).await?;
        let mut notifiers: HashMap<Uuid, Option<NotifierSpec>> = HashMap::new();
        for delivery in &claimed {
            if let std::collections::hash_map::Entry::Vacant(entry) = notifiers.entry(delivery.notifier_id) {
                entry.insert(self.store.get_notifier(delivery.notifier_id).await?.map(|record| record.spec));
            }
        }
        Ok(claimed
            .into_iter()
            .map(|delivery| {
                let spec = notifiers.get(&delivery.notifier_id).cloned().flatten();
                (delivery, spec)
            })
            .collect())
    }

    /// Sends one delivery and says what it came to (recording is the caller's).
    async fn attempt(&self, delivery: &DeliveryRecord, spec: Option<&NotifierSpec>) -> AttemptOutcome {
        let Some(spec) = spec else {
            return AttemptOutcome::Failed {
                status_code: None,
                error: "the notifier was deleted".to_owned(),
                at: healthmon_store::now(),
            };
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
        outcome
    }

    /// Works the queue until `shutdown`, then sends what it has claimed and records it.
    /// Claims when `queued` is notified, when a recorded batch may have freed a delivery waiting
    /// on it (a resolve behind its trigger), on every poll, and while the last claim came back
    /// full. Sends run as tasks of their own (`batch` at most) and a claim runs beside them, so
    /// neither waits for the other: once no more than `batch` deliveries are in flight or waiting,
    /// it claims up to twice that, less what it holds.
    pub async fn run(self, queued: Arc<Notify>, shutdown: CancellationToken) {
        let worker = Arc::new(self);
        let (outcomes, recording) = mpsc::unbounded_channel();
        // Sent or being sent, and not yet recorded: a claim that hands one back (its lease ran out
        // while the database refused the outcome) must not send it again, or its late outcome,
        // recorded under this same holder, would let its resolve overtake the second send.
        let unrecorded: Unrecorded = Arc::default();
        let recorder =
            tokio::spawn(worker.clone().record(recording, unrecorded.clone(), queued.clone(), shutdown.clone()));
        let room = worker.config.batch.max(1) as usize;
        let mut sending: JoinSet<(Uuid, AttemptOutcome)> = JoinSet::new();
        // Claimed ahead, up to another `room`, so that sends never wait for a claim.
        let mut ready: VecDeque<Claimed> = VecDeque::new();
        let mut claiming: Option<BoxFuture<'static, (usize, anyhow::Result<Vec<Claimed>>)>> = None;
        let mut more_due = true;
        let mut stopping = false;
        let mut poll = tokio::time::interval(worker.config.poll);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut measured_at: Option<tokio::time::Instant> = None;
        loop {
            while sending.len() < room
                && let Some((delivery, spec)) = ready.pop_front()
            {
                if !lock(&unrecorded).insert(delivery.id) {
                    continue;
                }
                let worker = worker.clone();
                sending.spawn(async move {
                    // A panic becomes an outcome, so that the delivery leaves `unrecorded`.
                    let attempt = std::panic::AssertUnwindSafe(worker.attempt(&delivery, spec.as_ref()));
                    let outcome = attempt.catch_unwind().await.unwrap_or_else(|_| stopped(&delivery));
                    (delivery.id, outcome)
                });
            }
            let held = sending.len() + ready.len();
            if claiming.is_none() && more_due && !stopping && held <= room {
                more_due = false;
                let worker = worker.clone();
                let asked = 2 * room - held;
                claiming = Some(Box::pin(async move { (asked, worker.claim(asked as u32).await) }));
            }
            if measured_at.is_none_or(|at| at.elapsed() >= QUEUE_GAUGES_EVERY) {
                // A count over the pending deliveries: once a second is enough, and keeps that
                // query off the path of a delivery that just arrived.
                measured_at = Some(tokio::time::Instant::now());
                if let Ok(stats) = worker.store.queue_stats().await {
                    meters::queue(stats, healthmon_store::now());
                }
            }
            if stopping && sending.is_empty() && ready.is_empty() && claiming.is_none() {
                break;
            }
            tokio::select! {
                (asked, claimed) = finished(&mut claiming) => {
                    claiming = None;
                    match claimed {
                        Ok(claimed) => {
                            // Or-ed: a wake-up that came while the claim ran still counts.
                            more_due |= claimed.len() == asked;
                            ready.extend(claimed);
                        }
                        Err(error) => {
                            tracing::warn!(error = %format!("{error:#}"), "claiming deliveries failed; trying again");
                        }
                    }
                }
                Some(done) = sending.join_next() => match done {
                    // The recorder lives until this sender is dropped, below.
                    Ok(done) => { let _ = outcomes.send(done); }
                    // Only when the task is cancelled: a panic is an outcome (see `stopped`).
                    Err(error) => tracing::warn!(error = %error, "a delivery attempt stopped"),
                },
                _ = queued.notified() => more_due = true,
                _ = poll.tick() => more_due = true,
                _ = shutdown.cancelled(), if !stopping => stopping = true,
            }
        }
        drop(outcomes);
        if let Err(error) = recorder.await {
            tracing::warn!(error = %error, "the delivery recorder stopped");
        }
    }

    /// Writes outcomes as they come, as many per statement as have come meanwhile, until the
    /// worker drops its end. A write that fails is tried again, until `shutdown`: the deliveries
    /// it would have recorded are sent again once their leases run out (at least once, with the
    /// same `webhook-id`).
    async fn record(
        self: Arc<Self>,
        mut outcomes: mpsc::UnboundedReceiver<(Uuid, AttemptOutcome)>,
        unrecorded: Unrecorded,
        recorded: Arc<Notify>,
        shutdown: CancellationToken,
    ) {
        let mut batch = Vec::with_capacity(RECORD_BATCH);
        while outcomes.recv_many(&mut batch, RECORD_BATCH).await > 0 {
            while let Err(error) = self.record_batch(&batch).await {
                tracing::warn!(error = %format!("{error:#}"), "recording delivery attempts failed");
                if shutdown.is_cancelled() {
                    break;
                }
                tokio::time::sleep(RECORD_RETRY).await;
            }
            let mut sent = lock(&unrecorded);
            for (id, _) in &batch {
                sent.remove(id);
            }
            drop(sent);
            batch.clear();
            recorded.notify_one();
        }
    }

    /// Records a batch in one statement. Should that fail while the database answers (one row it
    /// refuses), each is recorded on its own, so the rest are stored; a row refused alone is left
    /// to its lease. An error only when nothing could be recorded.
    async fn record_batch(&self, batch: &[(Uuid, AttemptOutcome)]) -> anyhow::Result<()> {
        let holder = &self.config.holder;
        let Err(error) = self.store.record_attempts(holder, batch).await else {
            return Ok(());
        };
        if batch.len() < 2 {
            return Err(error);
        }
        let mut refused = Vec::new();
        for attempt in batch {
            if let Err(error) = self.store.record_attempts(holder, std::slice::from_ref(attempt)).await {
                refused.push((attempt.0, error));
            }
        }
        if refused.len() == batch.len() {
            return Err(error);
        }
        for (id, error) in refused {
            tracing::warn!(delivery_id = %id, error = %format!("{error:#}"), "an attempt could not be recorded; it is sent again once its lease runs out");
        }
        Ok(())
    }
}

/// The outcome of an attempt that panicked: tried again as after any failure.
fn stopped(delivery: &DeliveryRecord) -> AttemptOutcome {
    let error = "the attempt stopped unexpectedly".to_owned();
    let at = healthmon_store::now();
    match next_attempt(delivery.attempts + 1, at, delivery.give_up_at) {
        Some(next_attempt_at) => AttemptOutcome::Retry { status_code: None, error, next_attempt_at },
        None => AttemptOutcome::Failed { status_code: None, error, at },
    }
}

/// The deliveries a worker has sent or is sending whose outcome is not recorded yet.
type Unrecorded = Arc<std::sync::Mutex<std::collections::HashSet<Uuid>>>;

/// The set, even if a thread panicked holding it (its contents are still right).
fn lock(unrecorded: &Unrecorded) -> std::sync::MutexGuard<'_, std::collections::HashSet<Uuid>> {
    unrecorded.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What the claim in flight came to; never, while none is.
async fn finished<T>(claiming: &mut Option<BoxFuture<'static, T>>) -> T {
    match claiming {
        Some(claim) => claim.await,
        None => std::future::pending().await,
    }
}
