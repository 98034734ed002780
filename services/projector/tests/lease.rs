//! The projector lease on a real NATS: one holder at a time, handed over at once on release and
//! after the TTL on a crash; with two projectors running, the standby carries on when the active
//! one dies.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use healthmon_bus::{EventBus, Naming, NatsBus, Stream};
use healthmon_domain::events::{encode_sample, source};
use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{HealthStatus, Sample, Target};
use healthmon_projector::Projector;
use healthmon_projector::lease::{BUCKET, KEY, Lease, LeaseConfig};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::Store;
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TTL: Duration = Duration::from_secs(1);

async fn connect() -> NatsBus {
    let url = std::env::var("HEALTHMON_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let naming = Naming::new(format!("t{}", Uuid::new_v4().simple()));
    NatsBus::connect(&url, naming, Default::default()).await.expect("connect to NATS")
}

async fn clean_up(nats: &NatsBus) {
    let jetstream = nats.jetstream();
    let _ = jetstream.delete_stream(format!("KV_{}", nats.naming().durable_name(BUCKET))).await;
    for stream in Stream::ALL {
        let _ = jetstream.delete_stream(nats.naming().stream_name(stream)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_has_one_holder_and_passes_on_at_release_or_after_the_ttl() {
    let nats = connect().await;
    let shutdown = CancellationToken::new();
    let a = Lease::open(&nats, "a", TTL).await.expect("open");
    let b = Lease::open(&nats, "b", TTL).await.expect("open");

    let tenure = a.acquire(&shutdown).await.expect("a free lease is taken at once");
    let a_term = CancellationToken::new();
    let a_holding = tokio::spawn({
        let (a, a_term) = (a.clone(), a_term.clone());
        async move { a.hold(tenure, a_term).await }
    });
    let contested = tokio::time::timeout(TTL * 3, b.acquire(&shutdown)).await;
    assert!(contested.is_err(), "renewed every TTL/3, the lease never lapses for b");

    a_term.cancel();
    a_holding.await.expect("a released");
    let released_at = Instant::now();
    let tenure = b.acquire(&shutdown).await.expect("taken");
    let after_release = released_at.elapsed();
    assert!(after_release < Duration::from_millis(500), "released, taken in {after_release:?}");

    let b_holding = tokio::spawn({
        let b = b.clone();
        async move { b.hold(tenure, CancellationToken::new()).await }
    });
    tokio::time::sleep(TTL / 2).await;
    b_holding.abort();
    let crashed_at = Instant::now();
    a.acquire(&shutdown).await.expect("taken");
    let after_crash = crashed_at.elapsed();
    assert!(
        after_crash > TTL / 3 && after_crash < TTL + Duration::from_millis(400),
        "a crashed holder's lease lapses after the TTL, taken in {after_crash:?}"
    );
    clean_up(&nats).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposed_holder_stands_down_at_once_not_at_its_next_renewal() {
    let nats = connect().await;
    let ttl = Duration::from_secs(6);
    let lease = Lease::open(&nats, "a", ttl).await.expect("open");
    let tenure = lease.acquire(&CancellationToken::new()).await.expect("taken");
    let term = CancellationToken::new();
    let holding = tokio::spawn({
        let (lease, term) = (lease.clone(), term.clone());
        async move { lease.hold(tenure, term).await }
    });
    // Another projector's write, as after a pause of this one longer than the TTL.
    let bucket = nats.jetstream().get_key_value(nats.naming().durable_name(BUCKET)).await.expect("bucket");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let taken_at = Instant::now();
    bucket.put(KEY, serde_json::json!({"holder": "b"}).to_string().into()).await.expect("put");
    tokio::time::timeout(ttl / 3, term.cancelled()).await.expect("stood down before its next renewal");
    let noticed = taken_at.elapsed();
    assert!(noticed < Duration::from_millis(500), "noticed after {noticed:?}");
    holding.await.expect("holding ended");
    clean_up(&nats).await;
}

fn sample(target: &Target, slot: i64, success: bool) -> Sample {
    Sample {
        id: sample_id(target.id, slot),
        target_id: target.id,
        slot,
        at: Utc::now(),
        success,
        status_code: Some(if success { 200 } else { 500 }),
        latency_ms: 1.0,
        error: None,
        prober: "p".into(),
        check_version: target.check_version,
        pin_host_key: None,
    }
}

async fn publish(bus: &NatsBus, target: &Target, slots: std::ops::Range<i64>, success: bool) {
    for slot in slots {
        let sample = sample(target, slot * 1000, success);
        let payload = Bytes::from(encode_sample(&sample, &source("prober", "p")));
        bus.publish(Stream::Samples, &target.id.to_string(), &sample.id.to_string(), payload).await.expect("publish");
    }
}

async fn wait_for_status(store: &dyn Store, target: &Target, status: HealthStatus, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let record = store.get_target(target.id).await.expect("read").expect("present");
        if record.health.status == status {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "{} still {:?}, not {status:?}", target.id, record.health.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn active_projector(nats: &NatsBus) -> String {
    let bucket = nats.jetstream().get_key_value(nats.naming().durable_name(BUCKET)).await.expect("bucket");
    let entry = bucket.entry(KEY).await.expect("read").expect("held");
    let value: serde_json::Value = serde_json::from_slice(&entry.value).expect("json");
    value["holder"].as_str().expect("holder").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standby_projector_carries_on_when_the_active_one_dies() {
    let nats = connect().await;
    let bus: Arc<dyn EventBus> = Arc::new(nats.clone());
    let url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let store = healthmon_store::connect(&url).await.expect("store");
    let spec = parse_spec(&json!({"name": "t", "kind": "http", "url": "http://127.0.0.1:1/"})).expect("spec");
    let target = Target::create(spec, healthmon_store::now());
    store.create_target(&target, "test").await.expect("create");

    let shutdown = CancellationToken::new();
    let mut projectors = std::collections::HashMap::new();
    for instance in ["a", "b"] {
        let projector = Projector::new(
            store.clone(),
            OutboxRelay::new(store.clone(), bus.clone()),
            instance,
            Duration::from_secs(2),
        );
        let lease = LeaseConfig::NatsKv { nats: nats.clone(), ttl: TTL };
        projectors.insert(instance, tokio::spawn(projector.run(bus.clone(), lease, shutdown.clone())));
    }
    publish(&nats, &target, 1..6, true).await;
    wait_for_status(store.as_ref(), &target, HealthStatus::Healthy, Duration::from_secs(10)).await;

    let active = active_projector(&nats).await;
    projectors.remove(active.as_str()).expect("a running projector holds the lease").abort();
    publish(&nats, &target, 6..9, false).await;
    let took = wait_for_status(store.as_ref(), &target, HealthStatus::Unhealthy, TTL + Duration::from_secs(5)).await;
    assert_ne!(active_projector(&nats).await, active, "the standby holds the lease now");
    println!("the standby applied the next samples {took:?} after the active projector died (TTL {TTL:?})");

    shutdown.cancel();
    for (_, task) in projectors {
        task.await.expect("stopped");
    }
    drop(store);
    let _ = healthmon_testing::drop_postgres_database(&url).await;
    clean_up(&nats).await;
}
