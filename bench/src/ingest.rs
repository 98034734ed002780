//! Scenario `ingest`: samples/s from JetStream into Postgres history, rollups and health through
//! the real projector, against a minimal pipeline in the same run: a bare consumer that decodes
//! each batch and inserts it with one `INSERT … SELECT * FROM UNNEST(…)` into a table with only
//! a primary key on the sample id, as a bare pipeline would have. Bytes per sample on disk
//! (table plus indexes) are printed for both.

use std::time::{Duration, Instant};

use anyhow::Context;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use healthmon_bus::{EventBus, Stream};
use healthmon_domain::Sample;
use healthmon_domain::events::{decode_sample, encode_sample, source};
use healthmon_domain::sample::sample_id;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres};
use uuid::Uuid;

use crate::cluster::{self, Cluster};
use crate::infra::Infra;
use crate::report;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Samples published before either side starts consuming.
    #[arg(long, default_value_t = 200_000)]
    pub samples: usize,
    /// Targets the samples are spread over.
    #[arg(long, default_value_t = 1_000)]
    pub targets: usize,
}

/// The projector must reach at least this share of the bare consumer's samples/s.
const TARGET_RATIO: f64 = 0.5;
/// Publishes in flight while filling the stream (the prober's publisher allows 512).
const PUBLISH_CONCURRENCY: usize = 512;
/// The baseline's batch: the projector's own.
const BATCH: usize = 1_000;

pub async fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.samples > 0 && args.targets > 0, "--samples and --targets must be positive");
    Infra::scope(async |infra| measure(infra, args).await).await
}

async fn measure(infra: &Infra, args: &Args) -> anyhow::Result<()> {
    report::title(&format!("ingest ({} samples, {} targets)", args.samples, args.targets));
    let components = infra.components().await?;
    // Never probed (no prober runs) and never stale: an hour's interval.
    let specs = (0..args.targets)
        .map(|i| cluster::http_target(format!("ingest-{i}"), format!("http://127.0.0.1:9/{i}"), 3600, 5))
        .collect();
    let ids = cluster::create_targets(&components.store, specs).await?;
    let published = Instant::now();
    let now = publish(components.bus.as_ref(), &ids, args.samples).await?;
    let in_stream = stream_messages(infra).await?;
    anyhow::ensure!(in_stream >= args.samples as u64, "the stream holds {in_stream} of {} samples", args.samples);
    report::line("setup", &format!("published {} samples in {:.1} s", args.samples, published.elapsed().as_secs_f64()));

    let expected = args.samples as i64;
    let limit = Duration::from_secs(120 + (args.samples / 500) as u64);
    let pool = PgPoolOptions::new().max_connections(1).connect(&infra.database_url).await.context("count pool")?;
    let pool = &pool;

    // Each target's newest sample is in the last round or the one before (see `sample`).
    let newest_rounds_from = now.timestamp_millis() - 2 * 1000;
    let targets = args.targets as i64;

    let started = Instant::now();
    let projector = Cluster::start(infra, &["projector"]).await?;
    // Progress is first read off the health rows (1,000 of them) rather than by counting 200,000
    // samples every 100 ms, which kept a core of this 2-core machine busy while the projector
    // ran: every target's health has seen one of its newest samples. The count then confirms it
    // (a sample published out of order may still be on its way).
    let stored = cluster::poll(limit, Duration::from_millis(100), || async move {
        let caught_up: i64 = sqlx::query_scalar("SELECT count(*) FROM target_health WHERE last_slot >= $1")
            .bind(newest_rounds_from)
            .fetch_one(pool)
            .await
            .ok()?;
        if caught_up < targets {
            return None;
        }
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM samples").fetch_one(pool).await.ok()?;
        (count >= expected).then_some(())
    })
    .await;
    let healthmon_elapsed = started.elapsed();
    projector.stop().await;
    anyhow::ensure!(stored.is_some(), "the projector did not store every sample within {limit:?}");
    let healthmon_rate = args.samples as f64 / healthmon_elapsed.as_secs_f64();
    let transitions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM transitions").fetch_one(pool).await.context("count transitions")?;
    report::line(
        "healthmon",
        &format!(
            "samples/s {healthmon_rate:.0}   ({:.1} s, history + rollups + health, {transitions} transitions)",
            healthmon_elapsed.as_secs_f64()
        ),
    );
    let footprint = components.store.history_footprint().await.context("measure history")?;
    report::line(
        "",
        &format!(
            "history: {:.0} bytes/sample on disk (samples and their key); rollups {} rows, {:.0} bytes/sample",
            footprint.sample_bytes as f64 / footprint.samples.max(1) as f64,
            footprint.rollups,
            footprint.rollup_bytes as f64 / footprint.samples.max(1) as f64,
        ),
    );

    let baseline_elapsed = baseline(infra, args.samples, limit).await?;
    let baseline_rate = args.samples as f64 / baseline_elapsed.as_secs_f64();
    report::line(
        "baseline",
        &format!("samples/s {baseline_rate:.0}   ({:.1} s, history rows only)", baseline_elapsed.as_secs_f64()),
    );
    report::ratio(healthmon_rate / baseline_rate.max(1e-9), TARGET_RATIO);
    Ok(())
}

