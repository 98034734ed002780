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

/// Applies each target event once, newest revision wins, however often it is delivered; a resync
/// (the store's word) wins whatever the revisions.
#[derive(Default)]
pub struct PlanBook {
    revisions: HashMap<Uuid, i64>,
}

impl PlanBook {
    pub fn apply(&mut self, change: TargetChanged) -> Option<PlanChange> {
        let id = change.target_id();
        if !change.supersedes(self.revisions.get(&id).copied()) {
            return None;
        }
        // A resync saying the target is absent carries no revision: the bar stays where it was, so
        // an older event replayed later still cannot bring the target back.
        if let Some(revision) = change.revision() {
            self.revisions.insert(id, revision);
        }
        Some(match change.present() {
            Some(target) if target.spec.enabled => PlanChange::Upsert(Arc::new(target.clone())),
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

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use healthmon_domain::target::parse_spec;

    use super::*;

    fn target(revision: i64, enabled: bool) -> Target {
        let spec = parse_spec(&serde_json::json!({
            "name": "t", "kind": "tcp", "host": "localhost", "port": 1, "enabled": enabled
        }))
        .expect("a valid spec");
        Target { revision, ..Target::create(spec, Utc::now()) }
    }

    fn with_revision(target: &Target, revision: i64) -> Target {
        Target { revision, ..target.clone() }
    }

    fn upserted(change: Option<PlanChange>) -> Option<i64> {
        match change {
            Some(PlanChange::Upsert(target)) => Some(target.revision),
            _ => None,
        }
    }

    fn removed(change: &Option<PlanChange>, id: Uuid) -> bool {
        matches!(change, Some(PlanChange::Remove(removed)) if *removed == id)
    }

    #[test]
    fn given_a_planned_target_when_an_older_or_repeated_event_arrives_then_nothing_changes() {
        let mut book = PlanBook::default();
        let stored = target(2, true);
        assert_eq!(upserted(book.apply(TargetChanged::Created { target: stored.clone() })), Some(2));

        assert!(book.apply(TargetChanged::Updated { target: stored.clone() }).is_none());
        assert!(book.apply(TargetChanged::Updated { target: with_revision(&stored, 1) }).is_none());
    }

    #[test]
    fn given_a_forged_delete_when_the_store_resyncs_the_target_then_it_is_planned_again() {
        let mut book = PlanBook::default();
        let stored = target(1, true);
        book.apply(TargetChanged::Created { target: stored.clone() });
        let forged = book.apply(TargetChanged::Deleted { id: stored.id, revision: 7, keep_history: true });
        assert!(removed(&forged, stored.id));

        let resynced = book.apply(TargetChanged::resynced(stored.id, Some(stored.clone())));

        assert_eq!(upserted(resynced), Some(1), "the store wins over a higher revision");
        assert_eq!(
            upserted(book.apply(TargetChanged::Updated { target: with_revision(&stored, 2) })),
            Some(2),
            "after the resync the store's revision is the bar again"
        );
    }

    #[test]
    fn given_a_planned_target_when_a_resync_at_the_same_revision_arrives_then_it_is_upserted_unchanged() {
        let mut book = PlanBook::default();
        let stored = target(3, true);
        book.apply(TargetChanged::Created { target: stored.clone() });

        let resynced = book.apply(TargetChanged::resynced(stored.id, Some(stored.clone())));

        assert!(matches!(resynced, Some(PlanChange::Upsert(planned)) if *planned == stored));
    }

    #[test]
    fn given_a_paused_target_in_the_store_when_resynced_then_it_is_removed_from_the_plan() {
        let mut book = PlanBook::default();
        let running = target(1, true);
        book.apply(TargetChanged::Created { target: running.clone() });
        let paused = Target { spec: target(1, false).spec, ..running.clone() };

        assert!(removed(&book.apply(TargetChanged::resynced(running.id, Some(paused))), running.id));
    }

    #[test]
    fn given_a_target_the_store_lost_when_resynced_absent_then_it_leaves_the_plan_and_old_events_stay_old() {
        let mut book = PlanBook::default();
        let lost = target(4, true);
        book.apply(TargetChanged::Updated { target: lost.clone() });

        let resynced = book.apply(TargetChanged::resynced(lost.id, None));

        assert!(removed(&resynced, lost.id));
        assert!(book.apply(TargetChanged::Updated { target: lost.clone() }).is_none(), "a replay does not revive it");
        assert_eq!(upserted(book.apply(TargetChanged::Updated { target: with_revision(&lost, 5) })), Some(5));
    }

    #[test]
    fn given_an_unknown_target_when_resynced_absent_then_a_harmless_remove_follows() {
        let mut book = PlanBook::default();
        let id = Uuid::now_v7();
        assert!(removed(&book.apply(TargetChanged::resynced(id, None)), id));
    }
}
