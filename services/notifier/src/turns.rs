//! The notifier's turns: each one hands the stored transitions after the cursor (and the incidents
//! that are due) to the pure decision, in one store transaction. A turn runs when a health event
//! wakes it, and at least every second, since incidents fall due with time alone.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::{FutureExt, StreamExt};
use healthmon_bus::{EventBus, StartAt, Stream};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::Store;
use healthmon_store::alerting::TurnOutput;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::decide::{self, Policy};

/// Transitions one turn handles at most: a turn is one transaction, kept short.
const TURN_LIMIT: u32 = 500;
/// Incidents fall due (trigger delays, reminders, window ends) with no event to announce it.
const TICK: Duration = Duration::from_secs(1);
/// How long following the health events may take before the turns go on without it.
const FOLLOW_TIMEOUT: Duration = Duration::from_secs(2);
/// How often following them again is tried while it fails.
const FOLLOW_RETRY: Duration = Duration::from_secs(5);
/// After a failed turn (the database away), before the next try.
const RETRY: Duration = Duration::from_secs(1);

/// Runs one turn. Returns what it decided, or `None` when another process held the turn.
pub async fn turn_once(store: &dyn Store, policy: &Policy) -> anyhow::Result<Option<TurnOutput>> {
    let decide = |input: &healthmon_store::alerting::TurnInput| decide::decide(input, policy);
    store.alerting_turn(healthmon_store::now(), TURN_LIMIT, &decide).await
}

pub(crate) async fn run(
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    relay: OutboxRelay,
    policy: Policy,
    queued: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut wake_ups = None;
    let mut follow_again_at = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if wake_ups.is_none() && tokio::time::Instant::now() >= follow_again_at {
            // Health events only hasten a turn: without them (NATS away) the tick still runs it,
            // so following them again is tried briefly, and only now and then.
            let follow = tokio::time::timeout(FOLLOW_TIMEOUT, bus.follow(Stream::Health, StartAt::New));
            tokio::select! {
                _ = shutdown.cancelled() => return,
                followed = follow => {
                    wake_ups = followed.ok().and_then(|followed| followed.context("following health events").ok());
                }
            }
            follow_again_at = tokio::time::Instant::now() + FOLLOW_RETRY;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
            event = next_event(&mut wake_ups) => {
                if !matches!(event, Some(Ok(_))) {
                    wake_ups = None;
                }
                // A burst of changes needs one turn, not one per event: take every event already
                // here before turning (each turn briefly locks the transitions table).
                while let Some(Some(event)) = wake_ups.as_mut().and_then(|events| events.next().now_or_never()) {
                    if event.is_err() {
                        wake_ups = None;
                    }
                }
            }
        }
        match turns_until_caught_up(store.as_ref(), &policy, &queued, &relay).await {
            Ok(()) => {}
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), "notifier turn failed; trying again");
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    }
}

/// Turns until one is handed fewer transitions than its limit (a full one may leave more behind
/// it), waking the worker and the relay after each that queued something.
async fn turns_until_caught_up(
    store: &dyn Store,
    policy: &Policy,
    queued: &Notify,
    relay: &OutboxRelay,
) -> anyhow::Result<()> {
    while let Some(output) = turn_once(store, policy).await? {
        if !output.deliveries.is_empty() {
            queued.notify_one();
        }
        if !output.events.is_empty() {
            relay.kick();
        }
        if output.transitions_handled < TURN_LIMIT as usize {
            break;
        }
    }
    Ok(())
}

async fn next_event(
    events: &mut Option<futures::stream::BoxStream<'static, anyhow::Result<healthmon_bus::Message>>>,
) -> Option<anyhow::Result<healthmon_bus::Message>> {
    match events {
        Some(events) => events.next().await,
        None => std::future::pending().await,
    }
}
