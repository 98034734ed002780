//! Ingest throughput on Postgres, the projector's hot path (ignored by default; run with
//! `cargo test -p healthmon-store --release --test ingest_throughput -- --ignored --nocapture`).

use std::time::Instant;

use chrono::{DateTime, Utc};
use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{Sample, Target};
use healthmon_testing::{drop_postgres_database, fresh_postgres_database};
use serde_json::json;

const TARGETS: usize = 1000;
const BATCH: usize = 1000;
const BATCHES: i64 = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark; needs Postgres"]
async fn postgres_ingests_thirty_thousand_samples_a_second() {
    let url = fresh_postgres_database().await.expect("test database");
    let store = healthmon_store::connect(&url).await.expect("connect");
    let mut targets = Vec::new();
    for index in 0..TARGETS {
        let document = json!({"name": format!("t{index}"), "kind": "http", "url": "http://127.0.0.1:9/"});
        let target = Target::create(parse_spec(&document).expect("valid"), Utc::now());
        store.create_target(&target, "/bench").await.expect("create");
        targets.push(target);
    }
    let batches: Vec<Vec<Sample>> = (1..=BATCHES)
        .map(|slot| {
            targets
                .iter()
                .cycle()
                .take(BATCH)
                .map(|target| Sample {
                    id: sample_id(target.id, slot),
                    target_id: target.id,
                    slot,
                    at: DateTime::from_timestamp_millis(1_700_000_000_000 + slot * 1000).expect("time"),
                    success: slot % 7 != 0,
                    status_code: Some(200),
                    latency_ms: 3.5,
                    error: None,
                    prober: "bench".into(),
                    check_version: 1,
                    pin_host_key: None,
                })
                .collect()
        })
        .collect();

    let started = Instant::now();
    let mut stored = 0;
    let mut changes = 0;
    for batch in &batches {
        let outcome = store.ingest(batch, "/bench").await.expect("ingest");
        stored += outcome.stored;
        changes += outcome.changes.len();
    }
    let elapsed = started.elapsed();
    let rate = stored as f64 / elapsed.as_secs_f64();
    println!("{stored} samples ({changes} health changes) in {elapsed:?}: {rate:.0} samples/s");
    assert_eq!(stored, BATCH * BATCHES as usize);
    drop(store);
    drop_postgres_database(&url).await.expect("drop the test database");
    assert!(rate > 30_000.0, "{rate:.0} samples/s is below the 30,000 target");
}
