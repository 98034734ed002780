//! Given each target's open bucket, when a batch of samples arrives, then which rollups it adds
//! to, which buckets it closes, and that hours and days read with the open bucket always equal
//! rolling up every sample at once.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::history::rollups_of;
use crate::sample::sample_id;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn sample(target: u128, slot: i64, success: bool) -> Sample {
    let target_id = Uuid::from_u128(target);
    Sample {
        id: sample_id(target_id, slot),
        target_id,
        slot,
        at: Utc.timestamp_millis_opt(slot).single().unwrap_or_default(),
        success,
        status_code: None,
        latency_ms: 1.0 + (slot % 97) as f64,
        error: None,
        prober: "test".into(),
        check_version: 1,
        pin_host_key: None,
    }
}

fn key(target: u128, step_s: u32, bucket: i64) -> RollupKey {
    RollupKey { target_id: Uuid::from_u128(target), step_s, bucket }
}

/// A store of rollups and open buckets that applies batches the way the projector does.
#[derive(Default)]
struct Model {
    rollups: BTreeMap<RollupKey, Rollup>,
    open: BTreeMap<Uuid, i64>,
}

impl Model {
    fn ingest(&mut self, batch: &[Sample]) {
        let refs: Vec<&Sample> = batch.iter().collect();
        let mut changes = rollup_changes(&refs, |id| self.open.get(&id).copied());
        for closed in changes.closed.clone() {
            let stored = self.rollups.get(&closed).cloned().unwrap_or_default();
            changes.fold(&closed, &stored);
        }
        for (key, addition) in changes.additions {
            self.rollups.entry(key).or_default().merge(&addition);
        }
        self.open.extend(changes.opened);
    }

    /// A rollup as readers see it: an hour or day adds the open bucket lying in it.
    fn read(&self, key: &RollupKey) -> Rollup {
        let mut rollup = self.rollups.get(key).cloned().unwrap_or_default();
        if let Some(open) = self.open.get(&key.target_id)
            && open_lies_in(*open, key.step_s, key.bucket)
        {
            let open_key = RollupKey { target_id: key.target_id, step_s: OPEN_STEP_S, bucket: *open };
            rollup.merge(&self.rollups.get(&open_key).cloned().unwrap_or_default());
        }
        rollup
    }
}

#[test]
fn samples_of_the_open_bucket_count_only_in_its_five_minutes() {
    // Given a target whose open bucket is 10:00–10:05,
    let open = 10 * HOUR;
    // when two samples of that bucket arrive,
    let batch = [sample(1, open + MINUTE, true), sample(1, open + 2 * MINUTE, false)];
    let refs: Vec<&Sample> = batch.iter().collect();
    let changes = rollup_changes(&refs, |_| Some(open));
    // then only its five-minute rollup grows, and nothing closes.
    assert_eq!(changes.additions.keys().copied().collect::<Vec<_>>(), vec![key(1, 300, open)]);
    assert_eq!(changes.additions[&key(1, 300, open)].samples, 2);
    assert!(changes.closed.is_empty());
    assert!(changes.opened.is_empty());
}

#[test]
fn a_sample_of_a_later_bucket_closes_the_open_one() {
    let open = 10 * HOUR;
    let later = open + 5 * MINUTE;
    let batch = [sample(1, later + MINUTE, true)];
    let refs: Vec<&Sample> = batch.iter().collect();
    let changes = rollup_changes(&refs, |_| Some(open));
    assert_eq!(changes.closed, vec![key(1, 300, open)]);
    assert_eq!(changes.opened.get(&Uuid::from_u128(1)), Some(&later));
    // The new sample is in the new open bucket: five minutes only.
    assert_eq!(changes.additions.keys().copied().collect::<Vec<_>>(), vec![key(1, 300, later)]);
}

#[test]
fn a_late_sample_counts_at_every_width_at_once() {
    let open = 10 * HOUR;
    let batch = [sample(1, open - 30 * MINUTE, true)];
    let refs: Vec<&Sample> = batch.iter().collect();
    let changes = rollup_changes(&refs, |_| Some(open));
    let keys: Vec<RollupKey> = changes.additions.keys().copied().collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(changes.additions.contains_key(&key(1, 3600, 9 * HOUR)));
    assert!(changes.additions.contains_key(&key(1, 86_400, 0)));
    assert!(changes.closed.is_empty() && changes.opened.is_empty());
}

#[test]
fn a_target_with_no_open_bucket_opens_its_newest() {
    let batch = [sample(1, 10 * HOUR + MINUTE, true), sample(1, 10 * HOUR + 7 * MINUTE, true)];
    let refs: Vec<&Sample> = batch.iter().collect();
    let changes = rollup_changes(&refs, |_| None);
    assert!(changes.closed.is_empty(), "nothing was open, so nothing is left to fold");
    assert_eq!(changes.opened.get(&Uuid::from_u128(1)), Some(&(10 * HOUR + 5 * MINUTE)));
    // The older sample's bucket is closed within the batch: every width.
    assert!(changes.additions.contains_key(&key(1, 3600, 10 * HOUR)));
    assert_eq!(changes.additions[&key(1, 3600, 10 * HOUR)].samples, 1);
    assert_eq!(changes.additions[&key(1, 300, 10 * HOUR + 5 * MINUTE)].samples, 1);
}

#[test]
fn folding_adds_the_closed_bucket_to_its_hour_and_day() {
    let mut changes = RollupChanges::default();
    let mut stored = Rollup::default();
    stored.add(true, 3.0);
    stored.add(false, 5.0);
    changes.fold(&key(1, 300, 25 * HOUR + 55 * MINUTE), &stored);
    assert_eq!(changes.additions[&key(1, 3600, 25 * HOUR)], stored);
    assert_eq!(changes.additions[&key(1, 86_400, 24 * HOUR)], stored);
    assert_eq!(changes.additions.len(), 2);
}

#[test]
fn readers_add_the_open_bucket_only_to_the_wider_buckets_it_lies_in() {
    let open = 10 * HOUR + 5 * MINUTE;
    assert!(open_lies_in(open, 3600, 10 * HOUR));
    assert!(open_lies_in(open, 86_400, 0));
    assert!(!open_lies_in(open, 3600, 9 * HOUR));
    assert!(!open_lies_in(open, 300, open), "a five-minute rollup counts its own samples");
}

proptest! {
    /// Whatever order and batching samples arrive in (late ones too), hours and days read with the
    /// open bucket equal rolling up every sample at once, and five-minute rollups are exact.
    #[test]
    fn read_rollups_equal_rolling_up_everything(
        slots in prop::collection::vec((0u128..3, 0i64..(3 * 24 * 60), any::<bool>()), 1..200),
        cuts in prop::collection::vec(1usize..40, 1..20),
    ) {
        let mut seen = std::collections::HashSet::new();
        let samples: Vec<Sample> = slots
            .into_iter()
            .filter(|(target, minute, _)| seen.insert((*target, *minute)))
            .map(|(target, minute, success)| sample(target, minute * MINUTE, success))
            .collect();
        let mut model = Model::default();
        let mut rest = samples.as_slice();
        let mut cut = cuts.iter().cycle();
        while !rest.is_empty() {
            let size = (*cut.next().unwrap_or(&1)).min(rest.len());
            let (batch, tail) = rest.split_at(size);
            model.ingest(batch);
            rest = tail;
        }
        let expected = rollups_of(samples.iter());
        for (key, rollup) in &expected {
            prop_assert_eq!(&model.read(key), rollup, "{:?}", key);
        }
    }
}
