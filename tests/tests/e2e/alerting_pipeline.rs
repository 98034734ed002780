//! Alerting end to end, in both deployment modes: a real target flips, the notifier role turns the
//! stored changes into deliveries, and a real local receiver gets them — once each, in order,
//! retried with one `webhook-id`, delayed by `trigger_after_s`, repeated as reminders, held back by
//! a maintenance window — and each incident change is published on the alerts stream.

use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use futures::StreamExt;
use healthmon_bus::{StartAt, Stream};
use healthmon_testing::receiver::{ReceivedRequest, Receiver};
use healthmon_testing::smtp::SmtpServer;
use healthmon_tests::{Mode, TargetServer, TestApp, both_modes, wait_until};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

both_modes!(
    a_flip_sends_exactly_one_trigger_then_one_resolve,
    a_receiver_that_fails_three_times_gets_four_requests_with_one_webhook_id,
    reminders_repeat_while_the_incident_lasts,
    trigger_after_swallows_a_shorter_flap,
    maintenance_suppresses_then_sends_the_trigger_at_its_end,
    incident_changes_are_published_on_the_alerts_stream_without_secrets,
    every_kind_of_notifier_hears_of_the_trigger_and_the_resolve,
);

const SECRET: &str = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=";
const HEADER_SECRET: &str = "header-secret-value-42";

/// A target probed every second that flips on its first failure or success.
async fn flipping_target(app: &TestApp, server: &TargetServer, name: &str) -> String {
    let body = json!({
        "name": name, "kind": "http", "url": server.url(), "interval_s": 1, "timeout_s": 1,
        "healthy_threshold": 1, "unhealthy_threshold": 1, "tags": ["alerting"],
    });
    let created = app.create_target(body).await;
    let id = created["id"].as_str().expect("target id").to_owned();
    app.wait_for_status(&id, "healthy", Duration::from_secs(15)).await;
    id
}

