//! Scenario `history`: a year of a 60 s target and 30 days of a 1 s target (3.1 million samples)
//! ingested through the store, then uptime and series for every window through the API, against
//! the same question answered by scanning raw samples (what a history without rollups must do).
//! Then retention: the reads again after a day's partition is purged, and the ingest rate while
//! a purge drops many days, against the rate without one. Bytes per sample on disk are printed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use healthmon_domain::Sample;
use healthmon_domain::history::{Retention, Window};
use healthmon_domain::sample::sample_id;
use healthmon_projector::retention::{self, HistoryRetention};
use healthmon_store::Store;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::cluster::{self, Cluster};
use crate::infra::Infra;
use crate::load::Load;
use crate::report;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Days of the 60 s target's history.
    #[arg(long, default_value_t = 365)]
    pub minutely_days: i64,
    /// Days of the 1 s target's history.
    #[arg(long, default_value_t = 30)]
    pub secondly_days: i64,
    /// Measured seconds per window.
    #[arg(long, default_value_t = 2)]
    pub duration: u64,
    /// Keep-alive connections of the load generator.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
}

const TARGET_P99_MS: f64 = 10.0;
const TARGET_INGEST_RATIO: f64 = 0.8;
const DAY_MS: i64 = 86_400_000;
/// Samples per generated batch.
const GENERATE_BATCH: usize = 5_000;
/// Targets the ingest-rate measurement spreads its samples over, one sample each per batch.
const LIVE_TARGETS: usize = 1_000;
/// Scans of raw samples per window and target for the baseline.
const BASELINE_RUNS: usize = 5;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.minutely_days > 2 && args.secondly_days > 0, "give more days");
    Infra::scope(async |infra| {
        let cluster = Cluster::start(infra, &["api"]).await?;
        let outcome = measure(infra, args, &cluster).await;
        cluster.stop().await;
        outcome
    })
    .await
}

async fn measure(infra: &Infra, args: &Args, cluster: &Cluster) -> anyhow::Result<()> {
    let components = infra.components().await?;
    let store = components.store.clone();
    let specs = vec![
        cluster::http_target("minutely".into(), "http://127.0.0.1:9/m".into(), 3600, 5),
        cluster::http_target("secondly".into(), "http://127.0.0.1:9/s".into(), 3600, 5),
    ];
    let ids = cluster::create_targets(&store, specs).await?;
    let now = Utc::now().timestamp_millis() / 1000 * 1000;
    report::title(&format!(
        "history ({} days of a 60 s target, {} days of a 1 s target)",
        args.minutely_days, args.secondly_days
    ));
    let pool = PgPoolOptions::new().max_connections(2).connect(&infra.database_url).await.context("bench pool")?;
    // Day partitions over the whole year, as a store running through it would have made.
    sqlx::query("SELECT healthmon_create_sample_partitions($1, $2)")
        .bind(now / DAY_MS - args.minutely_days - 1)
        .bind(i32::try_from(args.minutely_days + 6)?)
        .execute(&pool)
        .await
        .context("make the year's partitions")?;
    let generated = Instant::now();
    let minutely = generate(&store, ids[0], now - args.minutely_days * DAY_MS, now, 60_000).await?;
    let secondly = generate(&store, ids[1], now - args.secondly_days * DAY_MS, now, 1_000).await?;
    // A store a year old has been vacuumed; reads measured while autovacuum works through three
    // million fresh rows would measure autovacuum.
    sqlx::query("VACUUM ANALYZE").execute(&pool).await.context("vacuum")?;
    let seconds = generated.elapsed().as_secs_f64();
    report::line(
        "setup",
        &format!(
            "ingested {} samples through the store in {seconds:.0} s ({:.0} samples/s)",
            minutely + secondly,
            (minutely + secondly) as f64 / seconds
        ),
    );
    let footprint = store.history_footprint().await?;
    report::line(
        "disk",
        &format!(
            "samples {:.1} bytes/sample (table + key), rollups {} rows, {:.1} bytes/sample; total {}",
            footprint.sample_bytes as f64 / footprint.samples.max(1) as f64,
            footprint.rollups,
            footprint.rollup_bytes as f64 / footprint.samples.max(1) as f64,
            report::mib(footprint.sample_bytes + footprint.rollup_bytes)
        ),
    );

    before_schema_footprint(&pool, footprint.samples).await?;
    // The generated gigabyte written out now, not by a checkpoint in the middle of the reads.
    sqlx::query("CHECKPOINT").execute(&pool).await.context("checkpoint")?;

    let addr = cluster.api()?;
    let token = cluster::login(addr).await?;
    let reads = |label: &'static str| {
        let token = token.clone();
        let ids = ids.clone();
        async move {
            let mut worst: f64 = 0.0;
            for window in Window::ALL {
                let paths: Vec<String> = ids
                    .iter()
                    .flat_map(|id| {
                        let window = window.as_str();
                        [
                            format!("/api/v1/targets/{id}/uptime?window={window}"),
                            format!("/api/v1/targets/{id}/series?window={window}"),
                        ]
                    })
                    .collect();
                let load = Load {
                    addr,
                    paths: Arc::new(paths),
                    token: Some(token.clone()),
                    connections: args.connections,
                    warmup: Duration::from_millis(300),
                    duration: Duration::from_secs(args.duration),
                };
                let outcome = load.run().await?;
                anyhow::ensure!(outcome.errors == 0, "{} failed reads over {}", outcome.errors, window.as_str());
                let p99 = report::ms(&outcome.latency, 0.99);
                worst = worst.max(p99);
                report::line(label, &format!("{:>4}  uptime+series  {}", window.as_str(), outcome.summary()));
            }
            Ok::<f64, anyhow::Error>(worst)
        }
    };
    let before = reads("healthmon").await?;
    baseline_scans(&pool, &ids, now).await?;

    // A day's partition expires and goes; the same reads after it.
    // The projector's own purge, with its batches and pauses.
    let day_gone = HistoryRetention { raw: days(args.minutely_days - 1), rollups: Retention::Forever };
    let dropped = retention::purge(store.as_ref(), &day_gone).await?.partitions_dropped;
    report::line("purge", &format!("{dropped} day partition(s) dropped"));
    let after = reads("after").await?;
    report::line(
        "p99",
        &format!(
            "worst window {} before, {} after the purge (target < {TARGET_P99_MS} ms)  {}",
            report::millis(before),
            report::millis(after),
            report::verdict(before < TARGET_P99_MS && after < TARGET_P99_MS)
        ),
    );

    ingest_during_purge(&store, args, now).await?;
    pool.close().await;
    Ok(())
}

