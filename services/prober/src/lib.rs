//! The prober role: follows the target plan, probes each target on its own interval and publishes
//! one `probe.sampled` event per probe, through a bounded buffer that rides out bus outages.

pub mod buffer;
pub mod check;
mod launcher;
pub mod membership;
pub mod ownership;
pub mod plan;
pub mod scheduler;

use std::path::PathBuf;
use std::sync::Arc;

use healthmon_bus::EventBus;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::events::source;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::buffer::SampleBuffer;
use crate::check::Checker;
use crate::launcher::SampleLauncher;
use crate::membership::Membership;
pub use crate::membership::{DEFAULT_HEARTBEAT_TTL, MembershipConfig};
use crate::scheduler::Scheduler;

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
    /// Samples held while the bus cannot take them; beyond it the oldest are dropped.
    pub buffer_bound: usize,
}

/// Runs the prober until `shutdown` fires.
pub async fn run(bus: Arc<dyn EventBus>, config: ProberConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    // The metrics below go nowhere unless the recorder is installed first.
    healthmon_runtime::metrics::install();
    let buffer = SampleBuffer::new(config.buffer_bound);
    let launcher = SampleLauncher::new(
        Checker::new(Arc::new(config.address_policy.clone()), &config.keys_dir)?,
        buffer.clone(),
        source("prober", &config.instance),
        &config.instance,
    );
    // Aborted with this task, so a killed prober flushes nothing, as a crash would.
    let publisher = AbortOnDropHandle::new(tokio::spawn(buffer::publish_until_flushed(
        buffer,
        bus.clone(),
        shutdown.clone(),
        buffer::FLUSH_LIMIT,
    )));
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
        buffer_bound = config.buffer_bound,
        "prober started"
    );
    Scheduler::new(launcher).run(owned_rx, shutdown).await;
    follower.abort();
    filter.abort();
    let (_, published) = tokio::join!(membership.left(), publisher);
    if let Err(error) = published {
        tracing::error!(%error, "the sample publisher failed");
    }
    Ok(())
}
