//! The `/webservers` family and `/IsHealthy` keep the predecessor's clients working.

use std::time::Duration;

use healthmon_tests::{Mode, TargetServer, TestApp, both_modes, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::json;

both_modes!(webservers_family_works_end_to_end);

async fn webservers_family_works_end_to_end(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let (status, created) =
        app.call(Method::POST, "/webservers", Some(&json!({"name": "shop", "url": server.url()}))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    let (status, listed) = app.call(Method::GET, "/WebServers", None).await;
    assert_eq!(status, StatusCode::OK, "paths are case-insensitive");
    assert_eq!(listed, json!([{"id": id, "name": "shop", "url": server.url(), "status": null}]));

    // Speed the new target up through the main API, then watch it through the old one.
    let patch = json!({"interval_s": 1, "healthy_threshold": 2});
    assert_eq!(app.call(Method::PATCH, &format!("/api/v1/targets/{id}"), Some(&patch)).await.0, StatusCode::OK);
    let details = wait_until("the webserver to be Healthy", Duration::from_secs(15), || async {
        let (_, body) = app.call(Method::GET, &format!("/webservers/{id}"), None).await;
        (body["status"] == "Healthy").then_some(body)
    })
    .await;
    let requests = details["requests"].as_array().expect("requests");
    assert!(!requests.is_empty() && requests.len() <= 10);
    assert!(requests.iter().all(|r| r["status_code"] == 200 && r["latency"].as_f64().is_some_and(|s| s < 1.0)));
    assert!(requests.windows(2).all(|p| p[0]["timestamp"].as_str() >= p[1]["timestamp"].as_str()));

    // The store says so first; the board behind /IsHealthy hears it from the health event.
    wait_until("/ishealthy to pass", Duration::from_secs(5), || async {
        let (status, is_healthy) = app.call(Method::GET, "/ishealthy", None).await;
        (status == StatusCode::OK && is_healthy["status"] == "pass").then_some(())
    })
    .await;

    let (status, history) = app.call(Method::GET, &format!("/WEBSERVERS/{id}/Requests"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(history.as_array().expect("history").len() >= requests.len());

    let (status, updated) = app
        .call(Method::PUT, &format!("/webservers/{id}"), Some(&json!({"name": "shop-2", "url": server.url()})))
        .await;
    assert_eq!((status, updated["name"].as_str()), (StatusCode::OK, Some("shop-2")));
    server.set_status(500);
    wait_until("the webserver to be Unhealthy", Duration::from_secs(15), || async {
        let (_, body) = app.call(Method::GET, &format!("/webservers/{id}"), None).await;
        (body["status"] == "Unhealthy").then_some(())
    })
    .await;
    wait_until("/IsHealthy to answer 503", Duration::from_secs(5), || async {
        (app.call(Method::GET, "/IsHealthy", None).await.0 == StatusCode::SERVICE_UNAVAILABLE).then_some(())
    })
    .await;

    let (status, invalid) =
        app.call(Method::POST, "/webservers", Some(&json!({"name": "x", "url": "gopher://x"}))).await;
    assert_eq!(
        (status, invalid["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("validation_failed"))
    );
    assert_eq!(app.call(Method::DELETE, &format!("/webservers/{id}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, &format!("/webservers/{id}"), None).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}
