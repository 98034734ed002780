//! Runs every planned target on its own grid of slots, at most one probe in flight per target.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use healthmon_domain::Target;
use healthmon_domain::schedule::{next_slot_after, slot_offset_ms};
use metrics::Gauge;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::time::{DelayQueue, delay_queue};
use uuid::Uuid;

use crate::plan::PlanChange;

/// Runs one probe for (target, slot); the scheduler spawns it and waits for nothing.
pub trait ProbeLauncher: Send + Sync + 'static {
    fn launch(&self, target: Arc<Target>, slot_ms: i64, done: ProbeDone);
}

/// Dropped when the probe is finished, telling the scheduler the target is free again.
pub struct ProbeDone {
    target_id: Uuid,
    finished: mpsc::UnboundedSender<Uuid>,
}

impl Drop for ProbeDone {
    fn drop(&mut self) {
        let _ = self.finished.send(self.target_id);
    }
}

struct Entry {
    target: Arc<Target>,
    key: delay_queue::Key,
    slot_ms: i64,
    in_flight: bool,
}

pub const OWNED_TARGETS_METRIC: &str = "healthmon_prober_owned_targets";

pub struct Scheduler<L> {
    launcher: L,
    /// Moved by each scheduler's own changes rather than set, so several probers in one process
    /// (as in tests) add up instead of overwriting each other.
    owned: Gauge,
    entries: HashMap<Uuid, Entry>,
    queue: DelayQueue<Uuid>,
    finished_tx: mpsc::UnboundedSender<Uuid>,
    finished_rx: mpsc::UnboundedReceiver<Uuid>,
}

impl<L: ProbeLauncher> Scheduler<L> {
    pub fn new(launcher: L) -> Self {
        let (finished_tx, finished_rx) = mpsc::unbounded_channel();
        metrics::describe_gauge!(OWNED_TARGETS_METRIC, "Targets the probers of this process own and probe");
        Self {
            launcher,
            owned: metrics::gauge!(OWNED_TARGETS_METRIC),
            entries: HashMap::new(),
            queue: DelayQueue::new(),
            finished_tx,
            finished_rx,
        }
    }

    pub async fn run(mut self, mut plan: mpsc::Receiver<PlanChange>, shutdown: CancellationToken) {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                change = plan.recv() => match change {
                    Some(change) => self.apply(change),
                    None => return,
                },
                Some(expired) = self.queue.next(), if !self.queue.is_empty() => self.fire(expired.into_inner()),
                Some(target_id) = self.finished_rx.recv() => {
                    if let Some(entry) = self.entries.get_mut(&target_id) {
                        entry.in_flight = false;
                    }
                }
            }
        }
    }

    pub fn apply(&mut self, change: PlanChange) {
        match change {
            PlanChange::Upsert(target) => {
                let now = Utc::now().timestamp_millis();
                let slot_ms = first_slot(&target, now);
                let delay = delay_until(slot_ms, now);
                match self.entries.get_mut(&target.id) {
                    Some(entry) => {
                        // Keep the slot when the grid is unchanged, so an edit never skips or repeats one.
                        if entry.target.spec.interval_s != target.spec.interval_s {
                            entry.slot_ms = slot_ms;
                            self.queue.reset(&entry.key, delay);
                        }
                        entry.target = target;
                    }
                    None => {
                        let key = self.queue.insert(target.id, delay);
                        self.entries.insert(target.id, Entry { target, key, slot_ms, in_flight: false });
                        self.owned.increment(1.0);
                    }
                }
            }
            PlanChange::Remove(id) => {
                if let Some(entry) = self.entries.remove(&id) {
                    self.queue.try_remove(&entry.key);
                    self.owned.decrement(1.0);
                }
            }
        }
    }

    fn fire(&mut self, target_id: Uuid) {
        let Some(entry) = self.entries.get_mut(&target_id) else { return };
        let now = Utc::now().timestamp_millis();
        if !entry.in_flight {
            entry.in_flight = true;
            let done = ProbeDone { target_id, finished: self.finished_tx.clone() };
            self.launcher.launch(entry.target.clone(), entry.slot_ms, done);
        }
        // The next slot on the grid after now: a probe that overran skips slots rather than queueing them.
        let interval_ms = interval_ms(&entry.target);
        entry.slot_ms = next_slot_after(now.max(entry.slot_ms), interval_ms, slot_offset_ms(target_id, interval_ms));
        entry.key = self.queue.insert(target_id, delay_until(entry.slot_ms, now));
    }
}

impl<L> Drop for Scheduler<L> {
    fn drop(&mut self) {
        self.owned.decrement(self.entries.len() as f64);
    }
}

fn interval_ms(target: &Target) -> i64 {
    i64::from(target.spec.interval_s) * 1000
}

fn first_slot(target: &Target, now_ms: i64) -> i64 {
    let interval = interval_ms(target);
    next_slot_after(now_ms, interval, slot_offset_ms(target.id, interval))
}

fn delay_until(slot_ms: i64, now_ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(slot_ms - now_ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use healthmon_domain::target::parse_spec;

    use super::*;

    struct NoProbes;

    impl ProbeLauncher for NoProbes {
        fn launch(&self, _target: Arc<Target>, _slot_ms: i64, _done: ProbeDone) {}
    }

    fn target(interval_s: u32) -> Target {
        let spec = parse_spec(&serde_json::json!({
            "name": "t", "kind": "tcp", "host": "localhost", "port": 1, "interval_s": interval_s
        }))
        .expect("a valid spec");
        Target::create(spec, Utc::now())
    }

    #[tokio::test]
    async fn given_a_planned_target_when_upserted_again_unchanged_then_its_slot_stays() {
        let mut scheduler = Scheduler::new(NoProbes);
        let planned = target(3600);
        scheduler.apply(PlanChange::Upsert(Arc::new(planned.clone())));
        let slot_before = scheduler.entries[&planned.id].slot_ms;
        // A slot already on the books that a re-plan must not move (a fresh plan would pick another).
        let kept_slot = slot_before - 3_600_000;
        scheduler.entries.get_mut(&planned.id).expect("planned").slot_ms = kept_slot;

        scheduler.apply(PlanChange::Upsert(Arc::new(planned.clone())));

        assert_eq!(scheduler.entries.len(), 1);
        assert_eq!(scheduler.entries[&planned.id].slot_ms, kept_slot);
    }

    #[tokio::test]
    async fn given_a_planned_target_when_its_interval_changes_then_it_moves_to_the_new_grid() {
        let mut scheduler = Scheduler::new(NoProbes);
        let planned = target(3600);
        scheduler.apply(PlanChange::Upsert(Arc::new(planned.clone())));
        let stale_slot = scheduler.entries[&planned.id].slot_ms - 3_600_000;
        scheduler.entries.get_mut(&planned.id).expect("planned").slot_ms = stale_slot;
        let faster = Target { spec: target(60).spec, ..planned.clone() };

        scheduler.apply(PlanChange::Upsert(Arc::new(faster)));

        assert_ne!(scheduler.entries[&planned.id].slot_ms, stale_slot);
    }
}
