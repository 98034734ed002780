//! The notifier's turn, written once for both backends (see `crate::alerting` for what a turn is).
//! Each backend supplies its statements through [`TurnTx`]; the decision is the caller's.
//!
//! The cursor is the `seq` of the last transition a turn handled. It is stored NULL until the
//! first turn ever, which does not replay the history from before alerting existed: it starts at
//! the newest transition, handing none, and only later transitions are ever decided on.
//!
//! A turn hands on only *settled* transitions: those no transition can still appear before. On
//! Postgres a sequence number is taken before its transaction commits, so seq 7 may become
//! visible after seq 8: a cursor moved to 8 would skip 7 for ever. So a turn reads what is visible
//! after the cursor and keeps the run of consecutive seqs that starts right after it (every seq
//! in it is taken, by a visible row, so nothing can appear among them). Only when the very next
//! seq is missing (a transaction still writing it, or one rolled back) does it read a *horizon*,
//! a `seq` at or below which every transition is committed or never will be: on SQLite, whose
//! writes are serial, simply the newest `seq`; on Postgres, under a brief table lock that waits
//! for every transaction writing transitions to end (`postgres/turn.rs`). The usual turn, behind
//! a single writer that commits in order, takes no lock at all.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::alerting::{AlertRuleRecord, Decide, IncidentRecord, MaintenanceRecord, NewDelivery, TurnInput, TurnOutput};
use crate::common::PendingOutbox;
use crate::{OutboxStream, TargetRecord, TransitionRecord};

/// One turn's transaction, statement by statement.
#[async_trait]
pub(crate) trait TurnTx: Send + Sized {
    /// Takes the turn: `None` when another process holds it, else the stored cursor (itself
    /// `None` before the first turn ever).
    async fn take_turn(&mut self) -> anyhow::Result<Option<Option<i64>>>;
    /// The highest `seq` at or below which no transition can still appear (see the module comment).
    async fn horizon(&mut self) -> anyhow::Result<i64>;
    /// Transitions with `cursor < seq <= horizon`, ascending, at most `limit`.
    async fn transitions(&mut self, cursor: i64, horizon: i64, limit: u32) -> anyhow::Result<Vec<TransitionRecord>>;
    /// Every incident of these targets, and every incident due by `now`.
    async fn incidents(&mut self, target_ids: &[Uuid], now: DateTime<Utc>) -> anyhow::Result<Vec<IncidentRecord>>;
    /// Those of these targets that are stored.
    async fn targets(&mut self, ids: &[Uuid]) -> anyhow::Result<Vec<TargetRecord>>;
    async fn rules(&mut self) -> anyhow::Result<Vec<AlertRuleRecord>>;
    async fn windows(&mut self) -> anyhow::Result<Vec<MaintenanceRecord>>;
    async fn close_incidents(&mut self, keys: &[(Uuid, Uuid)]) -> anyhow::Result<()>;
    async fn upsert_incidents(&mut self, incidents: &[IncidentRecord]) -> anyhow::Result<()>;
    async fn insert_deliveries(&mut self, deliveries: &[NewDelivery]) -> anyhow::Result<()>;
    async fn insert_events(&mut self, events: &[PendingOutbox]) -> anyhow::Result<()>;
    async fn set_cursor(&mut self, cursor: i64) -> anyhow::Result<()>;
    async fn commit(self) -> anyhow::Result<()>;
}

