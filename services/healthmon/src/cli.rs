//! The command line shared by `healthmon` and the single-role binaries.

use std::process::ExitCode;

use clap::Parser;
use healthmon_runtime::settings::Roles;
use healthmon_runtime::{Role, Settings, SettingsArgs, shutdown, telemetry};

use crate::{Components, start};
use healthmon_cli::args::ClientCommand;

#[derive(Parser)]
#[command(
    version,
    about = "Health monitoring for the resources your application depends on",
    long_about = "Runs the healthmon roles (api, prober, projector). With no settings: a SQLite file and the \
                  in-process bus. Settings layer as defaults < TOML file (--config) < HEALTHMON_* environment < flags."
)]
struct Cli {
    #[command(flatten, next_help_heading = "Server settings")]
    settings: SettingsArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Manage the key pair that seals stored credentials.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    #[command(flatten)]
    Client(ClientCommand),
}

#[derive(clap::Subcommand)]
enum KeysAction {
    /// Make a new key pair, re-seal every stored credential with it, then delete the old keys.
    /// Give probers on other hosts the new key files (`keys_dir`) before running this.
    Rotate,
}

/// Parses settings, then runs the roles until SIGTERM or Ctrl-C. `fixed_role` pins the role of a
/// single-role binary, whatever the settings say. Client commands run first: they talk to a
/// server over HTTP and need none of its settings.
pub fn main(fixed_role: Option<Role>) -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    if let Some(Command::Client(command)) = cli.command {
        return Ok(healthmon_cli::run(command));
    }
    let mut settings = Settings::load(&cli.settings)?;
    if let Some(role) = fixed_role {
        settings.roles = Roles::only(role);
    }
    telemetry::init(settings.log_format, &settings.log);
    if let Some(Command::Keys { action: KeysAction::Rotate }) = cli.command {
        let runtime = tokio::runtime::Runtime::new()?;
        let rotation = runtime.block_on(crate::keys::rotate(&settings))?;
        println!(
            "new key {}; re-sealed the credentials of {} targets and {} notifiers",
            rotation.new_key_id, rotation.targets_resealed, rotation.notifiers_resealed
        );
        return Ok(ExitCode::SUCCESS);
    }
    anyhow::ensure!(
        settings.roles.are_all() || settings.nats_url.is_some(),
        "a process that runs only some roles needs HEALTHMON_NATS_URL (the in-process bus cannot be shared)"
    );
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let stop_requested = shutdown::signal();
        let components = Components::connect(&settings).await?;
        let running = start(&settings, components).await?;
        stop_requested.await;
        tracing::info!("shutting down");
        running.stop().await
    })?;
    Ok(ExitCode::SUCCESS)
}
