//! The command-line client: subcommands that talk to a running healthmon over its HTTP API. The
//! `healthmon` binary runs it when given a client subcommand (`healthmon targets list`, …); it
//! reads every answer as the API's own wire types (`healthmon_wire`).

mod alerting;
mod api;
mod apply;
pub mod args;
mod manifest;
pub mod plan;
mod render;
mod secrets;
mod session;
mod sse;
mod targets;
mod uptime;
mod watch;

use std::process::ExitCode;

use api::Api;
use args::{ClientCommand, Output};
use healthmon_wire::HealthBreakdown;

/// Runs one client command; errors go to stderr. Exit 0 on success, 1 when `status` finds an
/// unhealthy target or `notifiers test` could not deliver, 2 on any error.
pub fn run(command: ClientCommand) -> ExitCode {
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(dispatch(command)));
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("healthmon: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(command: ClientCommand) -> anyhow::Result<ExitCode> {
    match command {
        ClientCommand::Login { connection, username } => session::login(&Api::new(&connection)?, &username).await?,
        ClientCommand::Targets { connection, action } => targets::run(&Api::new(&connection)?, action).await?,
        ClientCommand::Status { connection, output } => {
            let health: HealthBreakdown = Api::new(&connection)?.get("/api/v1/health").await?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&health)?),
                Output::Table => print!("{}", render::status(&health.items)),
            }
            return Ok(if render::all_healthy(&health.items) { ExitCode::SUCCESS } else { ExitCode::from(1) });
        }
        ClientCommand::Notifiers { connection, action } => {
            return alerting::notifiers::run(&Api::new(&connection)?, action).await;
        }
        ClientCommand::Alerts { connection, action } => alerting::run_alerts(&Api::new(&connection)?, action).await?,
        ClientCommand::Deliveries { alert, notifier, target, status, limit, output, connection } => {
            let filters = alerting::deliveries::Filters { alert, notifier, target, status };
            alerting::deliveries::run(&Api::new(&connection)?, filters, limit, output).await?;
        }
        ClientCommand::Uptime { window, tag, output, connection } => {
            uptime::run(&Api::new(&connection)?, &window, tag, output).await?
        }
        ClientCommand::Watch { connection } => watch::run(&Api::streaming(&connection)?).await?,
        ClientCommand::Apply { connection, file, dry_run } => {
            apply::run(&Api::new(&connection)?, &file, dry_run).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
