//! Slack, Discord, Teams, PagerDuty and ntfy against a real receiver: each request's shape, the
//! delivery headers on every kind, and the webhook URL (the secret) never in an error.

mod support;

use std::time::Duration;

use healthmon_domain::alerting::NotificationEvent;
use healthmon_domain::alerting::notifier::{Destination, NtfyDestination, PagerDutyDestination};
use healthmon_testing::{ReceivedRequest, Receiver, Reply, free_port};
use support::{Harness, context, now, spec, user_agent};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(5);

fn assert_delivery_headers(request: &ReceivedRequest, delivery_id: Uuid) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("webhook-id"), Some(delivery_id.to_string().as_str()));
    assert_eq!(request.header("webhook-timestamp"), Some(now().timestamp().to_string().as_str()));
    assert_eq!(request.header("user-agent"), Some(user_agent().as_str()));
}

#[tokio::test]
async fn slack_gets_the_headline_and_an_attachment_coloured_by_the_event() {
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let notifier = harness.chat(&format!("{}/services/T0/B0/slacktoken", receiver.url()), Destination::Slack);
    for (event, color) in [(NotificationEvent::Triggered, "#d00000"), (NotificationEvent::Resolved, "#2eb886")] {
        let context = context(event);
        let delivery_id = Uuid::new_v4();
        let attempt = harness.send(&notifier, delivery_id, &context).await;
        assert!(attempt.delivered(), "{attempt:?}");
        let request = receiver.requests().pop().unwrap();
        assert_delivery_headers(&request, delivery_id);
        assert_eq!(request.path, "/services/T0/B0/slacktoken");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body = request.json();
        assert_eq!(body["text"], context.headline());
        let attachment = &body["attachments"][0];
        assert_eq!(attachment["color"], color);
        assert_eq!(attachment["text"], "HTTP 503 (expected 200-299)");
        let fields = attachment["fields"].as_array().unwrap();
        assert!(
            fields.iter().any(|field| field["title"] == "Target" && field["value"] == "checkout-api (http)"),
            "{fields:?}"
        );
    }
    assert_eq!(receiver.requests()[1].json()["text"], "checkout-api is healthy again");
}

#[tokio::test]
async fn discord_gets_content_and_an_embed() {
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let notifier = harness.chat(&format!("{}/api/webhooks/1/discordtoken", receiver.url()), Destination::Discord);
    let context = context(NotificationEvent::Triggered);
    let delivery_id = Uuid::new_v4();
    assert!(harness.send(&notifier, delivery_id, &context).await.delivered());
    let request = &receiver.wait_for(1, WAIT).await[0];
    assert_delivery_headers(request, delivery_id);
    let body = request.json();
    assert_eq!(body["content"], "checkout-api is unhealthy");
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], "checkout-api is unhealthy");
    assert_eq!(embed["description"], "HTTP 503 (expected 200-299)");
    assert_eq!(embed["color"], 0xd00000);
}

