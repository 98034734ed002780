//! Health changes reach subscribers: over Server-Sent Events, and on NATS as CloudEvents.

use std::time::Duration;

use futures::StreamExt;
use healthmon_tests::{Mode, TargetServer, TestApp, both_modes};
use serde_json::{Value, json};

both_modes!(server_sent_events_deliver_a_health_change);

fn target_body(server: &TargetServer) -> Value {
    json!({"name": "events", "kind": "http", "url": server.url(), "interval_s": 1, "healthy_threshold": 1})
}

async fn server_sent_events_deliver_a_health_change(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let response = tokio::time::timeout(Duration::from_secs(5), app.http.get(app.url("/api/v1/events")).send())
        .await
        .expect("SSE headers within 5 s")
        .expect("open SSE");
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap_or_default().starts_with("text/event-stream"));
    let created = app.create_target(target_body(&server)).await;
    let id = created["id"].as_str().expect("id").to_owned();

    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let event = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(chunk) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk.expect("SSE chunk")));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                let data: String = frame.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                if frame.contains("event: io.healthmon.health.changed.v1") && data.contains(&id) {
                    return serde_json::from_str::<Value>(&data).expect("event JSON");
                }
            }
        }
        panic!("the SSE stream ended");
    })
    .await
    .expect("a health change over SSE within 15 s");
    assert_eq!(event["type"], "io.healthmon.health.changed.v1");
    assert_eq!(event["data"]["to"], "healthy");
    assert_eq!(event["data"]["from"], "unknown");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_change_is_published_on_nats_as_a_cloudevent() {
    let app = TestApp::spawn(Mode::Distributed).await;
    let client = async_nats::connect(healthmon_testing::test_nats_url()).await.expect("plain NATS client");
    let mut subscription = client.subscribe(format!("{}.health.>", app.settings.nats_prefix)).await.expect("subscribe");
    client.flush().await.expect("flush");
    let server = TargetServer::start().await;
    let created = app.create_target(target_body(&server)).await;
    let id = created["id"].as_str().expect("id");

    let message = tokio::time::timeout(Duration::from_secs(15), subscription.next())
        .await
        .expect("a health event within 15 s")
        .expect("subscription open");
    assert_eq!(message.subject.as_str(), format!("{}.health.{id}", app.settings.nats_prefix));
    let event: Value = serde_json::from_slice(&message.payload).expect("JSON");
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["type"], "io.healthmon.health.changed.v1");
    assert_eq!(event["subject"], id);
    assert_eq!(event["datacontenttype"], "application/json");
    assert!(event["source"].as_str().unwrap_or_default().starts_with("/healthmon/projector/"), "{event}");
    assert!(uuid::Uuid::parse_str(event["id"].as_str().unwrap_or_default()).is_ok());
    assert!(chrono::DateTime::parse_from_rfc3339(event["time"].as_str().unwrap_or_default()).is_ok());
    assert_eq!((event["data"]["from"].as_str(), event["data"]["to"].as_str()), (Some("unknown"), Some("healthy")));
    assert_eq!(event["data"]["target_id"], id);
    assert_eq!(event["data"]["name"], "events");
    app.stop().await;
}
