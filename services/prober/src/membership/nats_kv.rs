//! Membership through a NATS KV bucket whose entries expire after the heartbeat TTL: each prober
//! puts its key every TTL/3 and deletes it when it stops; every prober watches the bucket.
//!
//! Expiry by `max_age` removes an entry without telling watchers, so each watcher also expires
//! members itself, TTL after their last heartbeat as the server stamped it.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::kv::{self, Entry, Operation, Store, Watch};
use chrono::Utc;
use futures::StreamExt;
use healthmon_bus::NatsBus;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::Members;

const BUCKET: &str = "probers";
const FIRST_WATCH_RETRY_DELAY: Duration = Duration::from_millis(200);
const LAST_WATCH_RETRY_DELAY: Duration = Duration::from_secs(5);
/// A deadline far enough away to stand for "never" in a select.
const FAR_FUTURE: Duration = Duration::from_secs(24 * 60 * 60);

/// Opens the bucket, stores the first heartbeat and spawns the task that keeps both going.
pub(super) async fn join(
    nats: &NatsBus,
    name: &str,
    heartbeat_ttl: Duration,
    shutdown: CancellationToken,
) -> anyhow::Result<(watch::Receiver<Members>, JoinHandle<()>)> {
    let bucket = nats.expiring_bucket(BUCKET, heartbeat_ttl).await?;
    let heartbeat = Heartbeat { name: name.to_string(), started_at: Utc::now() };
    heartbeat.put(&bucket).await.context("storing the first prober heartbeat")?;
    let (members_tx, members_rx) = watch::channel(Members::default());
    let live = LiveMembers { heartbeat_ttl, expiries: HashMap::new() };
    let task = tokio::spawn(keep_membership(bucket, heartbeat, live, members_tx, shutdown));
    Ok((members_rx, task))
}

struct Heartbeat {
    name: String,
    started_at: chrono::DateTime<Utc>,
}

impl Heartbeat {
    async fn put(&self, bucket: &Store) -> anyhow::Result<()> {
        let value = serde_json::json!({
            "instance": self.name,
            "started_at": self.started_at,
            "heartbeat_at": Utc::now(),
        });
        bucket.put(&self.name, serde_json::to_vec(&value)?.into()).await?;
        Ok(())
    }
}

/// Heartbeats, watches and expires until shutdown, then deletes this prober's key.
async fn keep_membership(
    bucket: Store,
    heartbeat: Heartbeat,
    mut live: LiveMembers,
    members: watch::Sender<Members>,
    shutdown: CancellationToken,
) {
    let period = live.heartbeat_ttl / 3;
    let mut next_heartbeat = Instant::now() + period;
    let mut watcher: Option<Watch> = None;
    let mut watch_retry_delay = FIRST_WATCH_RETRY_DELAY;
    let mut next_watch_attempt = Instant::now();
    // Until the watcher has caught up with the bucket, a partial view would hand out targets wrongly.
    let mut caught_up = false;
    loop {
        let next_expiry = live.next_expiry().unwrap_or_else(|| Instant::now() + FAR_FUTURE);
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = sleep_until(next_heartbeat) => {
                if let Err(error) = heartbeat.put(&bucket).await {
                    tracing::warn!(error = %format!("{error:#}"), "could not store the prober heartbeat");
                }
                next_heartbeat = Instant::now() + period;
            }
            _ = sleep_until(next_watch_attempt), if watcher.is_none() => {
                match bucket.watch_with_history(">").await {
                    Ok(opened) => watcher = Some(opened),
                    Err(error) => {
                        tracing::warn!(%error, "could not watch the prober bucket; retrying");
                        next_watch_attempt = Instant::now() + watch_retry_delay;
                        watch_retry_delay = (watch_retry_delay * 2).min(LAST_WATCH_RETRY_DELAY);
                    }
                }
            }
            entry = next_entry(&mut watcher) => match entry {
                Some(Ok(entry)) => {
                    watch_retry_delay = FIRST_WATCH_RETRY_DELAY;
                    live.apply(&entry);
                    caught_up |= entry.seen_current || entry.delta == 0;
                }
                failed => {
                    match failed {
                        Some(Err(error)) => tracing::warn!(%error, "prober bucket watch failed; watching again"),
                        _ => tracing::warn!("prober bucket watch ended; watching again"),
                    }
                    watcher = None;
                    next_watch_attempt = Instant::now() + watch_retry_delay;
                    watch_retry_delay = (watch_retry_delay * 2).min(LAST_WATCH_RETRY_DELAY);
                }
            },
            _ = sleep_until(next_expiry) => live.expire(Instant::now()),
        }
        if caught_up {
            let mut current = live.names();
            // A prober cut off from NATS cannot see its own heartbeats, yet it is alive: it keeps
            // probing its targets (buffering the samples) rather than dropping them all. Others
            // may take them over meanwhile; the deterministic sample ids make the overlap harmless.
            current.insert(heartbeat.name.clone());
            members.send_if_modified(|published| {
                let changed = **published != current;
                if changed {
                    tracing::info!(members = ?current, "prober membership changed");
                    *published = Arc::new(current);
                }
                changed
            });
        }
    }
    if let Err(error) = bucket.delete(&heartbeat.name).await {
        tracing::warn!(%error, "could not remove the prober heartbeat; it expires on its own");
    }
}

async fn next_entry(watcher: &mut Option<Watch>) -> Option<Result<Entry, kv::WatcherError>> {
    match watcher {
        Some(watcher) => watcher.next().await,
        None => std::future::pending().await,
    }
}

/// Each member with the instant its last heartbeat runs out.
struct LiveMembers {
    heartbeat_ttl: Duration,
    expiries: HashMap<String, Instant>,
}

impl LiveMembers {
    fn apply(&mut self, entry: &Entry) {
        match entry.operation {
            Operation::Put => {
                // The server's stamp, not our receipt, so a replayed old heartbeat is not taken as fresh.
                let age_nanos = Utc::now().timestamp_nanos_opt().map(i128::from).unwrap_or(i128::MAX)
                    - entry.created.unix_timestamp_nanos();
                let age = Duration::from_nanos(u64::try_from(age_nanos.max(0)).unwrap_or(u64::MAX));
                match self.heartbeat_ttl.checked_sub(age) {
                    Some(left) => {
                        self.expiries.insert(entry.key.clone(), Instant::now() + left);
                    }
                    None => {
                        self.expiries.remove(&entry.key);
                    }
                }
            }
            Operation::Delete | Operation::Purge => {
                self.expiries.remove(&entry.key);
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        self.expiries.retain(|name, expiry| {
            let live = *expiry > now;
            if !live {
                tracing::info!(member = %name, "prober heartbeat expired");
            }
            live
        });
    }

    fn next_expiry(&self) -> Option<Instant> {
        self.expiries.values().min().copied()
    }

    fn names(&self) -> BTreeSet<String> {
        self.expiries.keys().cloned().collect()
    }
}
