//! A prober whose sample buffer fills during a NATS outage drops the oldest samples, counts them
//! in `/metrics`, and publishes the newest when NATS returns. Needs a process of its own (nextest
//! runs each test in one): the metrics registry is process-wide, and the other outage test asserts
//! that nothing was dropped.

use std::time::Duration;

use chrono::Utc;
use healthmon_testing::PrivateNats;
use healthmon_tests::history::missing_slots;
use healthmon_tests::{Mode, TargetServer, TestApp, prometheus, wait_until};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_buffer_drops_the_oldest_samples_and_counts_them() {
    let mut nats = PrivateNats::start();
    let url = nats.url();
    let app = TestApp::spawn_with(Mode::Distributed, |settings| {
        settings.nats_url = Some(url);
        settings.prober_buffer = 2;
    })
    .await;
    let prober = app.prober_addr().expect("a prober of its own");
    let server = TargetServer::start().await;
    let created =
        app.create_target(json!({"name": "steady", "kind": "http", "url": server.url(), "interval_s": 1})).await;
    let id = created["id"].as_str().expect("id").to_owned();
    wait_until("samples before the outage", Duration::from_secs(15), || async {
        (app.sample_slots(&id).await.len() >= 2).then_some(())
    })
    .await;

    nats.kill();
    let stopped_at = Utc::now().timestamp_millis();
    // Five probes for a buffer of two: at least three must go. Counted once each probe has
    // finished and handed its sample over, which is after the target server saw its request.
    wait_until("three samples dropped during the outage", Duration::from_secs(12), || async {
        let (_, _, metrics) = prometheus::scrape(prober).await;
        let dropped = prometheus::value(&metrics, "healthmon_prober_samples_dropped_total").unwrap_or(0.0);
        (dropped >= 3.0).then_some(())
    })
    .await;
    nats.resume();
    let resumed_at = Utc::now().timestamp_millis();

    let slots = wait_until("samples from after the outage", Duration::from_secs(30), || async {
        let slots = app.sample_slots(&id).await;
        (slots.last().is_some_and(|last| *last > resumed_at + 2000)).then_some(slots)
    })
    .await;
    let missing = missing_slots(&slots, 1000);
    // The two newest of the outage, probed before the prober reconnected, are kept, and every
    // slot from them on is stored: one run of missing slots, starting where the outage did.
    let (first_missing, last_missing) = match (missing.first(), missing.last()) {
        (Some(first), Some(last)) => (*first, *last),
        _ => panic!("dropped samples leave a gap: {slots:?}"),
    };
    assert_eq!(
        (last_missing - first_missing) / 1000 + 1,
        missing.len() as i64,
        "one run of missing slots, the oldest of the outage: {missing:?}"
    );
    // Had the newest been dropped, the two kept would sit between the outage's start and the gap.
    let kept_before_gap = slots.iter().filter(|slot| (stopped_at..first_missing).contains(*slot)).count();
    assert!(kept_before_gap <= 1, "the kept samples are the newest ones: {slots:?}, stopped at {stopped_at}");

    let (status, _, metrics) = prometheus::scrape(prober).await;
    assert_eq!(status, StatusCode::OK);
    let dropped = prometheus::value(&metrics, "healthmon_prober_samples_dropped_total").unwrap_or(0.0);
    assert!(dropped >= missing.len() as f64, "every missing sample was counted as dropped: {metrics}");
    app.stop().await;
}