/// Reads the turn's input, runs `decide` on it and writes what it decided, in `tx`.
pub(crate) async fn run<T: TurnTx>(
    mut tx: T,
    now: DateTime<Utc>,
    limit: u32,
    decide: &Decide<'_>,
) -> anyhow::Result<Option<TurnOutput>> {
    let Some(stored) = tx.take_turn().await? else {
        return Ok(None);
    };
    let (cursor, transitions) = match stored {
        None => (tx.horizon().await?, Vec::new()),
        Some(cursor) => (cursor, settled_after(&mut tx, cursor, limit).await?),
    };
    let changed: Vec<Uuid> =
        transitions.iter().map(|transition| transition.target_id).collect::<BTreeSet<_>>().into_iter().collect();
    let incidents = tx.incidents(&changed, now).await?;
    let involved: Vec<Uuid> = changed
        .iter()
        .copied()
        .chain(incidents.iter().map(|incident| incident.target_id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let targets = tx.targets(&involved).await?;
    let rules = tx.rules().await?;
    let windows = tx.windows().await?;
    let input = TurnInput { now, cursor, transitions, incidents, rules, windows, targets };

    let output = decide(&input);

    // Closed first: an incident that ends and a new one that opens in the same turn share a key.
    tx.close_incidents(&output.closed).await?;
    tx.upsert_incidents(&last_per_key(&output.upserted)).await?;
    tx.insert_deliveries(&output.deliveries).await?;
    let events: Vec<PendingOutbox> = output
        .events
        .iter()
        .map(|event| PendingOutbox {
            stream: OutboxStream::Alerts,
            key: event.rule_id,
            msg_id: event.msg_id,
            payload: event.payload.clone(),
        })
        .collect();
    tx.insert_events(&events).await?;
    tx.set_cursor(output.cursor).await?;
    tx.commit().await?;
    Ok(Some(output))
}

/// At most `limit` transitions after `cursor` that no other can still appear before (see the
/// module comment): the consecutive run read without a lock, else those up to the horizon.
async fn settled_after<T: TurnTx>(tx: &mut T, cursor: i64, limit: u32) -> anyhow::Result<Vec<TransitionRecord>> {
    let mut visible = tx.transitions(cursor, i64::MAX, limit).await?;
    let consecutive = consecutive_after(cursor, &visible);
    if consecutive > 0 || visible.is_empty() {
        visible.truncate(consecutive);
        return Ok(visible);
    }
    let horizon = tx.horizon().await?;
    tx.transitions(cursor, horizon, limit).await
}

/// How many of `transitions` (ascending by seq) are `cursor + 1`, `cursor + 2`, … with no gap.
fn consecutive_after(cursor: i64, transitions: &[TransitionRecord]) -> usize {
    transitions.iter().zip(cursor.saturating_add(1)..).take_while(|(transition, seq)| transition.seq == *seq).count()
}

/// The last state decided for each (rule, target), in first-seen order: one statement cannot
/// write the same row twice.
fn last_per_key(incidents: &[IncidentRecord]) -> Vec<IncidentRecord> {
    let mut kept: Vec<IncidentRecord> = Vec::with_capacity(incidents.len());
    let mut index: HashMap<(Uuid, Uuid), usize> = HashMap::with_capacity(incidents.len());
    for incident in incidents {
        match index.entry((incident.rule_id, incident.target_id)) {
            Entry::Occupied(at) => kept[*at.get()] = incident.clone(),
            Entry::Vacant(slot) => {
                slot.insert(kept.len());
                kept.push(incident.clone());
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use healthmon_domain::HealthStatus;

    fn at_seqs(seqs: &[i64]) -> Vec<TransitionRecord> {
        seqs.iter()
            .map(|&seq| TransitionRecord {
                seq,
                target_id: Uuid::nil(),
                from: HealthStatus::Healthy,
                to: HealthStatus::Unhealthy,
                at: DateTime::<Utc>::UNIX_EPOCH,
                reason: String::new(),
            })
            .collect()
    }

    #[test]
    fn a_run_right_after_the_cursor_is_settled_up_to_its_first_gap() {
        assert_eq!(consecutive_after(4, &at_seqs(&[5, 6, 7])), 3);
        assert_eq!(consecutive_after(4, &at_seqs(&[5, 6, 8, 9])), 2, "7 may still be written");
    }

    #[test]
    fn a_missing_next_seq_settles_nothing_without_the_horizon() {
        assert_eq!(consecutive_after(4, &at_seqs(&[6, 7])), 0);
        assert_eq!(consecutive_after(4, &[]), 0);
    }
}
