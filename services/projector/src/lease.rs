//! Which projector is active: a lease in a NATS KV bucket, taken by compare-and-set and renewed
//! every TTL/3. A standby takes it once TTL has passed since the holder's last renewal, or at once
//! when the holder releases it. The lease only elects; the store's fence (claimed by each new
//! holder) is what stops a deposed projector that has not noticed yet.

use std::fmt;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, UpdateErrorKind};
use bytes::Bytes;
use chrono::Utc;
use healthmon_bus::NatsBus;
use tokio::time::{Instant, sleep, sleep_until};
use tokio_util::sync::CancellationToken;

/// How long a projector stays active after its last renewal.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_secs(10);
/// The bucket (under the bus prefix) and the key the lease lives at.
pub const BUCKET: &str = "projector_lease";
pub const KEY: &str = "active";
const RETRY: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub enum LeaseConfig {
    /// The only projector (embedded mode, in-process bus): always active, unfenced.
    Solo,
    /// Active while holding the lease in a KV bucket on this NATS.
    NatsKv { nats: NatsBus, ttl: Duration },
}

impl fmt::Debug for LeaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeaseConfig::Solo => f.write_str("Solo"),
            LeaseConfig::NatsKv { ttl, .. } => f.debug_struct("NatsKv").field("ttl", ttl).finish_non_exhaustive(),
        }
    }
}

/// One projector's handle on the lease.
#[derive(Clone)]
pub struct Lease {
    bucket: kv::Store,
    holder: String,
    ttl: Duration,
}

/// A term as the active projector: the revision last written, and when that write was sent.
#[derive(Debug, Clone, Copy)]
pub struct Tenure {
    revision: u64,
    renewed_at: Instant,
}

impl Lease {
    pub async fn open(nats: &NatsBus, holder: &str, ttl: Duration) -> anyhow::Result<Self> {
        let bucket = nats.expiring_bucket(BUCKET, ttl).await.context("opening the projector lease bucket")?;
        Ok(Self { bucket, holder: holder.to_string(), ttl })
    }

    fn value(&self) -> Bytes {
        let value = serde_json::json!({ "holder": self.holder, "renewed_at": Utc::now() });
        Bytes::from(value.to_string())
    }

    /// Waits until this projector holds the lease; `None` when `shutdown` fires first.
    pub async fn acquire(&self, shutdown: &CancellationToken) -> Option<Tenure> {
        loop {
            let sent = Instant::now();
            let wait = match self.try_acquire().await {
                Ok(Attempt::Taken(revision)) => return Some(Tenure { revision, renewed_at: sent }),
                Ok(Attempt::HeldFor(left)) => left.min(self.poll()),
                Err(error) => {
                    tracing::debug!(error = %format!("{error:#}"), "could not try the projector lease");
                    self.poll()
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = sleep(wait) => {}
            }
        }
    }

    /// Polling often enough to notice a release quickly, rarely enough to cost nothing.
    fn poll(&self) -> Duration {
        (self.ttl / 20).clamp(Duration::from_millis(50), Duration::from_millis(500))
    }

    async fn try_acquire(&self) -> anyhow::Result<Attempt> {
        match self.bucket.create(KEY, self.value()).await {
            Ok(revision) => return Ok(Attempt::Taken(revision)),
            Err(error) if error.kind() == CreateErrorKind::AlreadyExists => {}
            Err(error) => return Err(error).context("creating the lease"),
        }
        let Some(entry) = self.bucket.entry(KEY).await.context("reading the lease")? else {
            return Ok(Attempt::HeldFor(Duration::ZERO));
        };
        let left = match entry.operation {
            Operation::Delete | Operation::Purge => Duration::ZERO,
            // The server's stamp of the last renewal, so a holder's slow clock cannot extend it.
            Operation::Put => self.ttl.saturating_sub(age(entry.created.unix_timestamp_nanos())),
        };
        if !left.is_zero() {
            return Ok(Attempt::HeldFor(left));
        }
        match self.bucket.update(KEY, self.value(), entry.revision).await {
            Ok(revision) => Ok(Attempt::Taken(revision)),
            Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => Ok(Attempt::HeldFor(Duration::ZERO)),
            Err(error) => Err(error).context("taking over an expired lease"),
        }
    }

    /// Renews the lease every TTL/3 until `term` is cancelled, then releases it. Cancels `term`
    /// itself when the lease is lost: taken by another, or not renewed before it could expire.
    pub async fn hold(&self, mut tenure: Tenure, term: CancellationToken) {
        let period = self.ttl / 3;
        let mut next = tenure.renewed_at + period;
        // Renewals find out late that another projector took over; watching the key finds out at
        // once, so a deposed projector stops fetching before it can take a batch from the new one.
        let mut watch = self.bucket.watch(KEY).await.ok();
        loop {
            tokio::select! {
                _ = term.cancelled() => break,
                _ = sleep_until(next) => {}
                change = next_change(&mut watch) => {
                    match change {
                        Some(Ok(entry)) if self.is_ours(&entry) => {}
                        Some(Ok(_)) => {
                            tracing::warn!("another projector took the lease; standing down");
                            term.cancel();
                            return;
                        }
                        // Renewals still tell; the watch is only the faster of the two.
                        Some(Err(_)) | None => watch = None,
                    }
                    continue;
                }
            }
            let sent = Instant::now();
            match self.bucket.update(KEY, self.value(), tenure.revision).await {
                Ok(revision) => {
                    tenure = Tenure { revision, renewed_at: sent };
                    next = sent + period;
                }
                Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => {
                    tracing::warn!("another projector took the lease; standing down");
                    term.cancel();
                    return;
                }
                Err(error) => {
                    // Step down a retry early, before a standby could take over, clock drift aside.
                    if Instant::now() + RETRY >= tenure.renewed_at + self.ttl {
                        tracing::warn!(%error, "could not renew the projector lease in time; standing down");
                        term.cancel();
                        return;
                    }
                    tracing::warn!(%error, "could not renew the projector lease; retrying");
                    next = Instant::now() + RETRY;
                }
            }
        }
        // Only if still ours, so a standby takes over at once instead of after the TTL.
        if let Err(error) = self.bucket.delete_expect_revision(KEY, Some(tenure.revision)).await {
            tracing::debug!(%error, "did not release the projector lease; it expires on its own");
        }
    }
}

impl Lease {
    /// Whether a change of the key is one of this projector's own renewals.
    fn is_ours(&self, entry: &kv::Entry) -> bool {
        entry.operation == Operation::Put
            && serde_json::from_slice::<serde_json::Value>(&entry.value)
                .is_ok_and(|value| value["holder"].as_str() == Some(self.holder.as_str()))
    }
}

async fn next_change(watch: &mut Option<kv::Watch>) -> Option<Result<kv::Entry, kv::WatcherError>> {
    use futures::StreamExt;
    match watch {
        Some(watch) => watch.next().await,
        None => std::future::pending().await,
    }
}

enum Attempt {
    Taken(u64),
    /// Someone holds it for about this much longer.
    HeldFor(Duration),
}

/// Time since a moment given in nanoseconds since the epoch.
fn age(created_nanos: i128) -> Duration {
    let now = Utc::now().timestamp_nanos_opt().map(i128::from).unwrap_or(i128::MAX);
    let nanos = now - created_nanos;
    Duration::from_nanos(u64::try_from(nanos.max(0)).unwrap_or(u64::MAX))
}