/// The `count`-th sample: targets in turn, slots a second apart ending about now, mostly
/// successes with a run of five failures every fifty rounds (so health really changes).
fn sample(ids: &[Uuid], index: usize, rounds: usize, now: DateTime<Utc>) -> Sample {
    let target_id = ids[index % ids.len()];
    let round = index / ids.len();
    let slot = now.timestamp_millis() - (rounds - round) as i64 * 1000;
    let at = DateTime::from_timestamp_millis(slot).unwrap_or(now);
    let success = !(40..45).contains(&(round % 50));
    Sample {
        id: sample_id(target_id, slot),
        target_id,
        slot,
        at,
        success,
        status_code: success.then_some(200),
        latency_ms: 1.0 + (index % 7) as f64,
        error: (!success).then(|| "connection refused".to_owned()),
        prober: "bench-1".into(),
        check_version: 1,
        pin_host_key: None,
    }
}

/// Fills the samples stream the way the prober's publisher does: the bus, sample id as message id.
/// Publishes `total` samples, round by round, the last round's slots a second before the time returned.
async fn publish(bus: &dyn EventBus, ids: &[Uuid], total: usize) -> anyhow::Result<DateTime<Utc>> {
    let rounds = total.div_ceil(ids.len());
    let now = Utc::now();
    let author = source("prober", "bench-1");
    let results: Vec<anyhow::Result<()>> =
        futures::stream::iter(0..total)
            .map(|index| {
                let sample = sample(ids, index, rounds, now);
                let payload = Bytes::from(encode_sample(&sample, &author));
                async move {
                    bus.publish(Stream::Samples, &sample.target_id.to_string(), &sample.id.to_string(), payload).await
                }
            })
            .buffer_unordered(PUBLISH_CONCURRENCY)
            .collect()
            .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>().context("publish samples")?;
    Ok(now)
}

async fn stream_messages(infra: &Infra) -> anyhow::Result<u64> {
    let jetstream = async_nats::jetstream::new(infra.nats().await?);
    let mut stream =
        jetstream.get_stream(infra.naming().stream_name(Stream::Samples)).await.context("open the samples stream")?;
    Ok(stream.info().await.context("read the samples stream")?.state.messages)
}

