//! The projection's transactions, written once for both backends: ingest (history, health,
//! transitions and events of a batch of samples) and the staleness sweep. Each backend supplies
//! only its SQL, through the small seam [`ProjectionTx`]; what the statements mean is decided by
//! the domain's rules (`healthmon_domain::projection`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::events::HealthChanged;
use healthmon_domain::history::{OPEN_STEP_S, Rollup, RollupChanges, RollupKey, rollup_changes};
use healthmon_domain::projection::{self, Change, ProjectedTarget};
use healthmon_domain::{HealthState, Sample};
use uuid::Uuid;

use crate::common::PendingOutbox;
use crate::rollup_memory::RollupMemory;
use crate::{IngestOutcome, TargetRecord};

/// The batch's targets as locked: each one's projection state, and the open rollup bucket of
/// those that have one (see `healthmon_domain::history::open_bucket`).
pub(crate) type LockedTargets = (BTreeMap<Uuid, ProjectedTarget>, HashMap<Uuid, i64>);

/// One write transaction of a backend, statement by statement.
#[async_trait]
pub(crate) trait ProjectionTx: Send + Sized {
    /// Fails with [`crate::Fenced`] unless `fence` is still the newest epoch (nothing to check for `None`).
    async fn check_fence(&mut self, fence: Option<i64>) -> anyhow::Result<()>;
    /// Locks and reads the health of those of `ids` (ascending) that exist, and the open rollup
    /// bucket of those that have one.
    async fn lock_projected(&mut self, ids: &[Uuid]) -> anyhow::Result<LockedTargets>;
    /// Stores the samples as history; returns the (target, slot) of those not stored before.
    async fn insert_samples(&mut self, samples: &[&Sample]) -> anyhow::Result<HashSet<(Uuid, i64)>>;
    /// Reads those of the rollups that exist.
    async fn read_rollups(&mut self, keys: &[RollupKey]) -> anyhow::Result<HashMap<RollupKey, Rollup>>;
    /// Inserts or replaces these rollups.
    async fn write_rollups(&mut self, rollups: &[(RollupKey, Rollup)]) -> anyhow::Result<()>;
    /// Replaces each of these rollups whose stored row still counts the given number of samples;
    /// returns the keys replaced (a row changed or deleted since is left alone).
    async fn replace_rollups_if_unchanged(
        &mut self,
        rollups: &[(RollupKey, Rollup, u64)],
    ) -> anyhow::Result<HashSet<RollupKey>>;
    /// Rewrites these targets' health rows; those in `opened` also get that open rollup bucket
    /// (the others keep theirs).
    async fn write_health(&mut self, rows: &[(Uuid, &HealthState)], opened: &BTreeMap<Uuid, i64>)
    -> anyhow::Result<()>;
    /// Locks and reads the enabled, not yet stale targets with no sample (or change) for
    /// [`projection::STALE_AFTER_INTERVALS`] of their intervals before `now`. A target whose row
    /// an ingest holds is receiving samples right now, so a backend may skip it.
    async fn lock_silent(&mut self, now: DateTime<Utc>) -> anyhow::Result<Vec<TargetRecord>>;
    /// Records the status changes' transitions, in order.
    async fn insert_transitions(&mut self, changes: &[Change]) -> anyhow::Result<()>;
    /// Appends the events to the outbox, in order.
    async fn insert_events(&mut self, events: &[PendingOutbox]) -> anyhow::Result<()>;
    async fn commit(self) -> anyhow::Result<()>;
}

/// In one transaction: stores the samples of existing targets (a known (target, slot) is
/// skipped), adds the fresh ones to their rollups, applies them in slot order to each target's
/// state machine, stores the new health, and records each status change as a transition and a
/// `health.changed` outbox event. Only fresh samples touch rollups, so a replay changes nothing.
/// The rollups written are remembered once committed, for the next batch to merge into.
pub(crate) async fn ingest(
    mut tx: impl ProjectionTx,
    samples: &[Sample],
    source: &str,
    fence: Option<i64>,
    memory: &RollupMemory,
) -> anyhow::Result<IngestOutcome> {
    let mut target_ids: Vec<Uuid> = samples.iter().map(|sample| sample.target_id).collect();
    target_ids.sort_unstable();
    target_ids.dedup();

    tx.check_fence(fence).await?;
    let (mut targets, open_buckets) = tx.lock_projected(&target_ids).await?;
    let known: Vec<&Sample> = samples.iter().filter(|sample| targets.contains_key(&sample.target_id)).collect();
    let mut inserted = tx.insert_samples(&known).await?;
    let stored = inserted.len();
    // `remove` also drops a second copy of the same sample within the batch.
    let fresh: Vec<&Sample> =
        known.into_iter().filter(|sample| inserted.remove(&(sample.target_id, sample.slot))).collect();
    let changes = rollup_changes(&fresh, |id| open_buckets.get(&id).copied());
    let opened = changes.opened.clone();
    let rollups = add_to_rollups(&mut tx, changes, memory).await?;

    let projected = projection::apply_samples(&mut targets, fresh);
    // A target whose open bucket moved gets its row written even if its health stayed the same.
    let mut rewritten: BTreeSet<Uuid> = projected.changed_health.iter().copied().collect();
    rewritten.extend(opened.keys().copied());
    let rows: Vec<(Uuid, &HealthState)> =
        rewritten.iter().filter_map(|id| targets.get(id).map(|target| (*id, &target.health))).collect();
    tx.write_health(&rows, &opened).await?;
    record_changes(&mut tx, &projected.changes, source).await?;
    tx.commit().await?;
    memory.remember(&rollups);
    Ok(IngestOutcome { stored, changes: projected.changes.into_iter().map(|change| change.event).collect() })
}

