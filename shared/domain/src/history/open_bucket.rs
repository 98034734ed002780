//! The open bucket: each target's newest five-minute bucket is counted only in its five-minute
//! rollup, and folded into its hour and day once a sample of a later bucket arrives. Ingest then
//! rewrites one rollup per sample instead of three; readers of hours and days add the open
//! bucket's five-minute rollup to the wider bucket it lies in (see [`open_lies_in`]).
//!
//! The invariant, for every target: its hour and day rollups count every stored sample except
//! those in its open bucket, which its five-minute rollup counts like any other.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::cover::{ROLLUP_STEPS_S, bucket_of_slot};
use super::rollup::{Rollup, RollupKey};
use crate::Sample;

/// The width of the bucket kept open: the narrowest rollup.
pub const OPEN_STEP_S: u32 = 300;

/// What a batch of fresh samples does to the rollups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupChanges {
    /// What the batch adds to each rollup it touches.
    pub additions: BTreeMap<RollupKey, Rollup>,
    /// Five-minute rollups the batch closes: each one's stored content (before this batch) is to
    /// be added to its hour and day with [`RollupChanges::fold`].
    pub closed: Vec<RollupKey>,
    /// The targets whose open bucket moved, and where to.
    pub opened: BTreeMap<Uuid, i64>,
}

/// What `samples` change, given each target's open bucket before them (`None`: every sample it
/// has is counted at every width).
pub fn rollup_changes(samples: &[&Sample], open_before: impl Fn(Uuid) -> Option<i64>) -> RollupChanges {
    let mut newest: HashMap<Uuid, i64> = HashMap::new();
    for sample in samples {
        let bucket = bucket_of_slot(sample.slot, OPEN_STEP_S);
        newest.entry(sample.target_id).and_modify(|seen| *seen = (*seen).max(bucket)).or_insert(bucket);
    }
    let mut changes = RollupChanges::default();
    let mut open_after: HashMap<Uuid, i64> = HashMap::with_capacity(newest.len());
    for (target_id, newest_bucket) in newest {
        let before = open_before(target_id);
        let after = before.map_or(newest_bucket, |open| open.max(newest_bucket));
        open_after.insert(target_id, after);
        if before != Some(after) {
            changes.opened.insert(target_id, after);
            if let Some(open) = before {
                changes.closed.push(RollupKey { target_id, step_s: OPEN_STEP_S, bucket: open });
            }
        }
    }
    changes.closed.sort_unstable();
    for sample in samples {
        let open_bucket = bucket_of_slot(sample.slot, OPEN_STEP_S);
        let is_open = open_after.get(&sample.target_id) == Some(&open_bucket);
        for step_s in ROLLUP_STEPS_S {
            if is_open && step_s != OPEN_STEP_S {
                continue;
            }
            let key = RollupKey { target_id: sample.target_id, step_s, bucket: bucket_of_slot(sample.slot, step_s) };
            changes.additions.entry(key).or_default().add(sample.success, sample.latency_ms);
        }
    }
    changes
}

impl RollupChanges {
    /// Adds a closed five-minute rollup's stored content to the hour and day it lies in.
    pub fn fold(&mut self, closed: &RollupKey, stored: &Rollup) {
        for step_s in ROLLUP_STEPS_S.into_iter().filter(|step_s| *step_s != OPEN_STEP_S) {
            let key = RollupKey { target_id: closed.target_id, step_s, bucket: bucket_of_slot(closed.bucket, step_s) };
            self.additions.entry(key).or_default().merge(stored);
        }
    }
}

/// For readers of hour and day rollups: whether the open bucket `open` of a target is to be
/// added to the bucket of `step_s` starting at `bucket`.
pub fn open_lies_in(open: i64, step_s: u32, bucket: i64) -> bool {
    step_s != OPEN_STEP_S && bucket_of_slot(open, step_s) == bucket
}

#[cfg(test)]
mod tests;
