//! `POST /api/v1/admin/resync` brings the probers' plans and the health board back in line with
//! the store after the targets stream drifted from it, in both deployment modes: once where the
//! stream lost a target the store has, once where the store lost a target the stream still plans.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use healthmon_bus::Stream;
use healthmon_domain::events::{TargetChanged, encode_target};
use healthmon_tests::{Mode, TargetServer, TestApp, both_modes, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::time::Instant;
use uuid::Uuid;

both_modes!(resync_replans_a_target_the_stream_lost, resync_stops_probing_a_target_the_store_lost);

/// With a 1 s interval, this long without a request means probing has stopped (a probe in flight
/// when the plan changed may still land inside it).
const QUIET: Duration = Duration::from_millis(2500);

async fn create_probed_target(app: &TestApp, server: &TargetServer) -> Value {
    let created = app
        .create_target(json!({
            "name": "drifting", "kind": "http", "url": server.url(),
            "interval_s": 1, "timeout_s": 1, "healthy_threshold": 1,
        }))
        .await;
    wait_until("the target to be probed", Duration::from_secs(5), || async { (server.hits() >= 2).then_some(()) })
        .await;
    created
}

/// Waits until the server has had no request for `QUIET` and returns when its last request came.
async fn wait_until_probing_stops(server: &TargetServer, limit: Duration) -> Instant {
    let last_change = Mutex::new((server.hits(), Instant::now()));
    wait_until("probing to stop", limit, || {
        let mut last_change = last_change.lock().expect("not poisoned");
        let hits = server.hits();
        if hits != last_change.0 {
            *last_change = (hits, Instant::now());
        }
        let stopped = (last_change.1.elapsed() >= QUIET).then_some(last_change.1);
        async move { stopped }
    })
    .await
}

async fn wait_for_more_probes(server: &TargetServer, what: &str) {
    let seen = server.hits();
    wait_until(what, Duration::from_secs(5), || async { (server.hits() >= seen + 2).then_some(()) }).await;
}

async fn wait_for_board_total(app: &TestApp, total: u64, healthy: u64) {
    wait_until(
        &format!("the board to count {total} target(s), {healthy} healthy"),
        Duration::from_secs(10),
        || async {
            let (_, body) = app.healthz("").await;
            (body["total"] == total && body["counts"]["healthy"] == healthy).then_some(())
        },
    )
    .await;
}

async fn resync(app: &TestApp) -> Value {
    let (status, body) = app.call(Method::POST, "/api/v1/admin/resync", None).await;
    assert_eq!(status, StatusCode::OK, "resync failed: {body}");
    body
}

async fn resync_replans_a_target_the_stream_lost(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let created = create_probed_target(&app, &server).await;
    let id = created["id"].as_str().expect("id");
    wait_for_board_total(&app, 1, 1).await;

    // A delete the store never made, newer than anything the store knows: the stream now says the
    // target is gone while the store still has it.
    let revision = created["revision"].as_i64().expect("revision");
    let forged =
        TargetChanged::Deleted { id: Uuid::parse_str(id).expect("a uuid"), revision: revision + 1, keep_history: true };
    let event_id = Uuid::now_v7();
    let payload = Bytes::from(encode_target(&forged, event_id, "/healthmon/test/forger", Utc::now()));
    app.components.bus.publish(Stream::Targets, id, &event_id.to_string(), payload).await.expect("publish forged");
    wait_until_probing_stops(&server, Duration::from_secs(10)).await;
    wait_for_board_total(&app, 0, 0).await;
    assert_eq!(app.target(id).await["name"], "drifting", "the store still has it");

    let body = resync(&app).await;

    assert_eq!(body, json!({"status": "resynced", "targets": 1, "removed": 0}));
    wait_for_more_probes(&server, "probing to resume after resync").await;
    wait_for_board_total(&app, 1, 1).await;
    app.stop().await;
}

async fn resync_stops_probing_a_target_the_store_lost(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let created = create_probed_target(&app, &server).await;
    let id = created["id"].as_str().expect("id");

    healthmon_store::testing::erase_target_rows(&app.settings.database_url, Uuid::parse_str(id).expect("a uuid"))
        .await
        .expect("erase the target's rows");
    let (status, _) = app.call(Method::GET, &format!("/api/v1/targets/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the store no longer has it");
    wait_for_more_probes(&server, "probing to go on while only the store knows").await;

    let body = resync(&app).await;
    let resynced_at = Instant::now();

    assert_eq!(body, json!({"status": "resynced", "targets": 0, "removed": 1}));
    let last_probe_at = wait_until_probing_stops(&server, Duration::from_secs(10)).await;
    let probed_for = last_probe_at.saturating_duration_since(resynced_at);
    assert!(probed_for < Duration::from_secs(2), "probing went on for {probed_for:?} after resync");
    wait_for_board_total(&app, 0, 0).await;
    app.stop().await;
}
