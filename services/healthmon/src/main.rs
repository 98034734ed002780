//! `healthmon`: the all-in-one binary; `--roles` picks which roles this process runs.

use clap::Parser;
use healthmon::{Components, start};
use healthmon_runtime::{Settings, SettingsArgs, shutdown, telemetry};

#[derive(Parser)]
#[command(
    name = "healthmon",
    version,
    about = "Health monitoring for the resources your application depends on",
    long_about = "Runs the healthmon roles (api, prober, projector). With no settings: a SQLite file and the \
                  in-process bus. Settings layer as defaults < TOML file (--config) < HEALTHMON_* environment < flags."
)]
struct Cli {
    #[command(flatten)]
    settings: SettingsArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = Settings::load(&Cli::parse().settings)?;
    telemetry::init(&settings.log_format, &settings.log);
    let all_roles = settings.role_list()?.len() == healthmon_runtime::Role::ALL.len();
    anyhow::ensure!(
        all_roles || settings.nats_url.is_some(),
        "a process that runs only some roles needs HEALTHMON_NATS_URL (the in-process bus cannot be shared)"
    );
    let components = Components::connect(&settings).await?;
    let running = start(&settings, components).await?;
    shutdown::signal().await;
    tracing::info!("shutting down");
    running.stop().await
}
