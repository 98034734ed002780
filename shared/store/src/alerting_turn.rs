//! The notifier's turn, written once for both backends (see `crate::alerting` for what a turn is).
//! Each backend supplies its statements through [`TurnTx`]; the decision is the caller's.
//!
//! The cursor is the `seq` of the last transition a turn handled. It is stored NULL until the
//! first turn ever, which does not replay the history from before alerting existed: it starts at
//! the newest transition, handing none, and only later transitions are ever decided on.
//!
//! Transitions are read up to a *horizon*, a `seq` below which every transition is committed (or
//! never will be). On SQLite, writes are serial, so it is simply the newest `seq`. On Postgres a
//! sequence number is taken before its transaction commits, so seq 7 may become visible after
//! seq 8: a cursor moved to 8 would skip 7 for ever. There the horizon is read under a brief
//! table lock that waits for every transaction writing transitions to end (`postgres/turn.rs`).

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
    let horizon = tx.horizon().await?;
    let (cursor, transitions) = match stored {
        None => (horizon, Vec::new()),
        Some(cursor) => (cursor, tx.transitions(cursor, horizon, limit).await?),
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
