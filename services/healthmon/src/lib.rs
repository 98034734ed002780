//! The all-in-one process: runs any mix of the api, prober and projector roles over one store and
//! one bus. With no settings it is self-contained: a SQLite file and the in-process bus.

pub mod cli;

use std::net::SocketAddr;
use std::sync::Arc;

use healthmon_bus::EventBus;
use healthmon_projector::Projector;
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
}

impl Components {
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        Ok(Self { store: connect::store(settings).await?, bus: connect::bus(settings).await? })
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
    let roles = settings.role_list()?;
    let shutdown = CancellationToken::new();
    let Components { store, bus } = components;
    let relay = OutboxRelay::new(store.clone(), bus.clone());
    let mut tasks = Vec::new();
    if roles.contains(&Role::Api) || roles.contains(&Role::Projector) {
        tasks.push(tokio::spawn(relay.clone().run(shutdown.clone())));
    }
    if roles.contains(&Role::Projector) {
        let projector = Projector::new(
            store.clone(),
            relay.clone(),
            &settings.instance,
            std::time::Duration::from_secs(settings.projector_ack_wait_s),
        );
        tasks.push(tokio::spawn(projector.run(bus.clone(), shutdown.clone())));
    }
    if roles.contains(&Role::Prober) {
        let config = healthmon_prober::ProberConfig { instance: settings.instance.clone() };
        let (bus, shutdown) = (bus.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(error) = healthmon_prober::run(bus, config, shutdown).await {
                tracing::error!(error = %format!("{error:#}"), "prober stopped");
            }
        }));
    }
    let router = if roles.contains(&Role::Api) {
        let state = healthmon_api::start(store, bus, relay, &settings.instance, shutdown.clone());
        healthmon_api::router(state)
    } else {
        let needs_store = roles.contains(&Role::Projector);
        ops::router(Readiness { store: needs_store.then_some(store), bus })
    };
    let server = ops::serve(&settings.listen, router, shutdown.clone()).await?;
    let names: Vec<&str> = roles.iter().map(|role| role.as_str()).collect();
    tracing::info!(roles = %names.join(","), addr = %server.addr, instance = %settings.instance, "healthmon started");
    Ok(Running { addr: server.addr, shutdown, tasks, server })
}
