//! Keeps the health board current: loads it from the store, then follows target and health
//! events; serves resync requests; survives bus outages by serving the last board meanwhile.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use healthmon_bus::{EventBus, StartAt, Stream};
use healthmon_domain::events::{decode_health, decode_target};
use healthmon_store::Store;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{HealthBoard, HealthEvent, Tally};

type ResyncRequests = mpsc::Receiver<oneshot::Sender<anyhow::Result<()>>>;

pub async fn run_keeper(
    board: HealthBoard,
    mut requests: ResyncRequests,
    store: Arc<dyn Store>,
    bus: Arc<dyn EventBus>,
    shutdown: CancellationToken,
) {
    loop {
        match keep(&board, &mut requests, store.as_ref(), bus.as_ref(), &shutdown).await {
            Ok(()) => return,
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "health board lost its feed; rebuilding"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

async fn keep(
    board: &HealthBoard,
    requests: &mut ResyncRequests,
    store: &dyn Store,
    bus: &dyn EventBus,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    // Follow before loading, so nothing committed after the load can slip past.
    let mut health = bus.follow(Stream::Health, StartAt::New).await.context("following health events")?;
    let mut targets = bus.follow(Stream::Targets, StartAt::Beginning).await.context("following target events")?;
    let mut tally = Tally::from_records(store.all_targets().await.context("loading health")?);
    board.publish(tally.aggregate());
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            message = health.next() => {
                let message = message.context("the health stream ended")??;
                match decode_health(&message.payload) {
                    Ok(change) => {
                        if tally.apply_health(&change) {
                            board.publish(tally.aggregate());
                            let id = change.event_id().to_string();
                            board.announce(HealthEvent { id, json: message.payload.clone() });
                        }
                    }
                    Err(error) => tracing::warn!(%error, "skipping a malformed health event"),
                }
            }
            message = targets.next() => {
                let message = message.context("the target stream ended")??;
                match decode_target(&message.payload) {
                    Ok(change) => {
                        tally.apply_target(&change);
                        board.publish(tally.aggregate());
                    }
                    Err(error) => tracing::warn!(%error, "skipping a malformed target event"),
                }
            }
            Some(done) = requests.recv() => {
                let reloaded = store.all_targets().await.context("reloading health");
                let result = reloaded.map(|records| {
                    tally = Tally::from_records(records);
                    board.publish(tally.aggregate());
                });
                let _ = done.send(result);
            }
        }
    }
}
