//! `healthmon-api`: a process that runs only the API role (needs Postgres and NATS).

use clap::Parser;
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_runtime::{SettingsArgs, connect, ops, settings::Settings, shutdown, telemetry};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "healthmon-api", version, about = "healthmon API role")]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load(&Cli::parse().settings)?;
    telemetry::init(&settings.log_format, &settings.log);
    anyhow::ensure!(settings.nats_url.is_some(), "the API role on its own needs HEALTHMON_NATS_URL");
    let (store, bus) = (connect::store(&settings).await?, connect::bus(&settings).await?);
    let shutdown_token = CancellationToken::new();
    let relay = OutboxRelay::new(store.clone(), bus.clone());
    tokio::spawn(relay.clone().run(shutdown_token.clone()));
    let state = healthmon_api::start(store, bus, relay, &settings.instance, shutdown_token.clone());
    let server = ops::serve(&settings.listen, healthmon_api::router(state), shutdown_token.clone()).await?;
    shutdown::signal().await;
    shutdown_token.cancel();
    server.wait().await
}
