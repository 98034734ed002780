//! The prober role: follows the target plan, probes each target on its own interval and publishes
//! one `probe.sampled` event per probe.

pub mod check;
pub mod membership;
pub mod ownership;
pub mod plan;
pub mod scheduler;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use healthmon_bus::{EventBus, Stream};
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::events::{encode_sample, source};
use healthmon_domain::sample::sample_id;
use healthmon_domain::{Check, Sample, Target};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::check::Checker;
use crate::membership::Membership;
pub use crate::membership::{DEFAULT_HEARTBEAT_TTL, MembershipConfig};
use crate::scheduler::{ProbeDone, ProbeLauncher, Scheduler};

#[derive(Debug, Clone)]
pub struct ProberConfig {
    /// This prober's name, recorded in every sample.
    pub instance: String,
    /// Where probes may connect; enforced on resolved addresses and on every redirect hop.
    pub address_policy: AddressPolicy,
    /// The key ring SSH credentials are opened with (created on first start).
    pub keys_dir: PathBuf,
    /// How this prober learns which others are alive, and so which targets are its own.
    pub membership: MembershipConfig,
}

/// Runs the prober until `shutdown` fires.
pub async fn run(bus: Arc<dyn EventBus>, config: ProberConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    let launcher = SampleLauncher {
        checker: Checker::new(Arc::new(config.address_policy.clone()), &config.keys_dir)?,
        bus: bus.clone(),
        source: Arc::from(source("prober", &config.instance)),
        instance: Arc::from(config.instance.as_str()),
    };
    let membership = Membership::join(&config.membership, &config.instance, shutdown.clone()).await?;
    let (plan_tx, plan_rx) = mpsc::channel(1024);
    let (owned_tx, owned_rx) = mpsc::channel(1024);
    let follower = tokio::spawn(plan::follow(bus, plan_tx, shutdown.clone()));
    let filter = tokio::spawn(ownership::filter(
        plan_rx,
        membership.members(),
        membership.name().to_string(),
        owned_tx,
        shutdown.clone(),
    ));
    tracing::info!(
        instance = %config.instance,
        address_policy = %config.address_policy,
        membership = ?config.membership,
        "prober started"
    );
    Scheduler::new(launcher).run(owned_rx, shutdown).await;
    follower.abort();
    filter.abort();
    membership.left().await;
    Ok(())
}

/// Probes in a task of its own and publishes the sample.
struct SampleLauncher {
    checker: Checker,
    bus: Arc<dyn EventBus>,
    source: Arc<str>,
    instance: Arc<str>,
}

impl ProbeLauncher for SampleLauncher {
    fn launch(&self, target: Arc<Target>, slot_ms: i64, done: ProbeDone) {
        let (checker, bus, source, instance) =
            (self.checker.clone(), self.bus.clone(), self.source.clone(), self.instance.clone());
        let span = tracing::debug_span!("probe", target_id = %target.id, slot = slot_ms);
        tokio::spawn(
            async move {
                let at = Utc::now();
                let outcome = checker.check(&target).await;
                drop(done);
                let sample = Sample {
                    id: sample_id(target.id, slot_ms),
                    target_id: target.id,
                    slot: slot_ms,
                    at,
                    success: outcome.success,
                    status_code: outcome.status_code,
                    latency_ms: outcome.latency_ms,
                    error: outcome.error,
                    prober: instance.to_string(),
                    check_version: target.check_version,
                    pin_host_key: first_use_pin(&target, outcome.observed_host_key),
                };
                let payload = Bytes::from(encode_sample(&sample, &source));
                let key = target.id.to_string();
                if let Err(error) = bus.publish(Stream::Samples, &key, &sample.id.to_string(), payload).await {
                    tracing::warn!(error = %format!("{error:#}"), "could not publish a sample");
                }
            }
            .instrument(span),
        );
    }
}

/// The host key to pin, when a trust-on-first-use SSH target met one while it had no pin yet.
fn first_use_pin(target: &Target, observed: Option<String>) -> Option<String> {
    match &target.spec.check {
        Check::Ssh(ssh) if ssh.trust_on_first_use && ssh.host_key_sha256.is_none() => observed,
        _ => None,
    }
}