async fn webhook_notifier(app: &TestApp, receiver: &Receiver) -> String {
    let body = json!({
        "name": "hook", "kind": "webhook", "url": format!("{}/hook", receiver.url()),
        "headers": {"X-Api-Key": HEADER_SECRET}, "secret": SECRET,
    });
    let (status, created) = app.call(Method::POST, "/api/v1/notifiers", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().expect("notifier id").to_owned()
}

async fn alert_rule(app: &TestApp, notifier: &str, extra: Value) -> String {
    let mut body = json!({"name": "page me", "notifiers": [notifier], "selector": {"tags": ["alerting"]}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, created) = app.call(Method::POST, "/api/v1/alerts", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_str().expect("rule id").to_owned()
}

async fn deliveries(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, page) = app.call(Method::GET, &format!("/api/v1/deliveries?{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the deliveries listing shows `count` deliveries in the given status.
async fn wait_for_deliveries(app: &TestApp, status: &str, count: usize, limit: Duration) -> Vec<Value> {
    wait_until(&format!("{count} {status} deliveries"), limit, || async {
        let found = deliveries(app, &format!("status={status}")).await;
        (found.len() >= count).then_some(found)
    })
    .await
}

fn event_of(request: &ReceivedRequest) -> String {
    request.json()["event"].as_str().unwrap_or_default().to_owned()
}

/// Standard Webhooks: `v1,` + base64 HMAC-SHA256 over `<id>.<timestamp>.<body>`, keyed by the
/// base64-decoded part after `whsec_`.
fn verify_signature(request: &ReceivedRequest) {
    let id = request.header("webhook-id").expect("webhook-id");
    let timestamp = request.header("webhook-timestamp").expect("webhook-timestamp");
    let signature = request.header("webhook-signature").expect("webhook-signature");
    let key = base64::engine::general_purpose::STANDARD.decode(&SECRET["whsec_".len()..]).expect("base64 key");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(&request.body);
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    assert_eq!(signature, format!("v1,{expected}"), "the signature verifies");
}

async fn a_flip_sends_exactly_one_trigger_then_one_resolve(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (server, receiver) = (TargetServer::start().await, Receiver::start().await);
    let target = flipping_target(&app, &server, "checkout").await;
    let notifier = webhook_notifier(&app, &receiver).await;
    let rule = alert_rule(&app, &notifier, json!({})).await;

    server.set_status(500);
    app.wait_for_status(&target, "unhealthy", Duration::from_secs(10)).await;
    let first = receiver.wait_for(1, Duration::from_secs(10)).await;
    server.set_status(200);
    app.wait_for_status(&target, "healthy", Duration::from_secs(10)).await;
    receiver.wait_for(2, Duration::from_secs(10)).await;
    let delivered = wait_for_deliveries(&app, "delivered", 2, Duration::from_secs(10)).await;

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "one trigger and one resolve, nothing more");
    assert_eq!(requests.iter().map(event_of).collect::<Vec<_>>(), ["triggered", "resolved"]);
    let trigger = &first[0];
    assert_eq!(trigger.method, Method::POST);
    assert_eq!(trigger.path, "/hook");
    assert_eq!(trigger.header("x-api-key"), Some(HEADER_SECRET));
    assert!(trigger.header("user-agent").is_some_and(|agent| agent.starts_with("healthmon/")));
    let body = trigger.json();
    assert_eq!(body["delivery_id"].as_str(), trigger.header("webhook-id"), "webhook-id is the delivery id");
    assert_eq!(body["alert"]["id"], rule.as_str());
    assert_eq!(body["target"]["id"], target.as_str());
    assert_eq!(body["target"]["name"], "checkout");
    assert_eq!((body["health"]["from"].as_str(), body["health"]["to"].as_str()), (Some("healthy"), Some("unhealthy")));
    requests.iter().for_each(verify_signature);
    assert_ne!(requests[0].header("webhook-id"), requests[1].header("webhook-id"));

    assert_eq!(delivered.len(), 2);
    assert!(delivered.iter().all(|d| d["attempts"] == 1 && d["alert_id"] == rule.as_str()), "{delivered:?}");
    assert_eq!(delivered[0]["event"], "resolved", "newest first");
    let listing = serde_json::to_string(&deliveries(&app, "").await).expect("JSON");
    assert!(!listing.contains(HEADER_SECRET) && !listing.contains("c2VjcmV0"), "no secret in deliveries");
    app.stop().await;
}

async fn a_receiver_that_fails_three_times_gets_four_requests_with_one_webhook_id(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (server, receiver) = (TargetServer::start().await, Receiver::start().await);
    receiver.respond_with([500, 502, 503]);
    let target = flipping_target(&app, &server, "payments").await;
    let notifier = webhook_notifier(&app, &receiver).await;
    alert_rule(&app, &notifier, json!({"send_on_resolved": false})).await;

    server.set_status(500);
    app.wait_for_status(&target, "unhealthy", Duration::from_secs(10)).await;
    // Backoff 1 s, 2 s, 4 s before the fourth attempt.
    let requests = receiver.wait_for(4, Duration::from_secs(20)).await;
    let delivered = wait_for_deliveries(&app, "delivered", 1, Duration::from_secs(10)).await;

    let ids: Vec<Option<&str>> = requests.iter().map(|request| request.header("webhook-id")).collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|id| id.is_some() && *id == ids[0]), "one webhook-id on every retry: {ids:?}");
    let gaps: Vec<Duration> = requests.windows(2).map(|pair| pair[1].arrived - pair[0].arrived).collect();
    assert!(gaps.windows(2).all(|pair| pair[1] > pair[0]), "the waits grow: {gaps:?}");
    assert_eq!(delivered[0]["attempts"], 4);
    assert_eq!(delivered[0]["last_status_code"], 200);
    app.stop().await;
}

async fn reminders_repeat_while_the_incident_lasts(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (server, receiver) = (TargetServer::start().await, Receiver::start().await);
    let target = flipping_target(&app, &server, "search").await;
    let notifier = webhook_notifier(&app, &receiver).await;
    alert_rule(&app, &notifier, json!({"remind_every_s": 1})).await;

    server.set_status(500);
    app.wait_for_status(&target, "unhealthy", Duration::from_secs(10)).await;
    let requests = receiver.wait_for(3, Duration::from_secs(15)).await;
    server.set_status(200);
    app.wait_for_status(&target, "healthy", Duration::from_secs(10)).await;
    let events = wait_until("the resolve after the reminders", Duration::from_secs(10), || async {
        let events: Vec<String> = receiver.requests().iter().map(event_of).collect();
        (events.last().map(String::as_str) == Some("resolved")).then_some(events)
    })
    .await;

    assert_eq!(event_of(&requests[0]), "triggered");
    let reminders = &events[1..events.len() - 1];
    assert!(reminders.len() >= 2 && reminders.iter().all(|event| event == "reminder"), "{events:?}");
    assert_eq!(events.iter().filter(|event| *event == "resolved").count(), 1);
    app.stop().await;
}

async fn trigger_after_swallows_a_shorter_flap(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (server, receiver) = (TargetServer::start().await, Receiver::start().await);
    let target = flipping_target(&app, &server, "inventory").await;
    let notifier = webhook_notifier(&app, &receiver).await;
    alert_rule(&app, &notifier, json!({"trigger_after_s": 4})).await;

    // A flap: unhealthy for about a second, healthy again well before 4 s have passed.
    server.set_status(500);
    app.wait_for_status(&target, "unhealthy", Duration::from_secs(10)).await;
    server.set_status(200);
    app.wait_for_status(&target, "healthy", Duration::from_secs(10)).await;
    // Then an outage that outlasts the delay.
    server.set_status(500);
    app.wait_for_status(&target, "unhealthy", Duration::from_secs(10)).await;
    let outage_began = app.last_transition(&target, "healthy", "unhealthy").await;
    let requests = receiver.wait_for(1, Duration::from_secs(15)).await;

    assert_eq!(event_of(&requests[0]), "triggered");
    assert_eq!(requests[0].json()["health"]["at"].as_str().map(|at| at.parse().ok()), Some(Some(outage_began)));
    let waited = requests[0].arrived_at - outage_began;
    assert!(waited >= chrono::Duration::seconds(4), "sent only after trigger_after_s: {waited}");
    let all = deliveries(&app, "").await;
    assert_eq!(all.len(), 1, "the flap left no delivery at all: {all:?}");
    app.stop().await;
}

async fn maintenance_suppresses_then_sends_the_trigger_at_its_end(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (server, receiver) = (TargetServer::start().await, Receiver::start().await);
    let target = flipping_target(&app, &server, "database").await;
    let notifier = webhook_notifier(&app, &receiver).await;
    alert_rule(&app, &notifier, json!({})).await;
    let ends_at = Utc::now() + chrono::Duration::seconds(6);
    let window = json!({
        "name": "upgrade", "selector": {"targets": [target]},
        "starts_at": (Utc::now() - chrono::Duration::minutes(1)).to_rfc3339(), "ends_at": ends_at.to_rfc3339(),
    });
    let (status, created) = app.call(Method::POST, "/api/v1/maintenance", Some(&window)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(app.target(&target).await["health"]["maintenance"], true, "the health view shows the window");

    server.set_status(500);
    app.wait_for_status(&target, "unhealthy", Duration::from_secs(10)).await;
    let suppressed = wait_for_deliveries(&app, "suppressed", 1, Duration::from_secs(10)).await;
    assert!(receiver.requests().is_empty(), "nothing is sent inside the window");
    let requests = receiver.wait_for(1, Duration::from_secs(15)).await;

    assert_eq!(suppressed[0]["event"], "triggered");
    assert_eq!(event_of(&requests[0]), "triggered");
    assert!(requests[0].arrived_at >= ends_at, "sent at the window's end, not before");
    assert_eq!(app.target(&target).await["health"]["maintenance"], false);
    app.stop().await;
}

async fn incident_changes_are_published_on_the_alerts_stream_without_secrets(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let mut alerts = app.components.bus.follow(Stream::Alerts, StartAt::New).await.expect("follow the alerts");
    let (server, receiver) = (TargetServer::start().await, Receiver::start().await);
    let target = flipping_target(&app, &server, "gateway").await;
    let notifier = webhook_notifier(&app, &receiver).await;
    let rule = alert_rule(&app, &notifier, json!({})).await;

    server.set_status(500);
    let message = tokio::time::timeout(Duration::from_secs(15), alerts.next())
        .await
        .expect("an alert event within 15 s")
        .expect("the alerts stream is open")
        .expect("an alert event");

    let text = String::from_utf8_lossy(&message.payload).into_owned();
    assert!(message.subject.ends_with(&format!(".alerts.{rule}")), "{}", message.subject);
    let event: Value = serde_json::from_str(&text).expect("a CloudEvent");
    assert_eq!(event["type"], "healthmon.alert.triggered");
    assert_eq!(event["subject"], rule.as_str());
    assert!(text.contains(&target), "{text}");
    assert!(!text.contains(HEADER_SECRET) && !text.contains("c2VjcmV0"), "no secret in the event");
    app.stop().await;
}

async fn every_kind_of_notifier_hears_of_the_trigger_and_the_resolve(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (server, receiver, smtp) = (TargetServer::start().await, Receiver::start().await, SmtpServer::start().await);
    let target = flipping_target(&app, &server, "storefront").await;
    let base = receiver.url();
    let notifiers = [
        json!({"name": "slack", "kind": "slack", "webhook_url": format!("{base}/slack/T0-SECRET")}),
        json!({"name": "discord", "kind": "discord", "webhook_url": format!("{base}/discord/D0-SECRET")}),
        json!({"name": "teams", "kind": "teams", "webhook_url": format!("{base}/teams/M0-SECRET")}),
        json!({"name": "pd", "kind": "pagerduty", "routing_key": "R0-SECRET-KEY", "url": format!("{base}/pagerduty")}),
        json!({"name": "ntfy", "kind": "ntfy", "url": format!("{base}/ntfy/alerts"), "token": "tk_N0-SECRET"}),
        json!({"name": "mail", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp.port(), "tls": "none",
               "username": "healthmon", "password": "P0-SECRET-PASS", "from": "healthmon@example.com",
               "to": ["oncall@example.com"]}),
    ];
    let mut ids = Vec::new();
    for notifier in &notifiers {
        let (status, created) = app.call(Method::POST, "/api/v1/notifiers", Some(notifier)).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created["id"].clone());
    }
    let rule = json!({"name": "everyone", "notifiers": ids, "selector": {"targets": [target]}});
    assert_eq!(app.call(Method::POST, "/api/v1/alerts", Some(&rule)).await.0, StatusCode::CREATED);

    server.set_status(500);
    app.wait_for_status(&target, "unhealthy", Duration::from_secs(10)).await;
    receiver.wait_for(5, Duration::from_secs(15)).await;
    smtp.wait_for(1, Duration::from_secs(15)).await;
    server.set_status(200);
    app.wait_for_status(&target, "healthy", Duration::from_secs(10)).await;
    let requests = receiver.wait_for(10, Duration::from_secs(15)).await;
    let mails = smtp.wait_for(2, Duration::from_secs(15)).await;

    let on =
        |prefix: &str| -> Vec<&ReceivedRequest> { requests.iter().filter(|r| r.path.starts_with(prefix)).collect() };
    let slack = on("/slack/T0-SECRET");
    assert_eq!(slack.len(), 2);
    assert!(
        slack[0].json()["text"].as_str().is_some_and(|text| text.contains("storefront")),
        "{}",
        slack[0].body_text()
    );
    assert!(on("/discord/")[0].json()["content"].as_str().is_some_and(|text| text.contains("storefront")));
    assert_eq!(on("/teams/")[0].json()["@type"], "MessageCard");
    let pagerduty = on("/pagerduty");
    let actions: Vec<Value> = pagerduty.iter().map(|r| r.json()["event_action"].clone()).collect();
    assert_eq!(actions, [json!("trigger"), json!("resolve")]);
    assert_eq!(pagerduty[0].json()["routing_key"], "R0-SECRET-KEY");
    assert_eq!(pagerduty[0].json()["dedup_key"], pagerduty[1].json()["dedup_key"], "one dedup_key per incident");
    let ntfy = on("/ntfy/alerts");
    assert_eq!(ntfy[0].header("authorization"), Some("Bearer tk_N0-SECRET"));
    assert!(ntfy[0].header("title").is_some_and(|title| title.contains("storefront")));
    assert!(requests.iter().all(|r| r.header("webhook-id").is_some() && r.header("webhook-timestamp").is_some()));
    assert_eq!(mails[0].to, ["oncall@example.com"]);
    assert_eq!(mails[0].auth_user.as_deref(), Some("healthmon"));
    assert!(mails[0].header("subject").is_some_and(|subject| subject.contains("storefront")), "{}", mails[0].data);

    let (_, listed) = app.call(Method::GET, "/api/v1/notifiers", None).await;
    let (_, delivered) = app.call(Method::GET, "/api/v1/deliveries?limit=100", None).await;
    for body in [listed.to_string(), delivered.to_string()] {
        assert!(!body.contains("SECRET"), "no secret in any answer: {body}");
    }
    let delivered_by_kind = |metrics: &str, kind: &str| {
        let labels = [("kind", kind), ("outcome", "delivered")];
        healthmon_tests::prometheus::labelled(metrics, "healthmon_deliveries_total", &labels)
    };
    let kinds = ["slack", "discord", "teams", "pagerduty", "ntfy", "email"];
    // Counted when the attempt is recorded, just after the receiver answered.
    let metrics = wait_until("every kind's deliveries counted", Duration::from_secs(10), || async {
        let (_, _, metrics) = healthmon_tests::prometheus::scrape(app.addr).await;
        kinds.iter().all(|kind| delivered_by_kind(&metrics, kind) == Some(2.0)).then_some(metrics)
    })
    .await;
    assert!(metrics.contains("healthmon_alert_latency_seconds"), "the latency histogram is exported");
    app.stop().await;
}
