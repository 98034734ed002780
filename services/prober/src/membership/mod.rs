//! Which probers are alive, so each can work out the targets it owns: either this prober alone
//! (embedded mode), or every prober heartbeating into a NATS KV bucket.

mod nats_kv;
mod rendezvous;

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use healthmon_bus::NatsBus;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use rendezvous::owner;

/// How long a prober stays a member after its last heartbeat.
pub const DEFAULT_HEARTBEAT_TTL: Duration = Duration::from_secs(10);

/// The live members' names (see [`member_name`]).
pub type Members = Arc<BTreeSet<String>>;

#[derive(Clone)]
pub enum MembershipConfig {
    /// The only prober (embedded mode, in-process bus): owns every target.
    Solo,
    /// Heartbeats into a KV bucket on this NATS; a member silent for `heartbeat_ttl` has left.
    NatsKv { nats: NatsBus, heartbeat_ttl: Duration },
}

impl fmt::Debug for MembershipConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MembershipConfig::Solo => f.write_str("Solo"),
            MembershipConfig::NatsKv { heartbeat_ttl, .. } => {
                f.debug_struct("NatsKv").field("heartbeat_ttl", heartbeat_ttl).finish_non_exhaustive()
            }
        }
    }
}

/// An instance's name as a member: a valid KV key, so names outside `[-/_=.a-zA-Z0-9]` are mapped
/// to `_`.
pub fn member_name(instance: &str) -> String {
    let name: String =
        instance.chars().map(|c| if c.is_ascii_alphanumeric() || "-/_=.".contains(c) { c } else { '_' }).collect();
    // A KV key may not start or end with a dot, nor be empty.
    let name = name.trim_matches('.');
    if name.is_empty() { "_".to_string() } else { name.to_string() }
}

/// This prober's membership: the live member set, and the task keeping it current.
pub struct Membership {
    name: String,
    members: watch::Receiver<Members>,
    task: Option<JoinHandle<()>>,
}

impl Membership {
    /// Joins as `config` says and stays a member until `shutdown` fires.
    pub async fn join(config: &MembershipConfig, instance: &str, shutdown: CancellationToken) -> anyhow::Result<Self> {
        match config {
            MembershipConfig::Solo => Ok(Self::solo(instance)),
            MembershipConfig::NatsKv { nats, heartbeat_ttl } => {
                Self::join_nats_kv(nats, instance, *heartbeat_ttl, shutdown).await
            }
        }
    }

    /// This prober alone: the member set never changes.
    pub fn solo(instance: &str) -> Self {
        let name = member_name(instance);
        let (_, members) = watch::channel(Arc::new(BTreeSet::from([name.clone()])));
        Self { name, members, task: None }
    }

    /// Heartbeats into the `probers` KV bucket (created if missing) and watches it. Fails when the
    /// bucket cannot be opened or the first heartbeat not stored; after that it rides out outages.
    pub async fn join_nats_kv(
        nats: &NatsBus,
        instance: &str,
        heartbeat_ttl: Duration,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let name = member_name(instance);
        let (members, task) = nats_kv::join(nats, &name, heartbeat_ttl, shutdown).await?;
        Ok(Self { name, members, task: Some(task) })
    }

    /// This prober's own name among the members.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The live members; empty until the first complete view of the bucket has been read.
    pub fn members(&self) -> watch::Receiver<Members> {
        self.members.clone()
    }

    /// Waits until the membership has ended after shutdown, having removed its heartbeat.
    pub async fn left(mut self) {
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Membership {
    /// Dropped without [`Membership::left`], the heartbeats just stop, as in a crash: the others
    /// notice when the TTL runs out.
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
