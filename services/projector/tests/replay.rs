//! The projector driven one step at a time: samples become history and health, and replaying the
//! whole stream through a fresh consumer changes nothing.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use healthmon_bus::{DurableConsumer, EventBus, MemoryBus, Naming, Stream};
use healthmon_domain::events::{encode_sample, source};
use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{HealthStatus, Sample, Target};
use healthmon_projector::{Projector, StepReport};
use healthmon_runtime::outbox::OutboxRelay;
use healthmon_store::{SampleQuery, Store};
use serde_json::json;

async fn drain(projector: &Projector, consumer: &mut dyn DurableConsumer, bus: &dyn EventBus) -> StepReport {
    let mut total = StepReport::default();
    loop {
        let report = projector.step(consumer, bus).await.expect("step");
        if report.received == 0 {
            return total;
        }
        total.received += report.received;
        total.stored += report.stored;
        total.changes += report.changes;
        total.malformed += report.malformed;
        total.unstorable += report.unstorable;
    }
}

#[tokio::test]
async fn replaying_the_whole_stream_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store: Arc<dyn Store> =
        healthmon_store::connect(&healthmon_testing::fresh_sqlite_url(dir.path())).await.expect("store");
    let bus: Arc<dyn EventBus> = Arc::new(MemoryBus::new(Naming::new("replay")));
    let spec = parse_spec(&json!({"name": "t", "kind": "http", "url": "http://127.0.0.1:1/"})).expect("spec");
    let target = Target::create(spec, healthmon_store::now());
    store.create_target(&target, "test").await.expect("create");

    let outcomes = [true, true, true, true, true, false, false, false, true];
    for (n, success) in outcomes.iter().enumerate() {
        let slot = 1_000 * (n as i64 + 1);
        let sample = Sample {
            id: sample_id(target.id, slot),
            target_id: target.id,
            slot,
            at: Utc.timestamp_millis_opt(slot).single().expect("time"),
            success: *success,
            status_code: Some(200),
            latency_ms: 1.0,
            error: None,
            prober: "p".into(),
            check_version: target.check_version,
            pin_host_key: None,
        };
        let payload = Bytes::from(encode_sample(&sample, &source("prober", "p")));
        bus.publish(Stream::Samples, &target.id.to_string(), &sample.id.to_string(), payload).await.expect("publish");
    }
    bus.publish(Stream::Samples, &target.id.to_string(), "garbage", Bytes::from_static(b"not an event"))
        .await
        .expect("publish garbage");

    let projector =
        Projector::new(store.clone(), OutboxRelay::new(store.clone(), bus.clone()), "p1", Duration::from_secs(5));
    let mut consumer = projector.consumer(bus.as_ref()).await.expect("consumer");
    let first = drain(&projector, consumer.as_mut(), bus.as_ref()).await;
    assert_eq!((first.received, first.stored, first.changes, first.malformed), (10, 9, 2, 1));
    let after_first = store.get_target(target.id).await.expect("get").expect("target");
    assert_eq!(after_first.health.status, HealthStatus::Unhealthy);
    assert_eq!((after_first.health.consecutive_successes, after_first.health.consecutive_failures), (1, 0));

    let mut replay = bus.durable_consumer(Stream::Samples, "replay", Duration::from_secs(5)).await.expect("replay");
    let second = drain(&projector, replay.as_mut(), bus.as_ref()).await;
    assert_eq!((second.received, second.stored, second.changes), (10, 0, 0));
    let after_replay = store.get_target(target.id).await.expect("get").expect("target");
    assert_eq!(after_replay, after_first);
    let query = SampleQuery { target_id: target.id, limit: 100, ..Default::default() };
    assert_eq!(store.samples(&query).await.expect("samples").items.len(), 9);
    let transitions = store.transitions(target.id, 100, None).await.expect("transitions");
    assert_eq!(transitions.items.len(), 2);
}
