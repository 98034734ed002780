//! `bench`: runs one healthmon benchmark scenario and its baseline in the same process, against
//! Postgres and NATS on loopback, and prints both sets of figures.
//!
//! `cargo run --release -p bench -- <healthz|ingest|history|probes|events|reads|alerts|status|all> [flags]`

mod alerts;
mod baseline_server;
mod cluster;
mod embedded;
mod events;
mod healthz;
mod history;
mod infra;
mod ingest;
mod load;
mod probes;
mod procstat;
mod reads;
mod report;
mod status;
mod target_server;
mod wrk;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bench", about = "healthmon benchmarks, each against its baseline, on 127.0.0.1")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Debug, Subcommand)]
enum Scenario {
    /// GET /healthz on a full healthmon vs. a pre-rendered ArcSwap answer.
    Healthz(healthz::Args),
    /// Samples/s from JetStream into Postgres: the projector vs. a minimal UNNEST insert.
    Ingest(ingest::Args),
    /// A year of history: uptime and series per window vs. raw scans; ingest during a purge.
    History(history::Args),
    /// The prober at scale: probes/s, scheduling lag, CPU and RSS (vs. blackbox exporter).
    Probes(probes::Args),
    /// Sample published to health.changed on NATS and SSE, vs. a bare NATS round trip.
    Events(events::Args),
    /// Target and history reads over a large history vs. the same SQL behind bare axum.
    Reads(reads::Args),
    /// 1,000 targets flipping: health change to webhook request, and deliveries/s vs. a bare POST loop.
    Alerts(alerts::Args),
    /// 1,000 public targets with 30 days of history: /status and /api/v1/status vs. the same bytes from bare axum.
    Status(status::Args),
    /// Every scenario in turn, at its defaults.
    All,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Warnings and errors only, the figures go to stdout; sqlx's slow-statement warnings are left
    // out (RUST_LOG=warn shows them).
    healthmon_runtime::telemetry::init(healthmon_runtime::settings::LogFormat::Text, "warn,sqlx::query=error");
    match cli.scenario {
        Scenario::All => all().await,
        scenario => run(scenario).await,
    }
}

async fn run(scenario: Scenario) -> anyhow::Result<()> {
    match scenario {
        Scenario::Healthz(args) => healthz::run(&args).await,
        Scenario::Ingest(args) => ingest::run(&args).await,
        Scenario::History(args) => history::run(&args).await,
        Scenario::Probes(args) => probes::run(&args).await,
        Scenario::Events(args) => events::run(&args).await,
        Scenario::Reads(args) => reads::run(&args).await,
        Scenario::Alerts(args) => alerts::run(&args).await,
        Scenario::Status(args) => status::run(&args).await,
        Scenario::All => anyhow::bail!("`all` runs the other scenarios"),
    }
}

/// Every scenario at its defaults, one after another; a failing one does not stop the rest.
async fn all() -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for name in ["healthz", "ingest", "history", "probes", "events", "reads", "alerts", "status"] {
        let scenario = Cli::try_parse_from(["bench", name])?.scenario;
        if let Err(error) = run(scenario).await {
            eprintln!("{name} failed: {error:#}");
            failed.push(name);
        }
    }
    anyhow::ensure!(failed.is_empty(), "scenarios failed: {}", failed.join(", "));
    Ok(())
}
