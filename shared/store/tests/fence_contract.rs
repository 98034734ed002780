//! The projector fence, run against both Postgres and SQLite: once another projector has claimed
//! the fence, writes with the older epoch fail and change nothing.

mod support;

use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{HealthStatus, Sample, Target};
use healthmon_store::{Fenced, SampleQuery};
use serde_json::json;
use support::Backend;

contract_tests!(a_deposed_projector_cannot_write_health, each_claim_takes_a_newer_epoch);

const SOURCE: &str = "/healthmon/test/fence";

fn target() -> Target {
    let document = json!({"name": "fenced", "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 1});
    Target::create(parse_spec(&document).expect("spec"), healthmon_store::now())
}

fn successes(target: &Target, slots: std::ops::RangeInclusive<i64>) -> Vec<Sample> {
    slots
        .map(|slot| Sample {
            id: sample_id(target.id, slot * 1000),
            target_id: target.id,
            slot: slot * 1000,
            at: healthmon_store::now(),
            success: true,
            status_code: Some(200),
            latency_ms: 1.0,
            error: None,
            prober: "p".into(),
            check_version: target.check_version,
            pin_host_key: None,
        })
        .collect()
}

async fn stored_samples(backend: &Backend, target: &Target) -> usize {
    let query = SampleQuery { target_id: target.id, limit: 100, ..Default::default() };
    backend.store.samples(&query).await.expect("samples").items.len()
}

async fn each_claim_takes_a_newer_epoch(backend: &Backend) {
    let first = backend.store.claim_fence("projector-a").await.expect("claim");
    let second = backend.store.claim_fence("projector-b").await.expect("claim");
    let third = backend.another_handle().await.claim_fence("projector-a").await.expect("claim");
    assert!(first < second && second < third, "{first} < {second} < {third}");
}

async fn a_deposed_projector_cannot_write_health(backend: &Backend) {
    let store = &backend.store;
    let target = target();
    store.create_target(&target, SOURCE).await.expect("create");
    let deposed = store.claim_fence("projector-a").await.expect("claim");
    let active = store.claim_fence("projector-b").await.expect("claim");

    let refused = store.ingest_fenced(&successes(&target, 1..=5), SOURCE, Some(deposed)).await;
    let error = refused.expect_err("the deposed epoch is refused");
    assert_eq!(error.downcast_ref::<Fenced>(), Some(&Fenced { ours: deposed, current: active }), "{error:#}");
    assert_eq!(stored_samples(backend, &target).await, 0, "nothing of the refused batch is stored");
    let stale = store.mark_stale_fenced(healthmon_store::now(), SOURCE, Some(deposed)).await;
    assert!(stale.expect_err("refused").downcast_ref::<Fenced>().is_some());

    let outcome = store.ingest_fenced(&successes(&target, 1..=5), SOURCE, Some(active)).await.expect("ingest");
    assert_eq!((outcome.stored, outcome.changes.len()), (5, 1));
    let record = store.get_target(target.id).await.expect("get").expect("present");
    assert_eq!(record.health.status, HealthStatus::Healthy);
    let unfenced = store.ingest(&successes(&target, 6..=6), SOURCE).await.expect("a lone projector needs no fence");
    assert_eq!(unfenced.stored, 1);
}
