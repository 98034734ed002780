//! Scenario `status`: the public status page at scale. A thousand public targets with thirty days
//! of rollups behind them; `GET /status` and `GET /api/v1/status` under load, against a bare axum
//! server answering the very same bytes (the floor: HTTP on loopback with nothing to compute);
//! then the page's first-load weight as a browser gets it (gzip), and the cold read of its
//! history figures, which a request pays once every 30 s.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use uuid::Uuid;

use crate::baseline_server::BaselineServer;
use crate::cluster::{self, Cluster};
use crate::infra::Infra;
use crate::load::Load;
use crate::report;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Public targets on the page.
    #[arg(long, default_value_t = 1_000)]
    pub targets: usize,
    /// Days of rollups generated behind each.
    #[arg(long, default_value_t = 30)]
    pub days: i64,
    /// Keep-alive connections of the load generator.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Measured seconds per route and side.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
}

const TARGET_P99_MS: f64 = 50.0;
const TARGET_FIRST_LOAD_BYTES: usize = 200 * 1024;
const GROUPS: usize = 10;
const TARGETS_PER_INSERT: usize = 50;
/// Requests timed one after another for the compressed figures.
const GZIP_REQUESTS: usize = 50;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.targets > 0 && args.days > 0, "--targets and --days must be positive");
    Infra::scope(async |infra| {
        let cluster = Cluster::start(infra, &["api"]).await?;
        let outcome = measure(infra, args, &cluster).await;
        cluster.stop().await;
        outcome
    })
    .await
}

async fn measure(infra: &Infra, args: &Args, cluster: &Cluster) -> anyhow::Result<()> {
    report::title(&format!(
        "status ({} public targets in {GROUPS} groups, {} days of rollups, {} connections, {} s)",
        args.targets, args.days, args.connections, args.duration
    ));
    let components = infra.components().await?;
    let specs = (0..args.targets)
        .map(|i| {
            let mut spec = cluster::http_target(format!("service-{i:04}"), format!("http://127.0.0.1:9/{i}"), 60, 5);
            spec["public"] = serde_json::json!(true);
            spec["group"] = serde_json::json!(format!("Group {}", i % GROUPS));
            spec
        })
        .collect();
    let ids = cluster::create_targets(&components.store, specs).await?;
    generate_rollups(infra, &ids, args.days).await?;
    let addr = cluster.api()?;

    // The first request reads every figure; the next ones use what it kept.
    let client = reqwest::Client::new();
    let cold_started = Instant::now();
    let page = fetch(&client, addr, "/status").await?;
    let cold = cold_started.elapsed();
    let json = fetch(&client, addr, "/api/v1/status").await?;

    let load = |addr: SocketAddr, path: &str| Load {
        addr,
        paths: Arc::new(vec![path.to_owned()]),
        token: None,
        connections: args.connections,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(args.duration),
    };
    let healthmon_page = load(addr, "/status").run().await?;
    let healthmon_json = load(addr, "/api/v1/status").run().await?;
    let baseline = start_baseline(page.clone(), json.clone()).await?;
    let baseline_page = load(baseline.addr, "/status").run().await?;
    let baseline_json = load(baseline.addr, "/api/v1/status").run().await?;
    baseline.stop().await;

    let (gzip_latency, gzip_page) = gzip_timings(&client, addr, "/status").await?;
    let mut first_load = gzip_page;
    for asset in ["/status/assets/status.css", "/status/assets/status.js"] {
        first_load += gzipped(&client, addr, asset).await?.1;
    }

    report::line("healthmon", &format!("/status         {}", healthmon_page.summary()));
    report::line("", &format!("/api/v1/status   {}", healthmon_json.summary()));
    report::line("baseline", &format!("/status         {}", baseline_page.summary()));
    report::line("", &format!("/api/v1/status   {}", baseline_json.summary()));
    report::line(
        "gzip",
        &format!(
            "/status {} over {GZIP_REQUESTS} requests; {} KB on the wire for {} KB of HTML",
            report::latencies(&gzip_latency),
            gzip_page / 1024,
            page.len() / 1024
        ),
    );
    report::line("figures", &format!("read cold in {} (once per 30 s)", report::millis(cold.as_secs_f64() * 1000.0)));
    // A rendering stands at most 5 s, so each run above rendered at least twice: its max is a render.
    report::line(
        "render",
        &format!(
            "after any change: /status {}, /api/v1/status {} (the max of each run)",
            report::millis(healthmon_page.latency.max() as f64 / 1000.0),
            report::millis(healthmon_json.latency.max() as f64 / 1000.0)
        ),
    );
    report::line(
        "first load",
        &format!(
            "HTML + CSS + JS {} KB gzip (target < {} KB)  {}",
            first_load / 1024,
            TARGET_FIRST_LOAD_BYTES / 1024,
            report::verdict(first_load < TARGET_FIRST_LOAD_BYTES)
        ),
    );
    let (page_p99, json_p99, gzip_p99) = (
        report::ms(&healthmon_page.latency, 0.99),
        report::ms(&healthmon_json.latency, 0.99),
        report::ms(&gzip_latency, 0.99),
    );
    let clean = healthmon_page.errors == 0 && healthmon_json.errors == 0;
    report::line(
        "p99",
        &format!(
            "/status {}, gzip {}, /api/v1/status {} (target < {TARGET_P99_MS} ms)  {}",
            report::millis(page_p99),
            report::millis(gzip_p99),
            report::millis(json_p99),
            report::verdict(clean && page_p99.max(json_p99).max(gzip_p99) < TARGET_P99_MS)
        ),
    );
    Ok(())
}