/// One target's samples a `step_ms` apart over `from..to`, one in 17 failing, ingested in
/// batches through the store (so rollups are made as in production).
async fn generate(store: &Arc<dyn Store>, id: Uuid, from: i64, to: i64, step_ms: i64) -> anyhow::Result<usize> {
    let mut slot = from;
    let mut total = 0;
    let mut index: u64 = 0;
    while slot < to {
        let mut batch = Vec::with_capacity(GENERATE_BATCH);
        while batch.len() < GENERATE_BATCH && slot < to {
            batch.push(sample(id, slot, !index.is_multiple_of(17), 1.0 + (index % 13) as f64 * 7.0));
            slot += step_ms;
            index += 1;
        }
        total += batch.len();
        store.ingest(&batch, "/bench/history").await.context("ingest generated history")?;
    }
    Ok(total)
}

fn sample(target_id: Uuid, slot: i64, success: bool, latency_ms: f64) -> Sample {
    Sample {
        id: sample_id(target_id, slot),
        target_id,
        slot,
        at: DateTime::from_timestamp_millis(slot).unwrap_or_default(),
        success,
        status_code: success.then_some(200),
        latency_ms,
        error: (!success).then(|| "connection refused".to_owned()),
        prober: "bench-1".into(),
        check_version: 1,
        pin_host_key: None,
    }
}

/// The baseline: each window's uptime answered by scanning the raw samples, the only way without
/// rollups; the slowest of a few scans per window and target.
async fn baseline_scans(pool: &sqlx::PgPool, ids: &[Uuid], now: i64) -> anyhow::Result<()> {
    for window in Window::ALL {
        let mut slowest = Duration::ZERO;
        for id in ids {
            for _ in 0..BASELINE_RUNS {
                let started = Instant::now();
                let _: (i64, Option<i64>) = sqlx::query_as(
                    "SELECT count(*), sum(success::int4)::int8 FROM samples WHERE target_id = $1 AND slot >= $2",
                )
                .bind(id)
                .bind(now - window.length().num_milliseconds())
                .fetch_one(pool)
                .await
                .context("scan raw samples")?;
                slowest = slowest.max(started.elapsed());
            }
        }
        report::line(
            "baseline",
            &format!(
                "{:>4}  scan of raw samples, slowest {}",
                window.as_str(),
                report::millis(slowest.as_secs_f64() * 1e3)
            ),
        );
    }
    Ok(())
}

