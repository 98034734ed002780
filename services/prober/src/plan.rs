//! Keeps the prober's plan current by following the targets stream, which holds the newest event
//! of every target: read from the start, it is the whole plan; read on, it is every change.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use healthmon_bus::{EventBus, StartAt, Stream};
use healthmon_domain::Target;
use healthmon_domain::events::{TargetChanged, decode_target};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub enum PlanChange {
    /// Probe this target (new, or its configuration changed).
    Upsert(Arc<Target>),
    /// Stop probing this target (deleted or paused).
    Remove(Uuid),
}

/// Applies each target event once, newest revision wins, however often it is delivered.
#[derive(Default)]
pub struct PlanBook {
    revisions: HashMap<Uuid, i64>,
}

impl PlanBook {
    pub fn apply(&mut self, change: TargetChanged) -> Option<PlanChange> {
        let id = change.target_id();
        if self.revisions.get(&id).is_some_and(|&known| known >= change.revision()) {
            return None;
        }
        self.revisions.insert(id, change.revision());
        Some(match change {
            TargetChanged::Created { target } | TargetChanged::Updated { target } if target.spec.enabled => {
                PlanChange::Upsert(Arc::new(target))
            }
            _ => PlanChange::Remove(id),
        })
    }
}

/// Follows target events until shutdown, re-following from the start whenever the stream breaks.
pub async fn follow(bus: Arc<dyn EventBus>, changes: mpsc::Sender<PlanChange>, shutdown: CancellationToken) {
    let mut book = PlanBook::default();
    loop {
        let followed = tokio::select! {
            _ = shutdown.cancelled() => return,
            result = follow_once(bus.as_ref(), &mut book, &changes) => result,
        };
        match followed {
            Ok(Ended::PlanClosed) => return,
            Ok(Ended::StreamEnded) => tracing::warn!("target stream ended; following again"),
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "target stream failed; following again"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

enum Ended {
    /// Nobody takes plan changes any more: the scheduler stopped.
    PlanClosed,
    StreamEnded,
}

async fn follow_once(
    bus: &dyn EventBus,
    book: &mut PlanBook,
    changes: &mpsc::Sender<PlanChange>,
) -> anyhow::Result<Ended> {
    let mut stream = bus.follow(Stream::Targets, StartAt::Beginning).await?;
    while let Some(message) = stream.next().await {
        let message = message?;
        let change = match decode_target(&message.payload) {
            Ok(change) => change,
            Err(error) => {
                tracing::warn!(%error, subject = %message.subject, "skipping a malformed target event");
                continue;
            }
        };
        if let Some(plan_change) = book.apply(change)
            && changes.send(plan_change).await.is_err()
        {
            return Ok(Ended::PlanClosed);
        }
    }
    Ok(Ended::StreamEnded)
}