/// Merges what the batch adds (and the buckets it closes) into the stored rollups; returns them
/// as written. A closed bucket is read as stored before the batch and folded into its hour and
/// day. A rollup this process wrote last is merged from memory and replaced only if nobody wrote
/// it since; the others are read first. The batch holds its targets' health rows locked, so no
/// other ingest can touch these rollups in between the read and the write.
async fn add_to_rollups(
    tx: &mut impl ProjectionTx,
    mut changes: RollupChanges,
    memory: &RollupMemory,
) -> anyhow::Result<Vec<(RollupKey, Rollup)>> {
    if !changes.closed.is_empty() {
        let closed = std::mem::take(&mut changes.closed);
        let stored = tx.read_rollups(&closed).await?;
        for key in &closed {
            if let Some(rollup) = stored.get(key) {
                changes.fold(key, rollup);
            }
        }
    }
    if changes.additions.is_empty() {
        return Ok(Vec::new());
    }
    // Remembered rollups, merged with what the batch adds (kept beside, should the guard fail).
    let mut guarded: Vec<(RollupKey, Rollup, u64)> = Vec::new();
    let mut guarded_additions = Vec::new();
    let mut to_read = Vec::new();
    for (key, addition) in changes.additions {
        match memory.recall(&key) {
            Some(mut merged) => {
                let expected = merged.samples;
                merged.merge(&addition);
                guarded.push((key, merged, expected));
                guarded_additions.push(addition);
            }
            None => to_read.push((key, addition)),
        }
    }
    let replaced = tx.replace_rollups_if_unchanged(&guarded).await?;
    let mut written: Vec<(RollupKey, Rollup)> = Vec::with_capacity(guarded.len() + to_read.len());
    for ((key, merged, _), addition) in guarded.into_iter().zip(guarded_additions) {
        if replaced.contains(&key) {
            written.push((key, merged));
        } else {
            to_read.push((key, addition));
        }
    }
    if to_read.is_empty() {
        return Ok(written);
    }
    written.extend(merge_into_stored(tx, to_read).await?);
    Ok(written)
}

/// Reads these rollups, adds each addition to its row (a missing one starts empty), writes them
/// back, and returns them as written.
async fn merge_into_stored(
    tx: &mut impl ProjectionTx,
    additions: impl IntoIterator<Item = (RollupKey, Rollup)>,
) -> anyhow::Result<Vec<(RollupKey, Rollup)>> {
    let additions: Vec<(RollupKey, Rollup)> = additions.into_iter().collect();
    let keys: Vec<RollupKey> = additions.iter().map(|(key, _)| *key).collect();
    let mut stored = tx.read_rollups(&keys).await?;
    let merged: Vec<(RollupKey, Rollup)> = additions
        .into_iter()
        .map(|(key, addition)| {
            let mut rollup = stored.remove(&key).unwrap_or_default();
            rollup.merge(&addition);
            (key, rollup)
        })
        .collect();
    tx.write_rollups(&merged).await?;
    Ok(merged)
}

/// Folds `id`'s open bucket into its hour and day: before a target whose history is kept goes,
/// since its health row, which names the open bucket for readers, goes with it.
pub(crate) async fn close_open_bucket(tx: &mut impl ProjectionTx, id: Uuid) -> anyhow::Result<()> {
    let (_, open_buckets) = tx.lock_projected(&[id]).await?;
    let Some(bucket) = open_buckets.get(&id) else { return Ok(()) };
    let open = RollupKey { target_id: id, step_s: OPEN_STEP_S, bucket: *bucket };
    let Some(stored) = tx.read_rollups(&[open]).await?.remove(&open) else { return Ok(()) };
    let mut changes = RollupChanges::default();
    changes.fold(&open, &stored);
    merge_into_stored(tx, changes.additions).await?;
    Ok(())
}

/// In one transaction: marks every silent target stale, with a transition and an event each.
pub(crate) async fn mark_stale(
    mut tx: impl ProjectionTx,
    now: DateTime<Utc>,
    source: &str,
    fence: Option<i64>,
) -> anyhow::Result<Vec<HealthChanged>> {
    tx.check_fence(fence).await?;
    let mut records = tx.lock_silent(now).await?;
    let mut changes = Vec::new();
    for record in &mut records {
        if let Some(change) = projection::mark_stale(&record.target, &mut record.health, now) {
            changes.push(change);
        }
    }
    let stale: HashSet<Uuid> = changes.iter().map(|change| change.target_id).collect();
    let rows: Vec<(Uuid, &HealthState)> = records
        .iter()
        .filter(|record| stale.contains(&record.target.id))
        .map(|record| (record.target.id, &record.health))
        .collect();
    tx.write_health(&rows, &BTreeMap::new()).await?;
    record_changes(&mut tx, &changes, source).await?;
    tx.commit().await?;
    Ok(changes.into_iter().map(|change| change.event).collect())
}

/// Each change's transition, then its event, in the changes' order.
pub(crate) async fn record_changes(tx: &mut impl ProjectionTx, changes: &[Change], source: &str) -> anyhow::Result<()> {
    tx.insert_transitions(changes).await?;
    let events: Vec<PendingOutbox> =
        changes.iter().map(|change| PendingOutbox::health(&change.event, source)).collect();
    tx.insert_events(&events).await
}
