//! The staleness contract, run against both Postgres and SQLite: silent targets turn stale once,
//! paused ones never, and samples bring a stale target back through unknown.

mod support;

use chrono::{Duration, Utc};
use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{HealthStatus, Sample, Target};
use serde_json::json;
use support::Backend;

contract_tests!(silent_targets_turn_stale_once_and_recover_through_unknown);

const SOURCE: &str = "/healthmon/test/stale";

fn target(name: &str, enabled: bool) -> Target {
    let document =
        json!({"name": name, "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 1, "enabled": enabled});
    let mut target = Target::create(parse_spec(&document).expect("spec"), healthmon_store::now());
    target.created_at -= Duration::seconds(60);
    target.updated_at -= Duration::seconds(60);
    target
}

fn sample(target: &Target, seconds_ago: i64) -> Sample {
    let at = healthmon_store::now() - Duration::seconds(seconds_ago);
    let slot = at.timestamp_millis();
    Sample {
        id: sample_id(target.id, slot),
        target_id: target.id,
        slot,
        at,
        success: true,
        status_code: Some(200),
        latency_ms: 1.0,
        error: None,
        prober: "p".into(),
        check_version: target.check_version,
        pin_host_key: None,
    }
}

async fn silent_targets_turn_stale_once_and_recover_through_unknown(backend: &Backend) {
    let store = &backend.store;
    let (silent, fresh, paused, never) =
        (target("silent", true), target("fresh", true), target("paused", false), target("never", true));
    for t in [&silent, &fresh, &paused, &never] {
        store.create_target(t, SOURCE).await.unwrap();
    }
    store.ingest(&[sample(&silent, 10), sample(&fresh, 1), sample(&paused, 10)], SOURCE).await.unwrap();

    let changes = store.mark_stale(healthmon_store::now(), SOURCE).await.unwrap();
    let mut stale: Vec<&str> = changes.iter().map(|c| c.name.as_str()).collect();
    stale.sort();
    assert_eq!(stale, ["never", "silent"], "silent for over 3 intervals, enabled");
    assert!(changes.iter().all(|c| c.to == HealthStatus::Stale && c.from == HealthStatus::Unknown));
    assert!(store.mark_stale(healthmon_store::now(), SOURCE).await.unwrap().is_empty(), "stale once");
    let record = store.get_target(silent.id).await.unwrap().unwrap();
    assert_eq!(record.health.status, HealthStatus::Stale);
    let transitions = store.transitions(silent.id, 10, None).await.unwrap();
    assert_eq!(transitions.items[0].to, HealthStatus::Stale);

    let back = store.ingest(&[sample(&silent, 0)], SOURCE).await.unwrap();
    assert_eq!(back.changes.len(), 1);
    assert_eq!((back.changes[0].from, back.changes[0].to), (HealthStatus::Stale, HealthStatus::Unknown));
    assert!(Utc::now() > silent.created_at);
}
