//! Killing the projector in the middle of a stream of samples loses none and duplicates none, and
//! health still equals a recomputation from the history.

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use healthmon_bus::Stream;
use healthmon_domain::events::{encode_sample, source};
use healthmon_domain::sample::sample_id;
use healthmon_domain::{HealthState, Sample, Thresholds};
use healthmon_tests::{Mode, TestApp, both_modes, wait_until};
use serde_json::{Value, json};
use uuid::Uuid;

both_modes!(a_killed_projector_loses_and_duplicates_nothing);

const TARGETS: usize = 4;
const SLOTS: i64 = 300;

/// The first slot: a day ago, so that every sample is well within raw retention.
static FIRST_SLOT: std::sync::LazyLock<i64> =
    std::sync::LazyLock::new(|| (Utc::now() - chrono::Duration::days(1)).timestamp() * 1000);

fn synthetic(target_id: Uuid, check_version: i64, slot_index: i64) -> Sample {
    let slot = *FIRST_SLOT + slot_index * 1000;
    // Runs of successes and failures long enough to move the thresholds both ways.
    let success = (slot_index / 7) % 3 != 0;
    Sample {
        id: sample_id(target_id, slot),
        target_id,
        slot,
        at: Utc.timestamp_millis_opt(slot).single().unwrap_or_default(),
        success,
        status_code: Some(if success { 200 } else { 500 }),
        latency_ms: 1.0,
        error: (!success).then(|| "HTTP 500".to_owned()),
        prober: "synthetic".into(),
        check_version,
        pin_host_key: None,
    }
}

async fn publish(app: &TestApp, samples: &[Sample]) {
    let source = source("prober", "synthetic");
    for sample in samples {
        let payload = Bytes::from(encode_sample(sample, &source));
        let key = sample.target_id.to_string();
        app.components.bus.publish(Stream::Samples, &key, &sample.id.to_string(), payload).await.expect("publish");
    }
}

async fn stored(app: &TestApp, ids: &[String]) -> Vec<Vec<Value>> {
    let mut all = Vec::new();
    for id in ids {
        all.push(app.all_samples(id).await);
    }
    all
}

async fn a_killed_projector_loses_and_duplicates_nothing(mode: Mode) {
    let mut app = TestApp::spawn_with_separate_projector(mode).await;
    // Paused targets are not probed, so every sample in their history is one this test published.
    let mut targets = Vec::new();
    for n in 0..TARGETS {
        let body =
            json!({"name": format!("crash-{n}"), "kind": "http", "url": "http://127.0.0.1:1/", "enabled": false});
        targets.push(app.create_target(body).await);
    }
    let ids: Vec<String> = targets.iter().map(|t| t["id"].as_str().expect("id").to_owned()).collect();
    let samples: Vec<Sample> = (0..SLOTS)
        .flat_map(|slot| {
            targets.iter().map(move |t| {
                let id = Uuid::parse_str(t["id"].as_str().unwrap_or_default()).unwrap_or_default();
                synthetic(id, t["check_version"].as_i64().unwrap_or(1), slot)
            })
        })
        .collect();
    let (first_half, second_half) = samples.split_at(samples.len() / 2);

    publish(&app, first_half).await;
    wait_until("the projector to be part-way through", Duration::from_secs(20), || async {
        let count: usize = stored(&app, &ids).await.iter().map(Vec::len).sum();
        (count > 0).then_some(())
    })
    .await;
    app.kill_projector();
    publish(&app, second_half).await;
    publish(&app, &samples[..200]).await; // duplicates, as a re-publishing prober would send
    app.start_projector().await;

    let expected = samples.len();
    let history = wait_until("every published sample in the history", Duration::from_secs(60), || async {
        let history = stored(&app, &ids).await;
        (history.iter().map(Vec::len).sum::<usize>() == expected).then_some(history)
    })
    .await;
    let unique: HashSet<&str> = history.iter().flatten().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(unique.len(), expected, "no duplicates in history");
    let published: HashSet<String> = samples.iter().map(|s| s.id.to_string()).collect();
    assert!(unique.iter().all(|id| published.contains(*id)));

    for (target, id) in targets.iter().zip(&ids) {
        let target_id = Uuid::parse_str(id).expect("uuid");
        let mut state = HealthState::new(target["check_version"].as_i64().unwrap_or(1));
        for slot in 0..SLOTS {
            state.observe(&synthetic(target_id, state.check_version, slot), Thresholds::default());
        }
        let health = wait_until("health to settle", Duration::from_secs(10), || async {
            let health = app.target(id).await["health"].clone();
            (health["consecutive_successes"] == state.consecutive_successes
                && health["consecutive_failures"] == state.consecutive_failures)
                .then_some(health)
        })
        .await;
        assert!(health["reason"].is_string(), "{health}");
        let (_, transitions) =
            app.call(reqwest::Method::GET, &format!("/api/v1/targets/{id}/transitions?limit=1"), None).await;
        assert_eq!(transitions["items"][0]["to"], state.status.as_str(), "health equals a recomputation");
    }
    app.stop().await;
}
