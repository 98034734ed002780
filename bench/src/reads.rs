//! Scenario `reads`: latency of `GET /api/v1/targets/{id}` (with its 10 newest samples) and of
//! a page of `GET /api/v1/targets/{id}/samples` over a large history, against a minimal axum +
//! sqlx handler running the same queries without healthmon's layers (auth, views, tracing).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::baseline_server::BaselineServer;
use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::cluster::{self, Cluster};
use crate::infra::Infra;
use crate::load::Load;
use crate::report;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Samples generated into the history table.
    #[arg(long, default_value_t = 10_000_000)]
    pub rows: usize,
    /// Targets the history is spread over.
    #[arg(long, default_value_t = 1_000)]
    pub targets: usize,
    /// Keep-alive connections of the load generator.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Measured seconds per route and side.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Unmeasured seconds before each measurement.
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,
}

const TARGET_P99_MS: f64 = 10.0;
/// The slots of generated history are a minute apart.
const SLOT_STEP_MS: i64 = 60_000;
/// Targets whose history one INSERT generates.
const TARGETS_PER_INSERT: usize = 20;
/// The page size read from the samples route.
const PAGE: u32 = 100;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.targets > 0 && args.rows >= args.targets, "--rows must be at least --targets");
    Infra::scope(async |infra| {
        let cluster = Cluster::start(infra, &["api"]).await?;
        let outcome = measure(infra, args, &cluster).await;
        cluster.stop().await;
        outcome
    })
    .await
}

async fn measure(infra: &Infra, args: &Args, cluster: &Cluster) -> anyhow::Result<()> {
    let per_target = args.rows / args.targets;
    report::title(&format!(
        "reads ({} samples over {} targets, {} connections, {} s)",
        per_target * args.targets,
        args.targets,
        args.connections,
        args.duration
    ));
    let components = infra.components().await?;
    let specs = (0..args.targets)
        .map(|i| cluster::http_target(format!("reads-{i}"), format!("http://127.0.0.1:9/{i}"), 60, 5))
        .collect();
    let ids = cluster::create_targets(&components.store, specs).await?;
    let first_slot = Utc::now().timestamp_millis() - per_target as i64 * SLOT_STEP_MS;
    generate_history(infra, &ids, per_target, first_slot).await?;
    // A page from the middle of each target's history, by the route's cursor (a slot).
    let middle = first_slot + (per_target / 2) as i64 * SLOT_STEP_MS;

    let addr = cluster.api()?;
    let token = cluster::login(addr).await?;
    let load = |addr: SocketAddr, paths: Vec<String>, token: Option<String>| Load {
        addr,
        paths: Arc::new(paths),
        token,
        connections: args.connections,
        warmup: Duration::from_secs(args.warmup),
        duration: Duration::from_secs(args.duration),
    };
    let detail: Vec<String> = ids.iter().map(|id| format!("/api/v1/targets/{id}")).collect();
    let page: Vec<String> =
        ids.iter().map(|id| format!("/api/v1/targets/{id}/samples?limit={PAGE}&cursor={middle}")).collect();
    let healthmon_detail = load(addr, detail, Some(token.clone())).run().await?;
    let healthmon_page = load(addr, page, Some(token)).run().await?;

    let baseline_server = start_baseline(&infra.database_url).await?;
    let detail: Vec<String> = ids.iter().map(|id| format!("/t/{id}")).collect();
    let page: Vec<String> = ids.iter().map(|id| format!("/s/{id}?cursor={middle}")).collect();
    let baseline_detail = load(baseline_server.addr, detail, None).run().await?;
    let baseline_page = load(baseline_server.addr, page, None).run().await?;
    baseline_server.stop().await;

    report::line("healthmon", &format!("target+10  {}", healthmon_detail.summary()));
    report::line("", &format!("page {PAGE:<5} {}", healthmon_page.summary()));
    report::line("baseline", &format!("target+10  {}", baseline_detail.summary()));
    report::line("", &format!("page {PAGE:<5} {}", baseline_page.summary()));
    let (detail_p99, page_p99) =
        (report::ms(&healthmon_detail.latency, 0.99), report::ms(&healthmon_page.latency, 0.99));
    let clean = healthmon_detail.errors == 0 && healthmon_page.errors == 0;
    report::line(
        "p99",
        &format!(
            "target+10 {}, page {} (target < {TARGET_P99_MS} ms)  {}",
            report::millis(detail_p99),
            report::millis(page_p99),
            report::verdict(clean && detail_p99 < TARGET_P99_MS && page_p99 < TARGET_P99_MS)
        ),
    );
    Ok(())
}

