//! `healthmon-prober`: a process that runs only the prober role (needs NATS).

use clap::Parser;
use healthmon_runtime::{SettingsArgs, connect, ops, settings::Settings, shutdown, telemetry};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(name = "healthmon-prober", version, about = "healthmon prober role")]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load(&Cli::parse().settings)?;
    telemetry::init(&settings.log_format, &settings.log);
    anyhow::ensure!(settings.nats_url.is_some(), "the prober role on its own needs HEALTHMON_NATS_URL");
    let bus = connect::bus(&settings).await?;
    let shutdown_token = CancellationToken::new();
    let readiness = ops::Readiness { store: None, bus: bus.clone() };
    let server = ops::serve(&settings.listen, ops::router(readiness), shutdown_token.clone()).await?;
    let prober = healthmon_prober::run(
        bus,
        healthmon_prober::ProberConfig { instance: settings.instance },
        shutdown_token.clone(),
    );
    tokio::select! {
        result = prober => result?,
        _ = shutdown::signal() => shutdown_token.cancel(),
    }
    shutdown_token.cancel();
    server.wait().await?;
    Ok(())
}
