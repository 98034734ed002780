//! Scenarios 1 and 5: the active projector is killed with SIGKILL five times during a flood of
//! samples, and a standby takes over each time; then old samples are published again, in reverse
//! order and under new message ids. Nothing may be lost, duplicated or applied out of order.

use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use healthmon_bus::{EventBus, NatsBus, Stream};
use healthmon_domain::Sample;
use healthmon_domain::events::{encode_sample, source};
use healthmon_domain::sample::sample_id;
use healthmon_projector::lease::{BUCKET, KEY};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::cluster::{Cluster, Role, full_size};
use healthmon_testing::{test_nats_url, wait_until};

use crate::{history, report};

const KILLS: usize = 5;
const REPLAYED: i64 = 1_000;

/// The first slot of the flood: a day ago, so that every sample is well within raw retention.
static FIRST_SLOT: std::sync::LazyLock<i64> =
    std::sync::LazyLock::new(|| (Utc::now() - chrono::Duration::days(1)).timestamp() * 1000);

/// The `index`-th sample of a target: 7 successes then 3 failures, over and over, so health
/// flips twice every 10 samples and any reordering would show in the transitions.
fn synthetic(target_id: Uuid, index: i64) -> Sample {
    let slot = *FIRST_SLOT + index * 1_000;
    Sample {
        id: sample_id(target_id, slot),
        target_id,
        slot,
        at: Utc::now(),
        success: index % 10 < 7,
        status_code: None,
        latency_ms: 1.0,
        error: None,
        prober: "flood".into(),
        check_version: 1,
        pin_host_key: None,
    }
}

async fn publish(bus: &NatsBus, sample: &Sample, msg_id: &str) {
    let payload = Bytes::from(encode_sample(sample, &source("prober", "flood")));
    bus.publish(Stream::Samples, &sample.target_id.to_string(), msg_id, payload).await.expect("publish a sample");
}

/// Publishes round-robin over the targets at `rate` per second until `stop`; returns how many.
async fn flood(bus: NatsBus, targets: Vec<Uuid>, rate: f64, stop: CancellationToken) -> i64 {
    let started = Instant::now();
    let mut published: i64 = 0;
    let count = i64::try_from(targets.len()).expect("target count");
    while !stop.is_cancelled() {
        tokio::time::sleep_until(started + Duration::from_secs_f64(published as f64 / rate)).await;
        let target = targets[usize::try_from(published % count).expect("index")];
        let sample = synthetic(target, published / count);
        publish(&bus, &sample, &sample.id.to_string()).await;
        published += 1;
    }
    published
}

async fn lease_holder(bus: &NatsBus) -> Option<String> {
    let bucket = bus.jetstream().get_key_value(bus.naming().durable_name(BUCKET)).await.ok()?;
    let entry = bucket.entry(KEY).await.ok()??;
    let value: serde_json::Value = serde_json::from_slice(&entry.value).ok()?;
    value["holder"].as_str().map(str::to_string)
}

