//! The whole pipeline for HTTP targets, in both deployment modes: thresholds, timeouts, edits,
//! deletion and the aggregate health check.

use std::time::Duration;

use healthmon_tests::{Mode, TargetServer, TestApp, both_modes, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_modes!(
    default_thresholds_flip_health_after_exactly_five_and_three,
    custom_thresholds_apply,
    a_target_slower_than_its_timeout_fails,
    editing_the_url_resets_health_but_renaming_does_not,
    deleting_a_target_stops_probing_within_a_second,
    healthz_follows_the_aggregate_rules,
);

fn http_target(server: &TargetServer, extra: Value) -> Value {
    let mut body = json!({"name": "orders-api", "kind": "http", "url": server.url(), "interval_s": 1, "timeout_s": 1});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

async fn default_thresholds_flip_health_after_exactly_five_and_three(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let created = app.create_target(http_target(&server, json!({}))).await;
    assert_eq!(created["health"]["status"], "unknown");
    let id = created["id"].as_str().expect("id");

    app.wait_for_status(id, "healthy", Duration::from_secs(15)).await;
    let healthy_at = app.last_transition(id, "unknown", "healthy").await;
    assert_eq!(app.outcomes_between(id, None, healthy_at).await, vec![true; 5]);

    server.set_status(500);
    app.wait_for_status(id, "unhealthy", Duration::from_secs(15)).await;
    let unhealthy_at = app.last_transition(id, "healthy", "unhealthy").await;
    let run = app.outcomes_between(id, Some(healthy_at), unhealthy_at).await;
    let failures: Vec<bool> = run.iter().rev().take_while(|ok| !**ok).copied().collect();
    assert_eq!(failures.len(), 3, "failures before unhealthy: {run:?}");

    server.set_status(200);
    let target = app.wait_for_status(id, "healthy", Duration::from_secs(15)).await;
    assert!(target["health"]["reason"].as_str().unwrap_or_default().contains("5 consecutive"), "{target}");
    let healthy_again_at = app.last_transition(id, "unhealthy", "healthy").await;
    let run = app.outcomes_between(id, Some(unhealthy_at), healthy_again_at).await;
    let successes: Vec<bool> = run.iter().rev().take_while(|ok| **ok).copied().collect();
    assert_eq!(successes.len(), 5, "successes before healthy again: {run:?}");
    app.stop().await;
}

async fn custom_thresholds_apply(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let created =
        app.create_target(http_target(&server, json!({"healthy_threshold": 2, "unhealthy_threshold": 1}))).await;
    let id = created["id"].as_str().expect("id");
    app.wait_for_status(id, "healthy", Duration::from_secs(10)).await;
    let healthy_at = app.last_transition(id, "unknown", "healthy").await;
    assert_eq!(app.outcomes_between(id, None, healthy_at).await, vec![true; 2]);
    server.set_status(503);
    app.wait_for_status(id, "unhealthy", Duration::from_secs(10)).await;
    let unhealthy_at = app.last_transition(id, "healthy", "unhealthy").await;
    let run = app.outcomes_between(id, Some(healthy_at), unhealthy_at).await;
    assert_eq!(run.last(), Some(&false));
    assert_eq!(run.iter().filter(|ok| !**ok).count(), 1, "{run:?}");
    app.stop().await;
}

async fn a_target_slower_than_its_timeout_fails(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    server.set_delay(Duration::from_millis(1500));
    let created = app.create_target(http_target(&server, json!({"unhealthy_threshold": 1}))).await;
    let id = created["id"].as_str().expect("id");
    let target = app.wait_for_status(id, "unhealthy", Duration::from_secs(10)).await;
    let sample = &target["recent_samples"][0];
    assert_eq!(sample["success"], false);
    assert!(sample["error"].as_str().unwrap_or_default().contains("timeout"), "{sample}");
    assert!(sample["latency_ms"].as_f64().unwrap_or_default() >= 1000.0, "{sample}");
    app.stop().await;
}

async fn editing_the_url_resets_health_but_renaming_does_not(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (first, second) = (TargetServer::start().await, TargetServer::start().await);
    let created = app.create_target(http_target(&first, json!({"healthy_threshold": 1}))).await;
    let id = created["id"].as_str().expect("id");
    app.wait_for_status(id, "healthy", Duration::from_secs(10)).await;

    let path = format!("/api/v1/targets/{id}");
    let (status, renamed) = app.call(Method::PATCH, &path, Some(&json!({"name": "orders-v2", "tags": ["x"]}))).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!((renamed["name"].as_str(), renamed["health"]["status"].as_str()), (Some("orders-v2"), Some("healthy")));

    let (status, moved) = app.call(Method::PATCH, &path, Some(&json!({"url": second.url()}))).await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["health"]["status"], "unknown");
    assert_eq!(moved["url"], second.url());
    app.wait_for_status(id, "healthy", Duration::from_secs(10)).await;
    assert!(second.hits() >= 1);

    let mut replacement = http_target(&second, json!({"healthy_threshold": 1}));
    replacement["name"] = json!("orders-v3");
    let (status, replaced) = app.call(Method::PUT, &path, Some(&replacement)).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(
        (replaced["name"].as_str(), replaced["health"]["status"].as_str()),
        (Some("orders-v3"), Some("healthy"))
    );
    assert_eq!(replaced["tags"], json!([]), "PUT replaces the whole target");
    app.stop().await;
}

async fn deleting_a_target_stops_probing_within_a_second(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let created = app.create_target(http_target(&server, json!({}))).await;
    let id = created["id"].as_str().expect("id");
    wait_until("the first probe", Duration::from_secs(5), || async { (server.hits() >= 2).then_some(()) }).await;

    let path = format!("/api/v1/targets/{id}");
    let (status, _) = app.call(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = app.call(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, _) = app.call(Method::GET, &format!("{path}/samples"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "history goes with the target");

    // Measured, not waited for: any probe after the first second is a failure.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hits_after_a_second = server.hits();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(server.hits(), hits_after_a_second, "probing went on after delete");
    app.stop().await;
}

async fn healthz_follows_the_aggregate_rules(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (status, body) = app.healthz("").await;
    assert_eq!(status, StatusCode::OK, "no targets is healthy: {body}");
    assert_eq!((body["status"].as_str(), body["total"].as_u64()), (Some("pass"), Some(0)));

    let (good, bad) = (TargetServer::start().await, TargetServer::start().await);
    bad.set_status(500);
    let never_probed_yet = app.create_target(http_target(&good, json!({"interval_s": 3600}))).await;
    let unknown = wait_until("an unknown target to fail /healthz", Duration::from_secs(10), || async {
        let (status, body) = app.healthz("").await;
        (status == StatusCode::SERVICE_UNAVAILABLE).then_some(body)
    })
    .await;
    assert_eq!((unknown["counts"]["unknown"].as_u64(), unknown["status"].as_str()), (Some(1), Some("fail")));
    let unknown_path = format!("/api/v1/targets/{}", never_probed_yet["id"].as_str().expect("id"));
    assert_eq!(app.call(Method::DELETE, &unknown_path, None).await.0, StatusCode::NO_CONTENT);

    let a = app.create_target(http_target(&good, json!({"healthy_threshold": 1, "tags": ["a"]}))).await;
    let check = |query: &'static str, expected: StatusCode| {
        let app = &app;
        async move {
            wait_until(&format!("/healthz{query} to answer {expected}"), Duration::from_secs(10), || async {
                let (status, body) = app.healthz(query).await;
                (status == expected).then_some(body)
            })
            .await
        }
    };
    assert_eq!(a["health"]["status"], "unknown");
    let body = wait_until("a to be healthy on the board", Duration::from_secs(10), || async {
        let (status, body) = app.healthz("").await;
        (body["counts"]["healthy"] == 1).then_some((status, body))
    })
    .await;
    assert_eq!((body.0, body.1["status"].as_str(), body.1["total"].as_u64()), (StatusCode::OK, Some("pass"), Some(1)));

    let b = app.create_target(http_target(&bad, json!({"unhealthy_threshold": 1, "tags": ["b"]}))).await;
    let body = check("", StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(body["status"], "fail");
    check("?tag=b", StatusCode::SERVICE_UNAVAILABLE).await;
    let body = check("?tag=a", StatusCode::OK).await;
    assert_eq!(body["total"], 1);
    wait_until("b to be unhealthy on the board", Duration::from_secs(10), || async {
        let (_, body) = app.healthz("").await;
        (body["counts"]["unhealthy"] == 1).then_some(())
    })
    .await;

    let b_path = format!("/api/v1/targets/{}", b["id"].as_str().expect("id"));
    let (status, paused) = app.call(Method::PATCH, &b_path, Some(&json!({"enabled": false}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(paused["health"]["status"], "paused");
    let body = check("", StatusCode::OK).await;
    assert_eq!((body["counts"]["paused"].as_u64(), body["total"].as_u64()), (Some(1), Some(2)));

    let head = app.http.head(app.url("/healthz")).send().await.expect("HEAD /healthz");
    assert_eq!(head.status(), StatusCode::OK);
    app.stop().await;
}

mod staleness {
    use super::*;

    both_modes!(a_target_whose_samples_stop_turns_stale_and_fails_healthz);

    async fn a_target_whose_samples_stop_turns_stale_and_fails_healthz(mode: Mode) {
        let app = TestApp::spawn(mode).await;
        let server = TargetServer::start().await;
        // Probes that hang for 5 s leave a 1 s target without samples for over 3 intervals.
        server.set_delay(Duration::from_secs(5));
        let created = app.create_target(http_target(&server, json!({"timeout_s": 10}))).await;
        let id = created["id"].as_str().expect("id");
        let stale = app.wait_for_status(id, "stale", Duration::from_secs(10)).await;
        assert!(
            stale["health"]["reason"].as_str().unwrap_or_default().contains("no sample for 3 intervals"),
            "{stale}"
        );
        let body = wait_until("/healthz to count the stale target", Duration::from_secs(10), || async {
            let (status, body) = app.healthz("").await;
            (body["counts"]["stale"] == 1).then_some((status, body))
        })
        .await;
        assert_eq!(body.0, StatusCode::SERVICE_UNAVAILABLE, "{}", body.1);

        server.set_delay(Duration::ZERO);
        let resumed = app.wait_for_status(id, "healthy", Duration::from_secs(20)).await;
        let (_, transitions) = app.call(Method::GET, &format!("/api/v1/targets/{id}/transitions"), None).await;
        let items = transitions["items"].as_array().expect("items");
        let path: Vec<&str> = items.iter().rev().filter_map(|t| t["to"].as_str()).collect();
        // While probes hang, each late answer brings it to unknown and the silence after it back to
        // stale; it becomes healthy again only through unknown, with 5 fresh successes.
        assert_eq!(path.first(), Some(&"stale"), "{transitions}");
        assert!(path.ends_with(&["unknown", "healthy"]), "{transitions}");
        assert!(!path[..path.len() - 1].contains(&"healthy"), "{transitions}");
        assert_eq!(resumed["health"]["status"], "healthy");
        app.stop().await;
    }
}