/// The same samples in the schema before this one (a random-UUID primary key plus an index on
/// (target, slot), one table), for bytes per sample before and after.
async fn before_schema_footprint(pool: &sqlx::PgPool, samples: u64) -> anyhow::Result<()> {
    sqlx::query(
        "CREATE TABLE samples_before (id uuid PRIMARY KEY, target_id uuid NOT NULL, slot bigint NOT NULL, \
         at timestamptz NOT NULL, success boolean NOT NULL, status_code integer, latency_ms double precision NOT NULL, \
         error text, prober text NOT NULL, check_version bigint NOT NULL)",
    )
    .execute(pool)
    .await
    .context("create the former table")?;
    sqlx::query("CREATE INDEX samples_before_target_slot ON samples_before (target_id, slot DESC)")
        .execute(pool)
        .await
        .context("index the former table")?;
    // In slot order, as ingest writes them.
    sqlx::query(
        "INSERT INTO samples_before SELECT gen_random_uuid(), target_id, slot, at, success, status_code, latency_ms, \
         error, prober, check_version FROM samples ORDER BY slot",
    )
    .execute(pool)
    .await
    .context("copy into the former table")?;
    let bytes: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('samples_before')")
        .fetch_one(pool)
        .await
        .context("measure the former table")?;
    report::line(
        "",
        &format!("the former schema (id key + second index): {:.1} bytes/sample", bytes as f64 / samples.max(1) as f64),
    );
    sqlx::query("DROP TABLE samples_before").execute(pool).await.context("drop the former table")?;
    Ok(())
}

fn days(count: i64) -> Retention {
    Retention::For(chrono::Duration::days(count))
}

/// Ingest of fresh samples for many targets, for `seconds`, without and then during a purge that
/// drops most of the year's partitions and deletes old rollups.
async fn ingest_during_purge(store: &Arc<dyn Store>, args: &Args, now: i64) -> anyhow::Result<()> {
    let specs = (0..LIVE_TARGETS)
        .map(|i| cluster::http_target(format!("live-{i}"), format!("http://127.0.0.1:9/{i}"), 3600, 5))
        .collect();
    let live = cluster::create_targets(store, specs).await?;
    let seconds = Duration::from_secs(args.duration.max(3));
    let mut round: i64 = 0;
    let mut ingest_for = async |stop: Box<dyn Fn() -> bool + Send>| -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut stored = 0usize;
        while !stop() {
            round += 1;
            let batch: Vec<Sample> = live.iter().map(|id| sample(*id, now + round * 1000, true, 5.0)).collect();
            stored += store.ingest(&batch, "/bench/history").await?.stored;
        }
        Ok(stored as f64 / started.elapsed().as_secs_f64())
    };
    let deadline = Instant::now() + seconds;
    let quiet = ingest_for(Box::new(move || Instant::now() >= deadline)).await?;

    let most = HistoryRetention { raw: days(args.secondly_days), rollups: days(args.minutely_days - 60) };
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let purging = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let outcome = retention::purge(store.as_ref(), &most).await;
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            outcome.map(|purged| (purged.partitions_dropped, started.elapsed()))
        })
    };
    let flag = done.clone();
    let during = ingest_for(Box::new(move || flag.load(std::sync::atomic::Ordering::SeqCst))).await?;
    let (dropped, took) = purging.await.context("the purge task")??;
    report::line("ingest", &format!("samples/s {quiet:.0} without a purge ({LIVE_TARGETS} targets per batch)"));
    report::line(
        "",
        &format!(
            "samples/s {during:.0} while a purge dropped {dropped} days and old rollups ({:.1} s)",
            took.as_secs_f64()
        ),
    );
    report::ratio(during / quiet.max(1e-9), TARGET_INGEST_RATIO);
    Ok(())
}