/// Consumes the same stream with a durable consumer of its own and inserts each batch with one
/// statement, acking after it; returns how long all `total` samples took.
async fn baseline(infra: &Infra, total: usize, limit: Duration) -> anyhow::Result<Duration> {
    let pool = PgPoolOptions::new().max_connections(2).connect(&infra.database_url).await.context("baseline pool")?;
    sqlx::query(
        "CREATE TABLE baseline_samples (id uuid PRIMARY KEY, target_id uuid NOT NULL, slot bigint NOT NULL, \
         at timestamptz NOT NULL, success boolean NOT NULL, status_code integer, latency_ms double precision NOT NULL, \
         error text, prober text NOT NULL, check_version bigint NOT NULL)",
    )
    .execute(&pool)
    .await
    .context("create the baseline table")?;
    let jetstream = async_nats::jetstream::new(infra.nats().await?);
    let naming = infra.naming();
    let stream = jetstream.get_stream(naming.stream_name(Stream::Samples)).await.context("open the samples stream")?;

    let started = Instant::now();
    let consumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(naming.durable_name("bench_baseline")),
            filter_subject: naming.wildcard(Stream::Samples),
            ack_policy: AckPolicy::Explicit,
            deliver_policy: DeliverPolicy::All,
            max_ack_pending: 20_000,
            ..Default::default()
        })
        .await
        .context("create the baseline consumer")?;
    let deadline = started + limit;
    let mut inserted = 0usize;
    // Bounded: every round takes at least one message or waits out the deadline.
    while inserted < total {
        anyhow::ensure!(Instant::now() < deadline, "the baseline stored {inserted} of {total} within {limit:?}");
        let mut batch = consumer
            .fetch()
            .max_messages(BATCH)
            .expires(Duration::from_millis(500))
            .messages()
            .await
            .context("fetch a batch")?;
        let mut messages = Vec::with_capacity(BATCH);
        while let Some(message) = batch.next().await {
            messages.push(message.map_err(|error| anyhow::anyhow!("fetch: {error}"))?);
        }
        let samples: Vec<Sample> = messages
            .iter()
            .map(|message| decode_sample(&message.payload).context("decode a sample"))
            .collect::<anyhow::Result<_>>()?;
        inserted += insert(&pool, &samples).await?;
        for message in &messages {
            message.ack().await.map_err(|error| anyhow::anyhow!("ack: {error}"))?;
        }
    }
    let elapsed = started.elapsed();
    let bytes: i64 = sqlx::query_scalar("SELECT pg_total_relation_size('baseline_samples')")
        .fetch_one(&pool)
        .await
        .context("measure the baseline table")?;
    report::line("", &format!("baseline table: {:.0} bytes/sample on disk", bytes as f64 / total.max(1) as f64));
    pool.close().await;
    Ok(elapsed)
}

async fn insert(pool: &PgPool, samples: &[Sample]) -> anyhow::Result<usize> {
    if samples.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = samples.iter().map(|s| s.id).collect();
    let target_ids: Vec<Uuid> = samples.iter().map(|s| s.target_id).collect();
    let slots: Vec<i64> = samples.iter().map(|s| s.slot).collect();
    let ats: Vec<DateTime<Utc>> = samples.iter().map(|s| s.at).collect();
    let successes: Vec<bool> = samples.iter().map(|s| s.success).collect();
    let codes: Vec<Option<i32>> = samples.iter().map(|s| s.status_code.map(i32::from)).collect();
    let latencies: Vec<f64> = samples.iter().map(|s| s.latency_ms).collect();
    let errors: Vec<Option<&str>> = samples.iter().map(|s| s.error.as_deref()).collect();
    let probers: Vec<&str> = samples.iter().map(|s| s.prober.as_str()).collect();
    let versions: Vec<i64> = samples.iter().map(|s| s.check_version).collect();
    let result = sqlx::query::<Postgres>(
        "INSERT INTO baseline_samples \
         (id, target_id, slot, at, success, status_code, latency_ms, error, prober, check_version) \
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::timestamptz[], $5::bool[], $6::int4[], \
         $7::float8[], $8::text[], $9::text[], $10::int8[]) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&ids)
    .bind(&target_ids)
    .bind(&slots)
    .bind(&ats)
    .bind(&successes)
    .bind(&codes)
    .bind(&latencies)
    .bind(&errors)
    .bind(&probers)
    .bind(&versions)
    .execute(pool)
    .await
    .context("insert a baseline batch")?;
    Ok(result.rows_affected() as usize)
}
