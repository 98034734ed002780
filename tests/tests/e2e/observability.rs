//! Observability end to end: after a short run, `/metrics` has every prober, projector, health and
//! API series with values that agree with what the run did; and every API response carries a
//! request id, the caller's own or a generated one. Each test needs a process of its own (nextest
//! runs each test in one): the metrics registry is process-wide, and exact counts must not see
//! other tests' targets.

use std::time::Duration;

use healthmon_tests::{Mode, TargetServer, TestApp, prometheus, wait_until};
use reqwest::Method;
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(30);

fn count(metrics: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    prometheus::labelled(metrics, name, labels).unwrap_or_else(|| panic!("no {name}{labels:?} in:\n{metrics}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_shows_in_every_new_series() {
    let app = TestApp::spawn(Mode::Distributed).await;
    let (up, down) = (TargetServer::start().await, TargetServer::start().await);
    down.set_status(500);
    let good = app.create_target(json!({"name": "good", "kind": "http", "url": up.url(), "interval_s": 1})).await;
    let bad = app.create_target(json!({"name": "bad", "kind": "http", "url": down.url(), "interval_s": 1})).await;
    let (good, bad) = (good["id"].as_str().expect("id").to_owned(), bad["id"].as_str().expect("id").to_owned());
    app.wait_for_status(&good, "healthy", LIMIT).await;
    app.wait_for_status(&bad, "unhealthy", LIMIT).await;

    // The board follows health events, so its gauges may trail the store for a moment.
    let metrics = wait_until("the health gauges to show the board", LIMIT, || async {
        let (_, _, metrics) = prometheus::scrape(app.addr).await;
        let healthy = prometheus::labelled(&metrics, "healthmon_targets", &[("status", "healthy")])?;
        let unhealthy = prometheus::labelled(&metrics, "healthmon_targets", &[("status", "unhealthy")])?;
        let pending = prometheus::value(&metrics, "healthmon_projector_consumer_pending");
        (healthy == 1.0 && unhealthy == 1.0 && pending.is_some()).then_some(metrics)
    })
    .await;
    let (_, healthz) = app.healthz("").await;
    for status in ["healthy", "unhealthy", "unknown", "stale", "paused"] {
        let expected = healthz["counts"][status].as_f64().expect("a count");
        assert_eq!(count(&metrics, "healthmon_targets", &[("status", status)]), expected, "{status}: {healthz}");
    }

    // Stored before the scrape below, so every one of them was probed and ingested before it.
    let stored_good = app.all_samples(&good).await.len() as f64;
    let stored_bad = app.all_samples(&bad).await.len() as f64;
    let (_, _, metrics) = prometheus::scrape(app.addr).await;

    let probes =
        |outcome| count(&metrics, "healthmon_probe_duration_seconds_count", &[("kind", "http"), ("outcome", outcome)]);
    let (successes, failures) = (probes("success"), probes("failure"));
    assert!(successes >= stored_good.max(5.0), "{successes} successes, {stored_good} stored");
    assert!(failures >= stored_bad.max(3.0), "{failures} failures, {stored_bad} stored");
    assert!(metrics.contains("healthmon_probe_duration_seconds_bucket{"), "a histogram, not a summary");
    let lag_count = count(&metrics, "healthmon_prober_schedule_lag_seconds_count", &[]);
    let lag_sum = count(&metrics, "healthmon_prober_schedule_lag_seconds_sum", &[]);
    assert!(lag_count >= successes + failures, "a lag for every probe: {lag_count}");
    assert!(lag_sum / lag_count < 0.5, "probes start on their slots: mean lag {}s", lag_sum / lag_count);
    assert_eq!(count(&metrics, "healthmon_prober_owned_targets", &[]), 2.0);

    let received = count(&metrics, "healthmon_projector_samples_received_total", &[]);
    let ingested = count(&metrics, "healthmon_projector_samples_ingested_total", &[]);
    assert!(ingested >= stored_good + stored_bad, "{ingested} ingested, {} stored", stored_good + stored_bad);
    assert!(received >= ingested, "{received} received, {ingested} ingested");
    assert!(count(&metrics, "healthmon_projector_batch_duration_seconds_count", &[]) >= 1.0);
    assert_eq!(count(&metrics, "healthmon_projector_active", &[]), 1.0);
    assert!(count(&metrics, "healthmon_projector_redeliveries_total", &[]) >= 0.0);
    for backlog in ["pending", "ack_pending", "redelivered"] {
        let value = count(&metrics, &format!("healthmon_projector_consumer_{backlog}"), &[]);
        assert!((0.0..1000.0).contains(&value), "{backlog} {value}: two targets leave no backlog");
    }

    let one_target = [("method", "GET"), ("route", "/api/v1/targets/{id}"), ("status", "200")];
    assert!(count(&metrics, "healthmon_http_request_duration_seconds_count", &one_target) >= 2.0);
    let healthz_requests: f64 = prometheus::series(&metrics, "healthmon_http_request_duration_seconds_count")
        .filter(|(labels, _)| labels.iter().any(|(key, value)| key == "route" && value == "/healthz"))
        .map(|(_, value)| value)
        .sum();
    assert!(healthz_requests >= 1.0, "/healthz is measured too");
    assert!(!metrics.contains(&good) && !metrics.contains(&bad), "no series names a target");
    app.stop().await;
}

async fn get(app: &TestApp, path: &str, request_id: Option<&str>) -> (reqwest::StatusCode, Option<String>) {
    let mut request = app.http.request(Method::GET, app.url(path));
    if let Some(id) = request_id {
        request = request.header("x-request-id", id);
    }
    let response = request.send().await.expect("a response");
    let echoed = response.headers().get("x-request-id").and_then(|value| value.to_str().ok()).map(str::to_owned);
    (response.status(), echoed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_callers_request_id_or_a_generated_one() {
    let app = TestApp::spawn(Mode::Embedded).await;
    for path in ["/healthz", "/api/v1/targets", "/livez", "/no/such/route"] {
        let (_, echoed) = get(&app, path, Some("trace-me-42")).await;
        assert_eq!(echoed.as_deref(), Some("trace-me-42"), "{path} echoes the caller's id");

        let (_, generated) = get(&app, path, None).await;
        let generated = generated.unwrap_or_else(|| panic!("{path} generates an id"));
        assert!(generated.parse::<uuid::Uuid>().is_ok(), "{path}: {generated} is a UUID");
        let (_, another) = get(&app, path, None).await;
        assert_ne!(another.as_deref(), Some(generated.as_str()), "{path}: a fresh id per request");
    }
    let (_, replaced) = get(&app, "/healthz", Some(&"x".repeat(500))).await;
    assert!(replaced.is_some_and(|id| id.parse::<uuid::Uuid>().is_ok()), "an oversized id is replaced");
    app.stop().await;
}

/// Plain `GET /healthz` skips the middleware stack; with a query string it goes through it. Both
/// must answer alike: status, body and the same headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_healthz_shortcut_answers_as_the_full_stack_does() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let target = TargetServer::start().await;
    let created = app.create_target(json!({"name": "up", "kind": "http", "url": target.url(), "interval_s": 1})).await;
    app.wait_for_status(created["id"].as_str().expect("id"), "healthy", LIMIT).await;
    // A parameter /healthz does not know, so the full stack answers for every target too.
    let (short, full) = wait_until("both answers to agree on a settled board", LIMIT, || async {
        let short = reqwest::get(format!("http://{}/healthz", app.addr)).await.expect("GET /healthz");
        let full = reqwest::get(format!("http://{}/healthz?unused=1", app.addr)).await.expect("GET /healthz?unused=1");
        (short.status() == reqwest::StatusCode::OK && full.status() == reqwest::StatusCode::OK).then_some((short, full))
    })
    .await;
    let names = |response: &reqwest::Response| {
        let mut names: Vec<String> = response.headers().keys().map(|name| name.as_str().to_owned()).collect();
        names.sort();
        names
    };
    assert_eq!(names(&short), names(&full), "the same headers");
    for header in ["content-type", "cache-control", "x-content-type-options", "content-security-policy"] {
        assert_eq!(short.headers().get(header), full.headers().get(header), "{header}");
    }
    let (short, full) = (short.text().await.expect("body"), full.text().await.expect("body"));
    assert_eq!(short, full, "the same body");
    assert!(short.contains("\"total\":1"), "{short}");
    app.stop().await;
}
