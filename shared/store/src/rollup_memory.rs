//! What the newest rollups this process wrote hold, so that the next batch merges into them
//! without reading them back: at one sample per target per batch, reading each of a batch's
//! rollups cost as much as writing them.
//!
//! Never trusted blindly: a remembered rollup is written back only where the stored row still has
//! the sample count remembered (`ProjectionTx::replace_rollups_if_unchanged`). Rows only ever grow
//! by fresh samples, so an equal count means nobody else wrote the row since; anything else (another
//! projector took a turn, the purge deleted it) falls back to reading the row.

use std::collections::HashMap;
use std::sync::Mutex;

use healthmon_domain::history::{Rollup, RollupKey};
use uuid::Uuid;

/// Rollups remembered at most: the newest bucket at each width for 100,000 targets. Each takes
/// about 100 bytes with a handful of latency buckets in use.
const CAPACITY: usize = 300_000;

/// The newest bucket written per (target, width), by this process, after its commit.
#[derive(Default)]
pub struct RollupMemory {
    newest: Mutex<HashMap<(Uuid, u32), Remembered>>,
}

struct Remembered {
    bucket: i64,
    samples: u64,
    successes: u64,
    latency_sum_ms: f64,
    latency_min_ms: f64,
    latency_max_ms: f64,
    histogram: Box<[(u8, u64)]>,
}

impl RollupMemory {
    /// The rollup last written for `key`, if it is the newest bucket remembered at its width.
    pub(crate) fn recall(&self, key: &RollupKey) -> Option<Rollup> {
        let newest = self.newest.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let remembered = newest.get(&(key.target_id, key.step_s)).filter(|found| found.bucket == key.bucket)?;
        let sparse: Vec<(usize, u64)> =
            remembered.histogram.iter().map(|(bucket, count)| (usize::from(*bucket), *count)).collect();
        Some(Rollup::from_stored(
            remembered.samples,
            remembered.successes,
            remembered.latency_sum_ms,
            remembered.latency_min_ms,
            remembered.latency_max_ms,
            &sparse,
        ))
    }

    /// Remembers what a committed transaction wrote; an older bucket never replaces a newer one.
    pub(crate) fn remember(&self, written: &[(RollupKey, Rollup)]) {
        let mut newest = self.newest.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (key, rollup) in written {
            let slot = (key.target_id, key.step_s);
            match newest.get(&slot) {
                Some(found) if found.bucket > key.bucket => continue,
                None if newest.len() >= CAPACITY => continue,
                _ => {}
            }
            let histogram = rollup
                .sparse_histogram()
                .into_iter()
                .filter_map(|(bucket, count)| u8::try_from(bucket).ok().map(|bucket| (bucket, count)))
                .collect();
            newest.insert(
                slot,
                Remembered {
                    bucket: key.bucket,
                    samples: rollup.samples,
                    successes: rollup.successes,
                    latency_sum_ms: rollup.latency_sum_ms,
                    latency_min_ms: rollup.latency_min_ms,
                    latency_max_ms: rollup.latency_max_ms,
                    histogram,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bucket: i64) -> RollupKey {
        RollupKey { target_id: Uuid::nil(), step_s: 300, bucket }
    }

    fn rollup(latencies: &[f64]) -> Rollup {
        let mut rollup = Rollup::default();
        for latency in latencies {
            rollup.add(true, *latency);
        }
        rollup
    }

    #[test]
    fn recalls_what_was_remembered_for_the_same_bucket_only() {
        let memory = RollupMemory::default();
        let written = rollup(&[1.0, 2.5, 700.0]);
        memory.remember(&[(key(300_000), written.clone())]);
        assert_eq!(memory.recall(&key(300_000)), Some(written));
        assert_eq!(memory.recall(&key(600_000)), None);
    }

    #[test]
    fn an_older_bucket_does_not_replace_a_newer_one() {
        let memory = RollupMemory::default();
        memory.remember(&[(key(600_000), rollup(&[1.0]))]);
        memory.remember(&[(key(300_000), rollup(&[2.0]))]);
        assert_eq!(memory.recall(&key(300_000)), None);
        assert_eq!(memory.recall(&key(600_000)), Some(rollup(&[1.0])));
    }
}
