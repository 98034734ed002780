//! Read-modify-write of one target with optimistic concurrency, for writers that run beside the
//! API (the projector pinning host keys, key rotation re-sealing credentials).

use healthmon_domain::{Target, TargetSpec};
use uuid::Uuid;

use crate::{Store, WriteOutcome};

/// Conflicting writers are retried this often before giving up.
const ATTEMPTS: usize = 5;

/// Applies `change` to the stored target and writes the result as its next revision, reading again
/// when another writer got in between. `change` returns `None` when there is nothing to change.
/// Returns whether a new revision was written (false: nothing to change, or the target is gone);
/// an error when other writers kept winning, so callers never mistake that for "done".
pub async fn modify_target(
    store: &dyn Store,
    id: Uuid,
    source: &str,
    mut change: impl FnMut(&Target) -> anyhow::Result<Option<TargetSpec>>,
) -> anyhow::Result<bool> {
    for _ in 0..ATTEMPTS {
        let Some(record) = store.get_target(id).await? else { return Ok(false) };
        let Some(spec) = change(&record.target)? else { return Ok(false) };
        let next = record.target.replaced(spec, crate::now());
        match store.update_target(&next, source).await? {
            WriteOutcome::Done => return Ok(true),
            WriteOutcome::NotFound => return Ok(false),
            WriteOutcome::Conflict => continue,
        }
    }
    anyhow::bail!("target {id} kept changing under concurrent writes")
}
