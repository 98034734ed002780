//! Scenario `healthz`: requests/s and latency of `GET /healthz` on a full healthmon (every role
//! running, its targets probed) against a minimal axum handler answering a pre-rendered body
//! from an `ArcSwap` snapshot, both driven by the same load generator. Two shapes: distributed
//! (each role started in this process over Postgres and NATS, loaded by our own generator), and
//! the embedded all-in-one binary as a user runs it, loaded by `wrk` from a process of its own,
//! the way a load balancer's health checks arrive.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::baseline_server::BaselineServer;
use anyhow::Context;
use arc_swap::ArcSwap;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::routing::get;
use bytes::Bytes;

use crate::cluster::{self, Cluster};
use crate::embedded::Embedded;
use crate::infra::Infra;
use crate::load::Load;
use crate::report;
use crate::target_server::TargetServer;
use crate::wrk;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Target counts to run at, one block each.
    #[arg(long, value_delimiter = ',', default_values_t = [10usize, 100_000])]
    pub targets: Vec<usize>,
    /// Keep-alive connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Measured seconds per side.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Unmeasured seconds before each measurement.
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
    /// Targets of the embedded run, probed every second (0 skips the embedded run).
    #[arg(long, default_value_t = 20)]
    pub embedded_targets: usize,
    /// wrk's connections in the embedded run (one wrk thread).
    #[arg(long, default_value_t = 64)]
    pub wrk_connections: usize,
}

/// healthmon must reach at least this share of the baseline's requests/s.
const TARGET_RATIO: f64 = 0.9;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    for &targets in &args.targets {
        Infra::scope(async |infra| one(infra, args, targets).await).await?;
    }
    if args.embedded_targets > 0 {
        embedded(args).await?;
    }
    Ok(())
}

/// The all-in-one binary on SQLite and the in-process bus, its targets probed every second, and
/// the baseline, each loaded by `wrk -t1 -c<wrk_connections>` in turn.
async fn embedded(args: &Args) -> anyhow::Result<()> {
    let targets = args.embedded_targets;
    report::title(&format!(
        "healthz, embedded all-in-one ({targets} targets at 1 s, wrk -t1 -c{}, {} s)",
        args.wrk_connections, args.duration
    ));
    let server = TargetServer::start(1)?;
    let healthmon = Embedded::start()?;
    let specs = (0..targets).map(|i| cluster::http_target(format!("embedded-{i}"), server.url(i), 1, 5)).collect();
    healthmon.create_targets(specs).await?;
    let client = reqwest::Client::new();
    let healthy = cluster::poll(Duration::from_secs(60), Duration::from_millis(200), || async {
        let (status, body) = cluster::healthz(&client, healthmon.addr).await.ok()?;
        (status == 200 && body["total"].as_u64() == Some(targets as u64)).then_some(())
    })
    .await;
    anyhow::ensure!(healthy.is_some(), "the embedded healthmon's targets did not all turn healthy within 60 s");
    let (status, body) = cluster::healthz(&client, healthmon.addr).await?;
    let duration = Duration::from_secs(args.duration);
    // Unmeasured, so both sides start warm.
    wrk::run(healthmon.addr, "/healthz", 1, args.wrk_connections, Duration::from_secs(args.warmup)).await?;
    let measured = wrk::run(healthmon.addr, "/healthz", 1, args.wrk_connections, duration).await?;
    report::line("healthmon", &measured.summary());
    let status = StatusCode::from_u16(status).context("the /healthz status")?;
    let body = Bytes::from(serde_json::to_vec(&body).context("render the /healthz body")?);
    let baseline_server = start_baseline(status, body).await?;
    wrk::run(baseline_server.addr, "/healthz", 1, args.wrk_connections, Duration::from_secs(args.warmup)).await?;
    let baseline = wrk::run(baseline_server.addr, "/healthz", 1, args.wrk_connections, duration).await?;
    baseline_server.stop().await;
    report::line("baseline", &baseline.summary());
    anyhow::ensure!(measured.errors == 0 && baseline.errors == 0, "wrk saw errors: the figures are not comparable");
    report::ratio(measured.per_second / baseline.per_second.max(1e-9), TARGET_RATIO);
    Ok(())
}

