//! Keeps the targets stream complete. The store is the plan's source of truth; the stream, from
//! which every prober rebuilds its plan, can lose it: the in-process bus forgets everything when
//! the process exits, and a NATS server can restart without its data, or its stream be deleted or
//! purged. The active projector (one at a time, so the comparison runs once per deployment)
//! compares the two every few seconds and republishes, through the outbox, every stored target
//! the stream has no word on.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use healthmon_bus::{EventBus, Stream};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::Store;
use metrics::Counter;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How often the stream is compared with the store.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);
/// Targets per republish transaction, so a store of 100 000 targets is not one huge write.
const REPUBLISH_CHUNK: usize = 1000;
pub const REPUBLISHED_METRIC: &str = "healthmon_plan_targets_republished_total";

/// The stored targets the stream has no word on.
pub fn missing_from_stream(stored: &[Uuid], stream_keys: &HashSet<Uuid>) -> Vec<Uuid> {
    stored.iter().copied().filter(|id| !stream_keys.contains(id)).collect()
}

/// Which of the `missing` targets to republish now (comparisons are made only while no target
/// event waits in the outbox). At the first comparison, every one: a target republished
/// needlessly costs one event. Later, only those missing twice in a row: one created between the
/// outbox check and the reads may be on its way still.
pub fn to_republish(missing: &[Uuid], missing_before: Option<&HashSet<Uuid>>) -> Vec<Uuid> {
    missing.iter().copied().filter(|id| missing_before.is_none_or(|before| before.contains(id))).collect()
}

/// Compares the store and the targets stream, one [`PlanKeeper::check`] at a time.
pub struct PlanKeeper {
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    relay: OutboxRelay,
    source: String,
    /// Stored targets the stream lacked at the last comparison; `None` before the first.
    missing_before: Option<HashSet<Uuid>>,
    republished: Counter,
}

impl PlanKeeper {
    pub fn new(store: Arc<dyn Store>, bus: Arc<dyn EventBus>, relay: OutboxRelay, source: &str) -> Self {
        metrics::describe_counter!(
            REPUBLISHED_METRIC,
            "Stored targets republished because the targets stream had lost them"
        );
        Self {
            store,
            bus,
            relay,
            source: source.to_owned(),
            missing_before: None,
            republished: metrics::counter!(REPUBLISHED_METRIC),
        }
    }

    /// One comparison; returns how many targets it republished.
    pub async fn check(&mut self) -> anyhow::Result<usize> {
        // While the relay works through a backlog of target events (say thousands of targets just
        // created), the stream lags the store by design: compare only once it has caught up.
        if self.store.target_events_pending().await.context("looking for target events in the outbox")? {
            return Ok(0);
        }
        // The stream keeps a word on every target it ever heard of (a deleted one's too), so it
        // cannot count fewer keys than the store has targets unless it lost some: the cheap test
        // first, and the full comparison (every id and every key) only when it fails.
        let stored_count = self.store.target_count().await.context("counting the stored targets")?;
        let stream_count = self.bus.key_count(Stream::Targets).await.context("counting the targets stream's keys")?;
        if stream_count >= stored_count {
            self.missing_before = Some(HashSet::new());
            return Ok(0);
        }
        let stored = self.store.target_ids().await.context("reading the stored target ids")?;
        let stream_keys: HashSet<Uuid> = self
            .bus
            .keys(Stream::Targets)
            .await
            .context("reading the targets stream's keys")?
            .iter()
            .filter_map(|key| Uuid::try_parse(key).ok())
            .collect();
        let missing = missing_from_stream(&stored, &stream_keys);
        let republish = to_republish(&missing, self.missing_before.as_ref());
        self.missing_before = Some(missing.into_iter().collect());
        if republish.is_empty() {
            return Ok(0);
        }
        let mut count = 0;
        for chunk in republish.chunks(REPUBLISH_CHUNK) {
            count += self.store.republish_targets(chunk, &self.source).await.context("republishing targets")?;
        }
        tracing::warn!(count, "the targets stream lacked stored targets; republished them from the store");
        self.republished.increment(count as u64);
        self.relay.kick();
        // Once republished they are on their way: not missing "twice in a row" next time.
        self.missing_before = Some(HashSet::new());
        Ok(count)
    }

    /// Compares at once, then every [`CHECK_EVERY`], until `stop` fires.
    pub async fn run(mut self, stop: CancellationToken) {
        loop {
            if let Err(error) = self.check().await {
                tracing::warn!(error = %format!("{error:#}"), "could not compare the targets stream with the store");
            }
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(CHECK_EVERY) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(count: usize) -> Vec<Uuid> {
        (0..count).map(|_| Uuid::now_v7()).collect()
    }

    #[test]
    fn given_an_empty_stream_at_the_first_comparison_then_every_stored_target_is_republished() {
        let stored = ids(3);
        let missing = missing_from_stream(&stored, &HashSet::new());
        assert_eq!(to_republish(&missing, None), stored);
    }

    #[test]
    fn given_a_target_missing_for_the_first_time_later_on_then_it_waits_one_more_comparison() {
        let stored = ids(2);
        let stream_keys: HashSet<Uuid> = [stored[0]].into();
        let missing = missing_from_stream(&stored, &stream_keys);
        assert!(to_republish(&missing, Some(&HashSet::new())).is_empty());
        let missing_before: HashSet<Uuid> = [stored[1]].into();
        assert_eq!(to_republish(&missing, Some(&missing_before)), vec![stored[1]]);
    }

    #[test]
    fn given_a_complete_stream_then_nothing_is_republished() {
        let stored = ids(4);
        let stream_keys: HashSet<Uuid> = stored.iter().copied().collect();
        let missing = missing_from_stream(&stored, &stream_keys);
        assert!(to_republish(&missing, None).is_empty());
    }
}
