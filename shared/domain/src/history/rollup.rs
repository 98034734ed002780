//! A rollup: what a bucket of samples comes to, small enough to keep for a year. Counts,
//! successes, latency sum, minimum and maximum, and a fixed histogram of latencies from which
//! percentiles are read back within 10 % of the exact value. Rollups merge (a day is its hours),
//! so every window is answered from a few rows instead of every sample.

use std::collections::BTreeMap;

use uuid::Uuid;

use super::cover::{ROLLUP_STEPS_S, bucket_of_slot};
use crate::Sample;

/// Each bucket's upper bound is this many times its lower one. A percentile is read as the
/// geometric middle of its bucket, so it is off by at most √1.2 − 1 ≈ 9.5 % of the exact value.
const GROWTH: f64 = 1.2;
/// Latencies at or below this (ms) share the first bucket.
const SMALLEST_MS: f64 = 0.1;
/// Buckets in a histogram: the last one holds everything from about 10 minutes up.
pub const BUCKETS: usize = 88;

/// The bucket a latency falls in.
pub fn bucket_of(latency_ms: f64) -> usize {
    // NaN, negatives and infinities cannot come from a probe; they are counted, not lost.
    if latency_ms.is_nan() || latency_ms <= SMALLEST_MS {
        return 0;
    }
    if latency_ms.is_infinite() {
        return BUCKETS - 1;
    }
    let index = ((latency_ms / SMALLEST_MS).ln() / GROWTH.ln()).ceil();
    (index as usize).min(BUCKETS - 1)
}

/// The value a percentile falling in `bucket` is read as: its geometric middle.
fn representative(bucket: usize) -> f64 {
    if bucket == 0 {
        return SMALLEST_MS;
    }
    let upper = SMALLEST_MS * GROWTH.powi(bucket as i32);
    upper / GROWTH.sqrt()
}

/// What a set of samples comes to.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    pub samples: u64,
    pub successes: u64,
    pub latency_sum_ms: f64,
    /// `f64::INFINITY` while empty, so that merging needs no special case.
    pub latency_min_ms: f64,
    /// `f64::NEG_INFINITY` while empty.
    pub latency_max_ms: f64,
    pub histogram: [u64; BUCKETS],
}

impl Default for Rollup {
    fn default() -> Self {
        Self {
            samples: 0,
            successes: 0,
            latency_sum_ms: 0.0,
            latency_min_ms: f64::INFINITY,
            latency_max_ms: f64::NEG_INFINITY,
            histogram: [0; BUCKETS],
        }
    }
}

impl Rollup {
    pub fn of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Self {
        let mut rollup = Rollup::default();
        for sample in samples {
            rollup.add(sample.success, sample.latency_ms);
        }
        rollup
    }

    pub fn add(&mut self, success: bool, latency_ms: f64) {
        self.samples += 1;
        self.successes += u64::from(success);
        self.latency_sum_ms += latency_ms;
        self.latency_min_ms = self.latency_min_ms.min(latency_ms);
        self.latency_max_ms = self.latency_max_ms.max(latency_ms);
        self.histogram[bucket_of(latency_ms)] += 1;
    }

    pub fn merge(&mut self, other: &Rollup) {
        self.samples += other.samples;
        self.successes += other.successes;
        self.latency_sum_ms += other.latency_sum_ms;
        self.latency_min_ms = self.latency_min_ms.min(other.latency_min_ms);
        self.latency_max_ms = self.latency_max_ms.max(other.latency_max_ms);
        for (mine, theirs) in self.histogram.iter_mut().zip(other.histogram.iter()) {
            *mine += theirs;
        }
    }

    /// successes / samples; `None` with no sample.
    pub fn uptime(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.successes as f64 / self.samples as f64)
    }

    pub fn mean_ms(&self) -> Option<f64> {
        (self.samples > 0).then(|| self.latency_sum_ms / self.samples as f64)
    }

    pub fn min_ms(&self) -> Option<f64> {
        (self.samples > 0).then_some(self.latency_min_ms)
    }

    pub fn max_ms(&self) -> Option<f64> {
        (self.samples > 0).then_some(self.latency_max_ms)
    }

    /// The nearest-rank `quantile` (0 < q ≤ 1) read from the histogram, within the minimum and
    /// maximum seen; `None` with no sample.
    pub fn percentile_ms(&self, quantile: f64) -> Option<f64> {
        if self.samples == 0 {
            return None;
        }
        let rank = ((quantile.clamp(0.0, 1.0) * self.samples as f64).ceil() as u64).max(1);
        let mut seen = 0;
        let bucket = self.histogram.iter().position(|count| {
            seen += count;
            seen >= rank
        })?;
        Some(representative(bucket).clamp(self.latency_min_ms, self.latency_max_ms))
    }
}

/// Which stored rollup a sample counts in at one width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub target_id: Uuid,
    pub step_s: u32,
    /// The first slot of the bucket (ms since the Unix epoch).
    pub bucket: i64,
}

/// What `samples` add to each rollup they count in, at every width rollups are kept at.
pub fn rollups_of<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> BTreeMap<RollupKey, Rollup> {
    let mut rollups: BTreeMap<RollupKey, Rollup> = BTreeMap::new();
    for sample in samples {
        for step_s in ROLLUP_STEPS_S {
            let key = RollupKey { target_id: sample.target_id, step_s, bucket: bucket_of_slot(sample.slot, step_s) };
            rollups.entry(key).or_default().add(sample.success, sample.latency_ms);
        }
    }
    rollups
}

impl Rollup {
    /// The histogram's non-empty buckets, `(bucket, count)` ascending: how it is stored.
    pub fn sparse_histogram(&self) -> Vec<(usize, u64)> {
        self.histogram
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(bucket, count)| (bucket, *count))
            .collect()
    }

    /// A stored rollup read back; a bucket beyond the histogram's last is counted in the last.
    pub fn from_stored(
        samples: u64,
        successes: u64,
        latency_sum_ms: f64,
        latency_min_ms: f64,
        latency_max_ms: f64,
        sparse_histogram: &[(usize, u64)],
    ) -> Rollup {
        let mut histogram = [0; BUCKETS];
        for (bucket, count) in sparse_histogram {
            histogram[(*bucket).min(BUCKETS - 1)] += count;
        }
        Rollup { samples, successes, latency_sum_ms, latency_min_ms, latency_max_ms, histogram }
    }
}

#[cfg(test)]
mod tests;