#[tokio::test]
async fn teams_gets_a_message_card() {
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let notifier = harness.chat(&format!("{}/webhookb2/teamstoken", receiver.url()), Destination::Teams);
    let context = context(NotificationEvent::Reminder);
    let delivery_id = Uuid::new_v4();
    assert!(harness.send(&notifier, delivery_id, &context).await.delivered());
    let request = &receiver.wait_for(1, WAIT).await[0];
    assert_delivery_headers(request, delivery_id);
    let body = request.json();
    assert_eq!(body["@type"], "MessageCard");
    assert_eq!(body["@context"], "https://schema.org/extensions");
    assert_eq!(body["themeColor"], "d00000");
    assert_eq!(body["summary"], "checkout-api is still unhealthy");
    assert_eq!(body["title"], "checkout-api is still unhealthy");
    assert_eq!(body["text"], "HTTP 503 (expected 200-299)");
    assert!(
        body["sections"][0]["facts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|fact| fact["name"] == "Group" && fact["value"] == "shop")
    );
}

#[tokio::test]
async fn a_chat_url_never_shows_in_an_error_even_when_the_receiver_echoes_it() {
    // Given a receiver that answers 404 quoting the path (the token), and one that is not there
    let receiver = Receiver::start().await;
    receiver.respond_with([Reply::status(404).with_body("no webhook at /services/T0/B0/echoed-token-secret")]);
    let harness = Harness::new();
    let echoing = harness.chat(&format!("{}/services/T0/B0/echoed-token-secret", receiver.url()), Destination::Slack);
    let absent = harness
        .chat(&format!("http://127.0.0.1:{}/services/T0/B0/absent-token-secret", free_port()), Destination::Slack);
    let context = context(NotificationEvent::Triggered);
    // When each is sent to
    let echoed = harness.send(&echoing, Uuid::new_v4(), &context).await;
    let refused = harness.send(&absent, Uuid::new_v4(), &context).await;
    // Then both fail, and neither error holds the token
    assert_eq!(echoed.status_code, Some(404));
    let echoed = echoed.error.unwrap();
    assert!(echoed.starts_with("HTTP 404"), "{echoed}");
    assert!(!echoed.contains("echoed-token-secret"), "{echoed}");
    let refused = refused.error.unwrap();
    assert!(!refused.contains("absent-token-secret") && !refused.contains("/services"), "{refused}");
}

#[tokio::test]
async fn pagerduty_triggers_and_resolves_one_incident_and_tests_apart() {
    let receiver = Receiver::start().await;
    receiver.respond_with([Reply::status(202).with_body(r#"{"status":"success"}"#)]);
    let harness = Harness::new();
    let notifier = spec(Destination::Pagerduty(PagerDutyDestination {
        routing_key: harness.seal("R0UTINGKEY0123456789"),
        url: format!("{}/v2/enqueue", receiver.url()),
    }));
    let triggered = context(NotificationEvent::Triggered);
    let resolved = healthmon_domain::alerting::NotificationContext {
        incident_id: triggered.incident_id,
        ..context(NotificationEvent::Resolved)
    };
    let reminder = healthmon_domain::alerting::NotificationContext {
        incident_id: triggered.incident_id,
        ..context(NotificationEvent::Reminder)
    };
    let test_delivery = Uuid::new_v4();
    let first = harness.send(&notifier, Uuid::new_v4(), &triggered).await;
    assert_eq!((first.delivered(), first.status_code), (true, Some(202)), "{first:?}");
    assert!(harness.send(&notifier, Uuid::new_v4(), &reminder).await.delivered());
    assert!(harness.send(&notifier, Uuid::new_v4(), &resolved).await.delivered());
    assert!(harness.send(&notifier, test_delivery, &context(NotificationEvent::Test)).await.delivered());
    let bodies: Vec<_> = receiver.wait_for(4, WAIT).await.iter().map(ReceivedRequest::json).collect();
    let incident = triggered.incident_id.to_string();
    let actions: Vec<_> = bodies
        .iter()
        .map(|body| (body["event_action"].as_str().unwrap(), body["dedup_key"].as_str().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            ("trigger", incident.as_str()),
            ("trigger", incident.as_str()),
            ("resolve", incident.as_str()),
            ("trigger", test_delivery.to_string().as_str())
        ]
    );
    let payload = &bodies[0]["payload"];
    assert_eq!(bodies[0]["routing_key"], "R0UTINGKEY0123456789");
    assert_eq!(payload["summary"], "checkout-api is unhealthy");
    assert_eq!(payload["source"], "checkout-api");
    assert_eq!(payload["severity"], "critical");
    assert_eq!(payload["timestamp"], now().to_rfc3339());
    assert_eq!(payload["custom_details"]["health"]["reason"], "HTTP 503 (expected 200-299)");
}

#[tokio::test]
async fn ntfy_gets_text_with_title_priority_tags_and_the_token() {
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let with_token = spec(Destination::Ntfy(NtfyDestination {
        url: format!("{}/healthmon-alerts", receiver.url()),
        token: Some(harness.seal("tk_ntfytoken")),
    }));
    let without_token =
        spec(Destination::Ntfy(NtfyDestination { url: format!("{}/public", receiver.url()), token: None }));
    let delivery_id = Uuid::new_v4();
    assert!(harness.send(&with_token, delivery_id, &context(NotificationEvent::Triggered)).await.delivered());
    assert!(harness.send(&without_token, Uuid::new_v4(), &context(NotificationEvent::Resolved)).await.delivered());
    let requests = receiver.wait_for(2, WAIT).await;
    let triggered = &requests[0];
    assert_delivery_headers(triggered, delivery_id);
    assert_eq!(triggered.path, "/healthmon-alerts");
    assert_eq!(triggered.header("title"), Some("checkout-api is unhealthy"));
    assert_eq!(triggered.header("priority"), Some("5"));
    assert_eq!(triggered.header("tags"), Some("rotating_light"));
    assert_eq!(triggered.header("authorization"), Some("Bearer tk_ntfytoken"));
    assert_eq!(triggered.header("content-type"), Some("text/plain; charset=utf-8"));
    assert!(
        triggered.body_text().starts_with("HTTP 503 (expected 200-299)\nTarget: checkout-api (http)"),
        "{}",
        triggered.body_text()
    );
    let resolved = &requests[1];
    assert_eq!(resolved.header("priority"), Some("3"));
    assert_eq!(resolved.header("authorization"), None);
}
