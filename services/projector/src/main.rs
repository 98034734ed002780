//! `healthmon-projector`: a process that runs only the projector role (needs Postgres and NATS).

use clap::Parser;
use healthmon_projector::Projector;
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_runtime::{SettingsArgs, connect, ops, settings::Settings, shutdown, telemetry};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "healthmon-projector", version, about = "healthmon projector role")]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load(&Cli::parse().settings)?;
    telemetry::init(&settings.log_format, &settings.log);
    anyhow::ensure!(settings.nats_url.is_some(), "the projector role on its own needs HEALTHMON_NATS_URL");
    let (store, bus) = (connect::store(&settings).await?, connect::bus(&settings).await?);
    let shutdown_token = CancellationToken::new();
    let readiness = ops::Readiness { store: Some(store.clone()), bus: bus.clone() };
    let server = ops::serve(&settings.listen, ops::router(readiness), shutdown_token.clone()).await?;
    let relay = OutboxRelay::new(store.clone(), bus.clone());
    tokio::spawn(relay.clone().run(shutdown_token.clone()));
    let projector =
        Projector::new(store, relay, &settings.instance, std::time::Duration::from_secs(settings.projector_ack_wait_s));
    tokio::select! {
        _ = projector.run(bus, shutdown_token.clone()) => {}
        _ = shutdown::signal() => shutdown_token.cancel(),
    }
    shutdown_token.cancel();
    server.wait().await
}
