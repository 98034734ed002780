//! The all-in-one process: runs any mix of the api, prober, projector and notifier roles over one store and
//! one bus. With no settings it is self-contained: a SQLite file and the in-process bus.

pub mod cli;
pub mod keys;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use healthmon_api::ApiConfig;
use healthmon_bus::{EventBus, NatsBus};
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_prober::MembershipConfig;
use healthmon_projector::Projector;
use healthmon_projector::lease::LeaseConfig;
use healthmon_projector::retention::HistoryRetention;
use healthmon_runtime::ops::{self, Readiness, Server};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_runtime::{Role, Settings, connect};
use healthmon_store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The store and bus the roles of one process share.
#[derive(Clone)]
pub struct Components {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn EventBus>,
    /// The same bus as NATS, when it is NATS: prober membership lives in its KV buckets.
    pub nats: Option<NatsBus>,
}

impl Components {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        let (bus, nats) = connect::bus(settings).await?;
        Ok(Self { store: connect::store(settings).await?, bus, nats })
    }
}

/// A started process: its address, and the means to stop it gracefully or kill it outright.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    server: Server,
}

impl Running {
    /// Stops every role and waits for in-flight requests to finish.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        self.server.wait().await
    }

    /// Aborts every role at once, as a crash would (nothing is flushed or acked).
    pub fn kill(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.shutdown.cancel();
    }
}

/// Starts the roles the settings name, sharing `components`.
pub async fn start(settings: &Settings, components: Components) -> anyhow::Result<Running> {
    let roles = &settings.roles;
    // Before any role records a metric: what is recorded before installation is lost.
    healthmon_runtime::metrics::install();
    let shutdown = CancellationToken::new();
    let Components { store, bus, nats } = components;
    let relay = OutboxRelay::new(store.clone(), bus.clone());
    let mut tasks = Vec::new();
    if [Role::Api, Role::Projector, Role::Notifier].into_iter().any(|role| roles.contains(role)) {
        tasks.push(tokio::spawn(relay.clone().run(shutdown.clone())));
    }
    if roles.contains(Role::Notifier) {
        let config = notifier_config(settings)?;
        let run = healthmon_notifier::run(store.clone(), bus.clone(), relay.clone(), config, shutdown.clone());
        tasks.push(tokio::spawn(run));
    }
    if roles.contains(Role::Projector) {
        let retention = HistoryRetention { raw: settings.raw_retention.0, rollups: settings.rollup_retention.0 };
        let projector = Projector::new(store.clone(), relay.clone(), &settings.instance, settings.projector_ack_wait)
            .with_retention(retention);
        let lease = projector_lease(nats.clone(), settings);
        tasks.push(tokio::spawn(projector.run(bus.clone(), lease, shutdown.clone())));
    }
    if roles.contains(Role::Prober) {
        let config = healthmon_prober::ProberConfig {
            instance: settings.instance.clone(),
            address_policy: address_policy(settings),
            keys_dir: settings.keys_dir.clone().into(),
            membership: prober_membership(nats, settings),
            buffer_bound: settings.prober_buffer,
        };
        let (bus, shutdown) = (bus.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(error) = healthmon_prober::run(bus, config, shutdown).await {
                tracing::error!(error = %format!("{error:#}"), "prober stopped");
            }
        }));
    }
    let (router, shortcut) = if roles.contains(Role::Api) {
        let state = healthmon_api::start(store, bus, relay, api_config(settings)?, shutdown.clone()).await?;
        (healthmon_api::router(state.clone()), healthmon_api::healthz_shortcut(state))
    } else {
        let needs_store = roles.contains(Role::Projector) || roles.contains(Role::Notifier);
        (ops::standalone_router(Readiness { store: needs_store.then_some(store), bus }), None)
    };
    let server = ops::serve(&settings.listen, router, shortcut, shutdown.clone()).await?;
    tracing::info!(roles = %roles, addr = %server.addr, instance = %settings.instance, "healthmon started");
    Ok(Running { addr: server.addr, shutdown, tasks, server })
}

/// Alone on the in-process bus; with NATS, a member of the probers' KV bucket.
fn prober_membership(nats: Option<NatsBus>, settings: &Settings) -> MembershipConfig {
    match nats {
        None => MembershipConfig::Solo,
        Some(nats) => MembershipConfig::NatsKv { nats, heartbeat_ttl: settings.heartbeat_ttl },
    }
}

/// Always active on the in-process bus; with NATS, active while holding the lease.
fn projector_lease(nats: Option<NatsBus>, settings: &Settings) -> LeaseConfig {
    match nats {
        None => LeaseConfig::Solo,
        Some(nats) => LeaseConfig::NatsKv { nats, ttl: settings.projector_lease_ttl },
    }
}

fn address_policy(settings: &Settings) -> AddressPolicy {
    AddressPolicy::new(settings.target_deny.blocks().to_vec(), settings.target_allow.blocks().to_vec())
}

/// The notifier opens notifiers' sealed secrets, so it holds the key ring, as a prober does.
fn notifier_config(settings: &Settings) -> anyhow::Result<healthmon_notifier::NotifierConfig> {
    let dir = std::path::Path::new(&settings.keys_dir);
    let keys = healthmon_crypto::LiveKeyRing::open_dir(dir)
        .with_context(|| format!("opening the key ring in {}", dir.display()))?;
    let sender = healthmon_notifier::send::Sender::new(Arc::new(keys), Arc::new(address_policy(settings)))?;
    Ok(healthmon_notifier::NotifierConfig {
        instance: settings.instance.clone(),
        give_up_after: settings.delivery_give_up,
        sender: Arc::new(sender),
    })
}

fn api_config(settings: &Settings) -> anyhow::Result<ApiConfig> {
    Ok(ApiConfig {
        instance: settings.instance.clone(),
        admin_password: settings.admin_password.as_ref().map(|secret| secret.expose().to_owned()),
        protect_healthz: settings.protect_healthz,
        session_ttl: chrono::Duration::from_std(settings.session_ttl).context("session_ttl_s is out of range")?,
        request_timeout: settings.request_timeout,
        cors_origins: settings.cors_origins.header_values().to_vec(),
        address_policy: address_policy(settings),
        sealing_key: Some(healthmon_runtime::keys::sealing_key(std::path::Path::new(&settings.keys_dir))?),
        raw_retention: settings.raw_retention.0,
        status_page: settings
            .status_page
            .then(|| healthmon_api::status::StatusPageConfig { title: settings.status_title.clone() }),
    })
}