/// Probe interval: short for a handful of targets, a minute at scale.
fn interval_for(targets: usize) -> u32 {
    if targets <= 1_000 { 5 } else { 60 }
}

async fn one(infra: &Infra, args: &Args, targets: usize) -> anyhow::Result<()> {
    let server = TargetServer::start(1)?;
    let cluster = Cluster::start(infra, &["api", "projector", "prober"]).await?;
    let outcome = measure(infra, args, targets, &server, &cluster).await;
    cluster.stop().await;
    outcome
}

async fn measure(
    infra: &Infra,
    args: &Args,
    targets: usize,
    server: &TargetServer,
    cluster: &Cluster,
) -> anyhow::Result<()> {
    let addr = cluster.api()?;
    let interval = interval_for(targets);
    report::title(&format!("healthz ({targets} targets, {} connections, {} s)", args.connections, args.duration));
    let components = infra.components().await?;
    // Healthy after one good probe, so even 100,000 targets at 60 s turn healthy in about a minute.
    let specs =
        (0..targets).map(|i| cluster::http_target(format!("healthz-{i}"), server.url(i), interval, 1)).collect();
    let started = Instant::now();
    cluster::create_targets(&components.store, specs).await?;

    let client = reqwest::Client::new();
    let expected = targets as u64;
    let limit = Duration::from_secs(u64::from(interval) * 3 + 120);
    let healthy = cluster::poll(limit, Duration::from_millis(500), || async {
        let (status, body) = cluster::healthz(&client, addr).await.ok()?;
        (status == 200 && body["total"].as_u64() == Some(expected)).then_some(())
    })
    .await;
    let (status, body) = cluster::healthz(&client, addr).await?;
    match healthy {
        Some(()) => report::line(
            "setup",
            &format!("all {targets} healthy, /healthz 200 after {:.1} s", started.elapsed().as_secs_f64()),
        ),
        None => report::line("setup", &format!("not all healthy after {limit:?}: /healthz {status} {body}")),
    }

    let load = Load {
        addr,
        paths: Arc::new(vec!["/healthz".to_owned()]),
        token: None,
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    let healthmon = load.run().await?;
    report::line("healthmon", &healthmon.summary());

    // The same answer healthmon gave, pre-rendered, under the same background load.
    let status = StatusCode::from_u16(status).context("the /healthz status")?;
    let body = Bytes::from(serde_json::to_vec(&body).context("render the /healthz body")?);
    let baseline_server = start_baseline(status, body).await?;
    let baseline = Load { addr: baseline_server.addr, ..load }.run().await?;
    baseline_server.stop().await;
    report::line("baseline", &baseline.summary());
    report::ratio(healthmon.per_second() / baseline.per_second().max(1e-9), TARGET_RATIO);
    Ok(())
}

/// The pre-rendered answer the baseline serves.
struct Snapshot {
    status: StatusCode,
    body: Bytes,
}

/// The least a server can do to answer a health check from memory: axum, one route, one atomic
/// pointer load.
async fn start_baseline(status: StatusCode, body: Bytes) -> anyhow::Result<BaselineServer> {
    let snapshot = Arc::new(ArcSwap::from_pointee(Snapshot { status, body }));
    BaselineServer::start(Router::new().route("/healthz", get(answer)).with_state(snapshot)).await
}

async fn answer(
    State(snapshot): State<Arc<ArcSwap<Snapshot>>>,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], Bytes) {
    let snapshot = snapshot.load();
    (snapshot.status, [(header::CONTENT_TYPE, "application/json")], snapshot.body.clone())
}