/// Waits until the samples consumer has nothing left to deliver or to have acked.
async fn drained(bus: &NatsBus) {
    let naming = bus.naming().clone();
    wait_until("the projector to drain the samples stream", Duration::from_secs(60), || {
        let (jetstream, naming) = (bus.jetstream(), naming.clone());
        async move {
            let stream = jetstream.get_stream(naming.stream_name(Stream::Samples)).await.ok()?;
            let info = stream.consumer_info(naming.durable_name(healthmon_projector::CONSUMER)).await.ok()?;
            (info.num_pending == 0 && info.num_ack_pending == 0).then_some(())
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_active_projector_loses_duplicates_and_reorders_nothing() {
    let (target_count, rate, lease_ttl) = if full_size() { (100, 1_000.0, 10) } else { (10, 400.0, 2) };
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let mut cluster = Cluster::new(
        database_url.clone(),
        test_nats_url(),
        &[("HEALTHMON_PROJECTOR_LEASE_TTL_S", lease_ttl.to_string())],
    );
    cluster.start(Role::Api, "api-1");
    let client = cluster.client().await;
    // Never probed (no prober runs) and never stale within the run.
    let targets = client.create_targets(target_count, "http://127.0.0.1:9/", 3_600).await;
    cluster.start(Role::Projector, "projector-1");
    cluster.start(Role::Projector, "projector-2");
    let bus = cluster.nats().await;
    let pool = cluster.pool().await;

    let stop = CancellationToken::new();
    let flooding = tokio::spawn(flood(bus.clone(), targets.clone(), rate, stop.clone()));
    let mut takeovers = Vec::new();
    for round in 0..KILLS {
        let active = wait_until("an active projector", Duration::from_secs(30), || lease_holder(&bus)).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        let killed_at = Instant::now();
        cluster.kill(&active);
        cluster.start(Role::Projector, &format!("projector-{}", round + 3));
        let successor = wait_until("a standby to take the lease", lease_ttl_wait(lease_ttl), || {
            let (bus, active) = (&bus, active.clone());
            async move { lease_holder(bus).await.filter(|holder| *holder != active) }
        })
        .await;
        takeovers.push(killed_at.elapsed());
        println!("round {}: killed {active}, {successor} took over after {:?}", round + 1, killed_at.elapsed());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    let published = flooding.await.expect("flood");

    let caught_up = Instant::now();
    wait_for_history(&pool, published).await;
    let catch_up = caught_up.elapsed();
    drained(&bus).await;
    let (rows, distinct) = history::counts(&pool).await;
    let mismatches = history::health_mismatches(&pool).await;
    assert_eq!(rows, published, "history rows = samples published");
    assert_eq!(distinct, rows, "no (target, slot) stored twice");
    assert!(mismatches.is_empty(), "health differs from a recomputation from history: {mismatches:#?}");

    // Scenario 5: the oldest samples again, newest first, under new message ids, so JetStream
    // stores them and only the store's idempotency and the state machine's slot order stand guard.
    let before = history::snapshot(&pool).await;
    let replayed: Vec<Sample> = (0..REPLAYED.min(published))
        .rev()
        .map(|n| {
            let count = i64::try_from(targets.len()).expect("count");
            synthetic(targets[usize::try_from(n % count).expect("index")], n / count)
        })
        .collect();
    for sample in &replayed {
        publish(&bus, sample, &Uuid::new_v4().to_string()).await;
    }
    drained(&bus).await;
    let after = history::snapshot(&pool).await;
    assert_eq!(before, after, "replaying old samples changed health, transitions or history");

    let max_takeover = takeovers.iter().max().copied().unwrap_or_default();
    report(
        "1. kill -9 the active projector during a flood",
        &[
            ("projector kills", KILLS.to_string()),
            ("lease TTL", format!("{lease_ttl} s")),
            ("take-over after kill (each)", format!("{takeovers:.2?}")),
            ("take-over after kill (max)", format!("{max_takeover:.2?}")),
            ("samples published", published.to_string()),
            ("rows in history", rows.to_string()),
            ("samples lost", (published - rows).to_string()),
            ("duplicates", (rows - distinct).to_string()),
            ("targets whose health differs from history", mismatches.len().to_string()),
            ("caught up after the flood in", format!("{catch_up:.2?}")),
        ],
    );
    report(
        "5. duplicate and out-of-order delivery",
        &[
            ("old samples republished (reverse order, new ids)", replayed.len().to_string()),
            ("health rows / transitions changed", if before == after { "0".into() } else { "some".into() }),
            ("history rows before -> after", format!("{} -> {}", before.1, after.1)),
        ],
    );
    assert!(max_takeover <= lease_ttl_wait(lease_ttl), "take-over took {max_takeover:?}");
    cluster.finish().await;
    let _ = healthmon_testing::drop_postgres_database(&database_url).await;
}

/// Waits until history holds `published` rows, for as long as it keeps growing: a slow machine
/// catches up slowly, a lost sample never.
async fn wait_for_history(pool: &sqlx::PgPool, published: i64) {
    let patience = Duration::from_secs(30);
    let (mut stored, mut grew_at) = (0, Instant::now());
    loop {
        let now_stored = history::counts(pool).await.0;
        if now_stored >= published {
            return;
        }
        if now_stored > stored {
            (stored, grew_at) = (now_stored, Instant::now());
        }
        assert!(grew_at.elapsed() < patience, "history stuck at {stored} of {published} samples for {patience:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The lease runs out at most a TTL after the kill and a standby notices within its poll interval;
/// the rest is slack for a loaded machine (CI), the printed figures are the measurement.
fn lease_ttl_wait(ttl_s: u64) -> Duration {
    Duration::from_secs(ttl_s) + Duration::from_secs(3)
}
