//! One sample the store can never take must not hold up the rest: on Postgres a NUL in a sample's
//! error is refused (`invalid byte sequence for encoding "UTF8": 0x00`); the projector sets that
//! one sample aside on the dead-letter stream, with its reason, and stores every other.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use futures::StreamExt;
use healthmon_bus::{EventBus, MemoryBus, Naming, StartAt, Stream};
use healthmon_domain::events::{decode_sample, encode_sample, source};
use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{HealthStatus, Sample, Target};
use healthmon_projector::dead_letter::{Cause, DeadLetter};
use healthmon_projector::{Projector, StepReport};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::{SampleQuery, Store};
use serde_json::json;

fn sample(target: &Target, slot: i64, error: Option<&str>) -> Sample {
    Sample {
        id: sample_id(target.id, slot),
        target_id: target.id,
        slot,
        at: Utc.timestamp_millis_opt(slot).single().expect("time"),
        success: error.is_none(),
        status_code: None,
        latency_ms: 1.0,
        error: error.map(str::to_owned),
        prober: "p".into(),
        check_version: target.check_version,
        pin_host_key: None,
    }
}

#[tokio::test]
async fn a_sample_postgres_refuses_is_set_aside_and_every_other_sample_is_stored() {
    let url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let store: Arc<dyn Store> = healthmon_store::connect(&url).await.expect("store");
    let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new(Naming::new("dead-letters")));
    let mut targets = Vec::new();
    for name in ["poisoned", "neighbour"] {
        let spec = parse_spec(&json!({"name": name, "kind": "tcp", "host": "127.0.0.1", "port": 1})).expect("spec");
        let target = Target::create(spec, healthmon_store::now());
        store.create_target(&target, "test").await.expect("create");
        targets.push(target);
    }
    // Five successes each, then the poisoned target's sixth sample carries a NUL, written
    // straight to the bus as a prober older than the domain's cleaning would have.
    let mut published = 0;
    for slot in 1..=5 {
        for target in &targets {
            publish(bus.as_ref(), &sample(target, slot * 1_000, None)).await;
            published += 1;
        }
    }
    let poison = sample(&targets[0], 6_000, Some("exit status 1: \0 on stderr"));
    publish(bus.as_ref(), &poison).await;
    publish(bus.as_ref(), &sample(&targets[1], 6_000, None)).await;

    let projector =
        Projector::new(store.clone(), OutboxRelay::new(store.clone(), bus.clone()), "p1", Duration::from_secs(30));
    let mut consumer = projector.consumer(bus.as_ref()).await.expect("consumer");
    let mut total = StepReport::default();
    loop {
        let report = projector.step(consumer.as_mut(), bus.as_ref()).await.expect("a step never fails on bad data");
        if report.received == 0 {
            break;
        }
        total.received += report.received;
        total.stored += report.stored;
        total.unstorable += report.unstorable;
    }
    assert_eq!((total.received, total.stored, total.unstorable), (published + 2, published + 1, 1));
    for target in &targets {
        let stored = store.get_target(target.id).await.expect("get").expect("target");
        assert_eq!(stored.health.status, HealthStatus::Healthy, "{}", target.spec.name);
    }
    let query = SampleQuery { target_id: targets[1].id, limit: 100, ..Default::default() };
    assert_eq!(store.samples(&query).await.expect("samples").items.len(), 6, "the neighbour lost nothing");

    let mut dead = bus.follow(Stream::DeadLetters, StartAt::Beginning).await.expect("follow dead letters");
    let message = tokio::time::timeout(Duration::from_secs(5), dead.next())
        .await
        .expect("a dead letter")
        .expect("an item")
        .expect("a message");
    let letter: DeadLetter = serde_json::from_slice(&message.payload).expect("a dead letter");
    assert_eq!(letter.cause, Cause::Unstorable);
    assert!(letter.reason.contains("0x00"), "the reason names the refused byte: {}", letter.reason);
    let original = base64::engine::general_purpose::STANDARD.decode(&letter.payload_base64).expect("base64");
    assert_eq!(decode_sample(&original).expect("the original sample"), poison);
    assert!(tokio::time::timeout(Duration::from_millis(300), dead.next()).await.is_err(), "exactly one dead letter");

    drop(store);
    healthmon_testing::drop_postgres_database(&url).await.expect("drop database");
}

async fn publish(bus: &dyn EventBus, sample: &Sample) {
    let payload = Bytes::from(encode_sample(sample, &source("prober", "p")));
    bus.publish(Stream::Samples, &sample.target_id.to_string(), &sample.id.to_string(), payload)
        .await
        .expect("publish");
}