/// `per_target` samples a minute apart for every target, straight into the history table with
/// `generate_series` (one failure in 17), then ANALYZE.
async fn generate_history(infra: &Infra, ids: &[Uuid], per_target: usize, first_slot: i64) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut pg = infra.pg().await?;
    sqlx::query("SET synchronous_commit = off").execute(&mut pg).await.context("relax commits")?;
    for chunk in ids.chunks(TARGETS_PER_INSERT) {
        sqlx::query(
            "INSERT INTO samples (target_id, slot, at, success, status_code, latency_ms, error, prober, check_version) \
             SELECT t.id, $2 + g * $4, to_timestamp(($2 + g * $4) / 1000.0), g % 17 <> 0, \
             CASE WHEN g % 17 <> 0 THEN 200 END, 1.0 + g % 13, \
             CASE WHEN g % 17 = 0 THEN 'connection refused' END, 'bench-1', 1 \
             FROM unnest($1::uuid[]) AS t(id), generate_series(0, $3 - 1) AS g",
        )
        .bind(chunk)
        .bind(first_slot)
        .bind(per_target as i64)
        .bind(SLOT_STEP_MS)
        .execute(&mut pg)
        .await
        .context("generate history")?;
    }
    sqlx::query("ANALYZE samples").execute(&mut pg).await.context("analyze the history")?;
    println!(
        "   (generated {} history rows with generate_series in {:.1} s)",
        per_target * ids.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The same two reads with nothing around them: axum, a pool of 16 like the store's, the same
/// SQL, JSON out.
async fn start_baseline(database_url: &str) -> anyhow::Result<BaselineServer> {
    let pool = PgPoolOptions::new().max_connections(16).connect(database_url).await.context("baseline pool")?;
    BaselineServer::start(Router::new().route("/t/{id}", get(target)).route("/s/{id}", get(samples)).with_state(pool))
        .await
}

const SAMPLE_COLUMNS: &str = "target_id, slot, at, success, status_code, latency_ms, error, prober, check_version";

type Answer = Result<Json<Value>, StatusCode>;

async fn target(State(pool): State<PgPool>, Path(id): Path<Uuid>) -> Answer {
    let row = sqlx::query(
        "SELECT t.spec, h.status, h.since, h.reason, h.consecutive_successes, h.consecutive_failures, \
         h.last_sample_at FROM targets t JOIN target_health h ON h.target_id = t.id WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(&pool)
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
    .ok_or(StatusCode::NOT_FOUND)?;
    let recent =
        sqlx::query(&format!("SELECT {SAMPLE_COLUMNS} FROM samples WHERE target_id = $1 ORDER BY slot DESC LIMIT 10"))
            .bind(id)
            .fetch_all(&pool)
            .await
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let mut body: Value = row.try_get("spec").map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    body["health"] = json!({
        "status": row.try_get::<String, _>("status").ok(),
        "since": row.try_get::<Option<DateTime<Utc>>, _>("since").ok().flatten(),
        "reason": row.try_get::<Option<String>, _>("reason").ok().flatten(),
        "consecutive_successes": row.try_get::<i64, _>("consecutive_successes").ok(),
        "consecutive_failures": row.try_get::<i64, _>("consecutive_failures").ok(),
        "last_sample_at": row.try_get::<Option<DateTime<Utc>>, _>("last_sample_at").ok().flatten(),
    });
    body["recent_samples"] = recent.iter().map(sample).collect();
    Ok(Json(body))
}

#[derive(serde::Deserialize)]
struct Cursor {
    cursor: i64,
}

async fn samples(State(pool): State<PgPool>, Path(id): Path<Uuid>, Query(cursor): Query<Cursor>) -> Answer {
    let rows = sqlx::query(&format!(
        "SELECT {SAMPLE_COLUMNS} FROM samples WHERE target_id = $1 AND slot < $2 ORDER BY slot DESC LIMIT $3"
    ))
    .bind(id)
    .bind(cursor.cursor)
    .bind(i64::from(PAGE) + 1)
    .fetch_all(&pool)
    .await
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    let items: Vec<Value> = rows.iter().take(PAGE as usize).map(sample).collect();
    let next = (rows.len() > PAGE as usize).then(|| items.last().map(|item| item["slot"].clone()));
    Ok(Json(json!({"items": items, "next_cursor": next.flatten()})))
}

fn sample(row: &PgRow) -> Value {
    // The id is a function of (target, slot), as healthmon computes it.
    let (target_id, slot) = (row.try_get::<Uuid, _>("target_id").ok(), row.try_get::<i64, _>("slot").ok());
    let id = target_id.zip(slot).map(|(target_id, slot)| healthmon_domain::sample::sample_id(target_id, slot));
    json!({
        "id": id,
        "slot": slot,
        "at": row.try_get::<DateTime<Utc>, _>("at").ok(),
        "success": row.try_get::<bool, _>("success").ok(),
        "status_code": row.try_get::<Option<i32>, _>("status_code").ok().flatten(),
        "latency_ms": row.try_get::<f64, _>("latency_ms").ok(),
        "error": row.try_get::<Option<String>, _>("error").ok().flatten(),
        "prober": row.try_get::<String, _>("prober").ok(),
    })
}
