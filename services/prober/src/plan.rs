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
        let stream = tokio::select! {
            _ = shutdown.cancelled() => return,
            stream = bus.follow(Stream::Targets, StartAt::Beginning) => stream,
        };
        match stream {
            Ok(mut stream) => loop {
                let message = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    message = stream.next() => message,
                };
                match message {
                    Some(Ok(message)) => match decode_target(&message.payload) {
                        Ok(change) => {
                            if let Some(plan_change) = book.apply(change) {
                                if changes.send(plan_change).await.is_err() {
                                    return;
                                }
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, subject = %message.subject, "skipping malformed target event")
                        }
                    },
                    Some(Err(error)) => {
                        tracing::warn!(error = %format!("{error:#}"), "target stream failed; following again");
                        break;
                    }
                    None => break,
                }
            },
            Err(error) => tracing::warn!(error = %format!("{error:#}"), "cannot follow target events; retrying"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}