async fn fetch(client: &reqwest::Client, addr: SocketAddr, path: &str) -> anyhow::Result<Bytes> {
    let response = client.get(format!("http://{addr}{path}")).send().await.with_context(|| format!("GET {path}"))?;
    anyhow::ensure!(response.status().is_success(), "GET {path}: {}", response.status());
    response.bytes().await.with_context(|| format!("read {path}"))
}

/// One request as a browser sends it (gzip accepted): its time and the bytes on the wire.
async fn gzipped(client: &reqwest::Client, addr: SocketAddr, path: &str) -> anyhow::Result<(Duration, usize)> {
    let started = Instant::now();
    let response = client
        .get(format!("http://{addr}{path}"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    anyhow::ensure!(response.status().is_success(), "GET {path}: {}", response.status());
    // Small assets come uncompressed, as a browser would receive them too.
    let body = response.bytes().await.with_context(|| format!("read {path}"))?;
    Ok((started.elapsed(), body.len()))
}

async fn gzip_timings(
    client: &reqwest::Client,
    addr: SocketAddr,
    path: &str,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, usize)> {
    let mut histogram = report::histogram();
    let mut size = 0;
    for _ in 0..GZIP_REQUESTS {
        let (took, bytes) = gzipped(client, addr, path).await?;
        report::record(&mut histogram, took.as_micros() as u64);
        size = bytes;
    }
    Ok((histogram, size))
}

/// Rollups as ingest would have left them for a 60 s target: days for `days`, hours for as long,
/// five minutes for the last two days; about one bucket in 97 with a quarter of its probes failed.
async fn generate_rollups(infra: &Infra, ids: &[Uuid], days: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut pg = infra.pg().await?;
    sqlx::query("SET synchronous_commit = off").execute(&mut pg).await.context("relax commits")?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut rows = 0u64;
    for (step_s, span_ms) in [(86_400_i64, days * 86_400_000), (3_600, days * 86_400_000), (300, 2 * 86_400_000)] {
        let step_ms = step_s * 1000;
        let last = now.div_euclid(step_ms) * step_ms;
        let count = span_ms / step_ms + 1;
        for chunk in ids.chunks(TARGETS_PER_INSERT) {
            rows += sqlx::query(
                "INSERT INTO rollups (target_id, bucket, samples, successes, latency_sum, latency_min, latency_max, \
                 step_s, histogram) \
                 SELECT t.id, $2 - g * $3, $5, $5 - CASE WHEN (g + t.k) % 97 = 0 THEN $5 / 4 ELSE 0 END, \
                 $5 * (20.0 + t.k % 50), 5.0, 120.0 + t.k % 50, $4, '[]' \
                 FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, k), generate_series(0, $6 - 1) AS g",
            )
            .bind(chunk)
            .bind(last)
            .bind(step_ms)
            .bind(step_s as i32)
            .bind((step_s / 60).max(1))
            .bind(count)
            .execute(&mut pg)
            .await
            .context("generate rollups")?
            .rows_affected();
        }
    }
    sqlx::query("ANALYZE rollups").execute(&mut pg).await.context("analyze the rollups")?;
    println!("   (generated {rows} rollup rows in {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}

/// The same bytes as healthmon answered, from bare axum.
async fn start_baseline(page: Bytes, json: Bytes) -> anyhow::Result<BaselineServer> {
    let router = Router::new()
        .route(
            "/status",
            get(move || {
                let page = page.clone();
                async move { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response() }
            }),
        )
        .route(
            "/api/v1/status",
            get(move || {
                let json = json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], json).into_response() }
            }),
        );
    BaselineServer::start(router).await
}
