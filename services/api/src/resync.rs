//! Resync: republishes the store's view of every target onto the targets stream, so everything
//! that follows the stream (every prober's plan, every API's board) comes back in line with the
//! store after the two drifted apart (a lost event, a store restored from backup, a row edited by
//! hand).

use std::collections::HashSet;

use bytes::Bytes;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use healthmon_bus::{EventBus, Stream};
use healthmon_domain::Target;
use healthmon_domain::events::{TargetChanged, encode_target};
use healthmon_store::Store;
use uuid::Uuid;

/// Publishes in flight at once: enough to hide the round trip to NATS, few enough to be polite.
const CONCURRENT_PUBLISHES: usize = 32;

/// What a resync republished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Republished {
    /// Stored targets, each republished as it is stored.
    pub targets: usize,
    /// Targets the stream still held but the store no longer has, each republished as absent.
    pub removed: usize,
}

/// The events stating the store's view: every stored target as it is, and every target the stream
/// still holds a word on but the store lacks as absent. A key that is not a target id is none of
/// ours and is left alone.
pub fn resync_events(stored: Vec<Target>, stream_keys: &[String]) -> Vec<TargetChanged> {
    let stored_ids: HashSet<Uuid> = stored.iter().map(|target| target.id).collect();
    let absent = stream_keys
        .iter()
        .filter_map(|key| Uuid::try_parse(key).ok())
        .filter(|id| !stored_ids.contains(id))
        .map(|id| TargetChanged::resynced(id, None));
    let present = stored.into_iter().map(|target| TargetChanged::resynced(target.id, Some(target)));
    present.chain(absent).collect()
}

/// Reads the store and the stream's keys, and publishes the store's word on every target.
///
/// Each event gets a fresh id: a second resync soon after the first must not be taken for a
/// duplicate, because the stream may have drifted again in between.
pub async fn republish(store: &dyn Store, bus: &dyn EventBus, source: &str) -> anyhow::Result<Republished> {
    let stored: Vec<Target> = store.all_targets().await?.into_iter().map(|record| record.target).collect();
    let stream_keys = bus.keys(Stream::Targets).await?;
    let events = resync_events(stored, &stream_keys);
    let removed = events.iter().filter(|change| change.present().is_none()).count();
    let republished = Republished { targets: events.len() - removed, removed };
    let now = Utc::now();
    futures::stream::iter(events)
        .map(|change| async move {
            let event_id = Uuid::now_v7();
            let payload = Bytes::from(encode_target(&change, event_id, source, now));
            let key = change.target_id().to_string();
            bus.publish(Stream::Targets, &key, &event_id.to_string(), payload).await
        })
        .buffer_unordered(CONCURRENT_PUBLISHES)
        .try_collect::<Vec<()>>()
        .await?;
    tracing::info!(targets = republished.targets, removed = republished.removed, "resync republished the store");
    Ok(republished)
}

#[cfg(test)]
mod tests {
    use healthmon_domain::target::parse_spec;

    use super::*;

    fn stored_target() -> Target {
        let spec = parse_spec(&serde_json::json!({"name": "t", "kind": "tcp", "host": "localhost", "port": 1}))
            .expect("a valid spec");
        Target::create(spec, Utc::now())
    }

    #[test]
    fn given_stored_targets_and_stream_keys_then_each_stored_one_is_present_and_each_stream_only_one_absent() {
        let (kept, unstreamed) = (stored_target(), stored_target());
        let lost = Uuid::now_v7();
        let stream_keys = vec![kept.id.to_string(), lost.to_string(), "not-a-target".to_owned()];

        let events = resync_events(vec![kept.clone(), unstreamed.clone()], &stream_keys);

        assert_eq!(
            events,
            vec![
                TargetChanged::resynced(kept.id, Some(kept)),
                TargetChanged::resynced(unstreamed.id, Some(unstreamed)),
                TargetChanged::resynced(lost, None),
            ]
        );
    }

    #[test]
    fn given_an_empty_store_and_stream_then_there_is_nothing_to_say() {
        assert!(resync_events(Vec::new(), &[]).is_empty());
    }
}
