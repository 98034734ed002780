//! Target writes, each written once for both backends: a change to a target and its outbox
//! events commit together. Each backend supplies only its SQL, through [`TargetTx`].

use std::collections::BTreeMap;

use async_trait::async_trait;
use healthmon_domain::events::TargetChanged;
use healthmon_domain::projection::reset_if_check_changed;
use healthmon_domain::{HealthState, Target};
use uuid::Uuid;

use crate::WriteOutcome;
use crate::common::PendingOutbox;
use crate::projection::ProjectionTx;

/// The statements of target writes, beside those the projection uses.
#[async_trait]
pub(crate) trait TargetTx: ProjectionTx {
    /// Inserts the target's row; a second `/Resource` for its host fails with
    /// [`crate::DuplicateResource`].
    async fn insert_target(&mut self, target: &Target) -> anyhow::Result<()>;
    /// Replaces the row stored at `target.revision - 1`; false when no row has that id and revision.
    async fn replace_target(&mut self, target: &Target) -> anyhow::Result<bool>;
    async fn target_exists(&mut self, id: Uuid) -> anyhow::Result<bool>;
    /// Locks and reads the target's health row.
    async fn lock_health(&mut self, id: Uuid) -> anyhow::Result<Option<HealthState>>;
    /// Deletes the target with its health, and its samples and transitions unless `keep_history`;
    /// returns the revision it had, or `None` when it was absent.
    async fn delete_target(&mut self, id: Uuid, keep_history: bool) -> anyhow::Result<Option<i64>>;
}

/// Inserts the target, its `unknown` health and a `target.created` outbox event.
pub(crate) async fn create(mut tx: impl TargetTx, target: &Target, source: &str) -> anyhow::Result<()> {
    tx.insert_target(target).await?;
    tx.write_health(&[(target.id, &HealthState::new(target.check_version))], &BTreeMap::new()).await?;
    let event = PendingOutbox::target(&TargetChanged::Created { target: target.clone() }, source, crate::now());
    tx.insert_events(&[event]).await?;
    tx.commit().await
}

/// Replaces the target stored at `target.revision - 1` with a `target.updated` event; when its
/// check changed, resets its health (recording the change if the status moved).
pub(crate) async fn update(mut tx: impl TargetTx, target: &Target, source: &str) -> anyhow::Result<WriteOutcome> {
    let now = crate::now();
    if !tx.replace_target(target).await? {
        // Dropped without a commit: nothing was written.
        return Ok(if tx.target_exists(target.id).await? { WriteOutcome::Conflict } else { WriteOutcome::NotFound });
    }
    let mut events = vec![PendingOutbox::target(&TargetChanged::Updated { target: target.clone() }, source, now)];
    let mut health = match tx.lock_health(target.id).await? {
        Some(health) => health,
        // Cannot happen with this schema, but an absent row must not stop a reset from being stored.
        None => HealthState { check_version: target.check_version - 1, ..HealthState::default() },
    };
    if health.check_version != target.check_version {
        let reset = reset_if_check_changed(target, &mut health, now);
        tx.write_health(&[(target.id, &health)], &BTreeMap::new()).await?;
        if let Some(change) = reset {
            events.push(PendingOutbox::health(&change.event, source));
            tx.insert_transitions(&[change]).await?;
        }
    }
    tx.insert_events(&events).await?;
    tx.commit().await?;
    Ok(WriteOutcome::Done)
}

/// Deletes the target (and its history unless kept) with a `target.deleted` event at revision + 1.
pub(crate) async fn delete(mut tx: impl TargetTx, id: Uuid, keep_history: bool, source: &str) -> anyhow::Result<bool> {
    if keep_history {
        crate::projection::close_open_bucket(&mut tx, id).await?;
    }
    let Some(revision) = tx.delete_target(id, keep_history).await? else { return Ok(false) };
    let change = TargetChanged::Deleted { id, revision: revision + 1, keep_history };
    tx.insert_events(&[PendingOutbox::target(&change, source, crate::now())]).await?;
    tx.commit().await?;
    Ok(true)
}
