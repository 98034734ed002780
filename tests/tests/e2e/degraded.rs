//! With NATS down, the API keeps answering `/healthz` from its last snapshot and reads from the
//! database, reports `degraded` in `/readyz`, and is `ready` again when NATS returns; the prober
//! keeps probing, buffers its samples and publishes them all when NATS is back.

use std::time::Duration;

use chrono::Utc;
use healthmon_testing::PrivateNats;
use healthmon_tests::history::missing_slots;
use healthmon_tests::{Mode, TargetServer, TestApp, prometheus, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_nats_the_api_serves_its_snapshot_and_reports_degraded() {
    let mut nats = PrivateNats::start();
    let url = nats.url();
    let app = TestApp::spawn_with(Mode::Distributed, |settings| settings.nats_url = Some(url)).await;
    let server = TargetServer::start().await;
    let created = app
        .create_target(
            json!({"name": "steady", "kind": "http", "url": server.url(), "interval_s": 1, "healthy_threshold": 1}),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    app.wait_for_status(&id, "healthy", Duration::from_secs(15)).await;
    wait_until("/healthz to pass", Duration::from_secs(10), || async {
        (app.healthz("").await.0 == StatusCode::OK).then_some(())
    })
    .await;
    let (status, ready) = app.call(Method::GET, "/readyz", None).await;
    assert_eq!((status, ready["status"].as_str()), (StatusCode::OK, Some("ready")));

    nats.kill();
    let degraded = wait_until("/readyz to report degraded", Duration::from_secs(20), || async {
        let (status, body) = app.call(Method::GET, "/readyz", None).await;
        (body["status"] == "degraded").then_some((status, body))
    })
    .await;
    assert_eq!(degraded.0, StatusCode::OK, "a degraded API still serves: {}", degraded.1);
    assert_eq!(degraded.1["checks"]["bus"], "unavailable");
    assert_eq!(degraded.1["checks"]["database"], "ok");
    let (status, health) = app.healthz("").await;
    assert_eq!((status, health["counts"]["healthy"].as_u64()), (StatusCode::OK, Some(1)), "from the last snapshot");
    assert_eq!(app.target(&id).await["health"]["status"], "healthy", "reads come from the database");

    nats.resume();
    wait_until("/readyz to be ready again", Duration::from_secs(30), || async {
        let (_, body) = app.call(Method::GET, "/readyz", None).await;
        (body["status"] == "ready").then_some(())
    })
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prober_buffers_samples_through_a_nats_outage_and_loses_none() {
    let mut nats = PrivateNats::start();
    let url = nats.url();
    let app = TestApp::spawn_with(Mode::Distributed, |settings| settings.nats_url = Some(url)).await;
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
    let hits = server.hits();
    // About 4 s without NATS, measured in probes: the prober keeps probing all along.
    wait_until("four probes during the outage", Duration::from_secs(10), || async {
        (server.hits() >= hits + 4).then_some(())
    })
    .await;
    nats.resume();
    let resumed_at = Utc::now().timestamp_millis();

    let slots = wait_until("samples from after the outage", Duration::from_secs(30), || async {
        let slots = app.sample_slots(&id).await;
        (slots.last().is_some_and(|last| *last > resumed_at + 2000)).then_some(slots)
    })
    .await;
    assert_eq!(missing_slots(&slots, 1000), Vec::<i64>::new(), "no slot is missing across the outage: {slots:?}");
    let during = slots.iter().filter(|slot| (stopped_at..resumed_at).contains(*slot)).count();
    assert!(during >= 3, "the samples probed during the outage were stored: {during} of {slots:?}");
    let (status, _, metrics) = prometheus::scrape(prober).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(prometheus::value(&metrics, "healthmon_prober_samples_dropped_total").unwrap_or(0.0), 0.0, "{metrics}");
    let published = prometheus::value(&metrics, "healthmon_prober_samples_published_total").unwrap_or(0.0);
    assert!(published >= slots.len() as f64, "every stored sample was counted as published: {metrics}");
    app.stop().await;
}
