//! The webhook kind against a real receiver: the request's shape, signing, custom method, headers
//! and templates, and every way an attempt fails without leaking a secret or reaching a refused
//! destination.

mod support;

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use healthmon_domain::Credential;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::alerting::NotificationEvent;
use healthmon_domain::alerting::notifier::{Destination, WebhookMethod};
use healthmon_testing::{Receiver, Reply, free_port};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::{Harness, context, now, spec, user_agent, webhook};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_default_body_goes_out_as_json_with_the_delivery_headers() {
    // Given a webhook notifier pointing at a receiver
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let notifier = spec(Destination::Webhook(webhook(format!("{}/hooks/healthmon?team=ops", receiver.url()))));
    let context = context(NotificationEvent::Triggered);
    let delivery_id = Uuid::new_v4();
    // When a triggered notification is sent
    let attempt = harness.send(&notifier, delivery_id, &context).await;
    // Then it is delivered as one POST with the default body and the delivery headers
    assert!(attempt.delivered(), "{attempt:?}");
    assert_eq!(attempt.status_code, Some(200));
    let requests = receiver.wait_for(1, WAIT).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hooks/healthmon");
    assert_eq!(request.query.as_deref(), Some("team=ops"));
    assert_eq!(request.header("webhook-id"), Some(delivery_id.to_string().as_str()));
    assert_eq!(request.header("webhook-timestamp"), Some(now().timestamp().to_string().as_str()));
    assert_eq!(request.header("user-agent"), Some(user_agent().as_str()));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(request.header("webhook-signature"), None, "unsigned without a secret");
    let body = request.json();
    assert_eq!(body, context.default_body(delivery_id));
    assert_eq!(body["event"], "triggered");
    assert_eq!(body["target"]["name"], "checkout-api");
    assert_eq!(body["health"]["to"], "unhealthy");
}

/// Recomputes the Standard Webhooks signature from what arrived.
fn expected_signature(key: &[u8], request: &healthmon_testing::ReceivedRequest) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap();
    let signed = format!(
        "{}.{}.{}",
        request.header("webhook-id").unwrap(),
        request.header("webhook-timestamp").unwrap(),
        request.body_text()
    );
    mac.update(signed.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn a_secret_signs_every_request_as_standard_webhooks_does() {
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let raw_key = b"a 24-byte signing key!!!";
    for (secret, key) in [
        (format!("whsec_{}", STANDARD.encode(raw_key)), raw_key.to_vec()),
        ("plain text secret".to_owned(), b"plain text secret".to_vec()),
    ] {
        // Given a webhook with a signing secret
        let mut destination = webhook(format!("{}/signed", receiver.url()));
        destination.secret = Some(harness.seal(&secret));
        let seen = receiver.requests().len();
        // When it sends
        let attempt = harness
            .send(&spec(Destination::Webhook(destination)), Uuid::new_v4(), &context(NotificationEvent::Resolved))
            .await;
        assert!(attempt.delivered(), "{attempt:?}");
        // Then the signature verifies with the key (whsec_ decoded, else the text's bytes)
        let requests = receiver.wait_for(seen + 1, WAIT).await;
        let request = &requests[seen];
        assert_eq!(request.header("webhook-signature"), Some(expected_signature(&key, request).as_str()), "{secret}");
        assert_ne!(expected_signature(b"another key", request), request.header("webhook-signature").unwrap());
    }
}

#[tokio::test]
async fn custom_method_headers_and_a_template_body_are_sent_as_written() {
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let mut destination = webhook(format!("{}/custom", receiver.url()));
    destination.method = WebhookMethod::Put;
    destination.headers.insert("X-Api-Key".to_owned(), harness.seal("key-123-secret"));
    destination.body = Some(r#"{"name": "{{ target.name }}", "state": "[ALERT_TRIGGERED_OR_RESOLVED]"}"#.to_owned());
    let attempt = harness
        .send(&spec(Destination::Webhook(destination)), Uuid::new_v4(), &context(NotificationEvent::Triggered))
        .await;
    assert!(attempt.delivered(), "{attempt:?}");
    let request = &receiver.wait_for(1, WAIT).await[0];
    assert_eq!(request.method, "PUT");
    assert_eq!(request.header("x-api-key"), Some("key-123-secret"));
    assert_eq!(request.header("content-type"), Some("application/json"), "the rendered template is JSON");
    assert_eq!(request.json(), serde_json::json!({"name": "checkout-api", "state": "TRIGGERED"}));
}

#[tokio::test]
async fn a_value_sealed_with_a_key_rotated_in_while_running_is_opened() {
    let receiver = Receiver::start().await;
    let mut harness = Harness::new();
    harness.rotate();
    let mut destination = webhook(format!("{}/rotated", receiver.url()));
    destination.headers.insert("X-Api-Key".to_owned(), harness.seal("sealed-after-rotation"));
    let attempt = harness
        .send(&spec(Destination::Webhook(destination)), Uuid::new_v4(), &context(NotificationEvent::Triggered))
        .await;
    assert!(attempt.delivered(), "{attempt:?}");
    assert_eq!(receiver.wait_for(1, WAIT).await[0].header("x-api-key"), Some("sealed-after-rotation"));
}

#[tokio::test]
async fn a_text_template_goes_as_text_unless_a_content_type_is_given() {
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let mut destination = webhook(format!("{}/text", receiver.url()));
    destination.body = Some("[ENDPOINT_NAME] is {{ health.to }}".to_owned());
    let notifier = spec(Destination::Webhook(destination.clone()));
    assert!(harness.send(&notifier, Uuid::new_v4(), &context(NotificationEvent::Triggered)).await.delivered());
    destination.headers.insert("Content-Type".to_owned(), harness.seal("application/x-custom"));
    let notifier = spec(Destination::Webhook(destination));
    assert!(harness.send(&notifier, Uuid::new_v4(), &context(NotificationEvent::Triggered)).await.delivered());
    let requests = receiver.wait_for(2, WAIT).await;
    assert_eq!(requests[0].body_text(), "checkout-api is unhealthy");
    assert_eq!(requests[0].header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(requests[1].header("content-type"), Some("application/x-custom"));
}

#[tokio::test]
async fn a_non_2xx_answer_is_an_error_with_its_status_and_the_start_of_its_body() {
    // Given a receiver that fails twice, once with a long body
    let receiver = Receiver::start().await;
    receiver.respond_with([
        Reply::status(503).with_body("down for\nmaintenance"),
        Reply::status(400).with_body("x".repeat(500)),
    ]);
    let harness = Harness::new();
    let notifier = spec(Destination::Webhook(webhook(receiver.url())));
    let context = context(NotificationEvent::Triggered);
    // When it is sent three times
    let first = harness.send(&notifier, Uuid::new_v4(), &context).await;
    let second = harness.send(&notifier, Uuid::new_v4(), &context).await;
    let third = harness.send(&notifier, Uuid::new_v4(), &context).await;
    // Then the failures carry the status and at most 200 characters of the body, on one line
    assert!(!first.delivered());
    assert_eq!(first.status_code, Some(503));
    assert_eq!(first.error.as_deref(), Some("HTTP 503: down for maintenance"));
    assert_eq!(second.status_code, Some(400));
    assert_eq!(second.error.unwrap(), format!("HTTP 400: {}", "x".repeat(200)));
    assert!(third.delivered(), "{third:?}");
    assert_eq!(receiver.requests().len(), 3);
}

#[tokio::test]
async fn a_redirect_is_an_error_and_is_not_followed() {
    let receiver = Receiver::start().await;
    receiver.respond_on("/moved", [Reply::status(302).with_header("location", "/elsewhere")]);
    let harness = Harness::new();
    let mut destination = webhook(format!("{}/moved", receiver.url()));
    destination.headers.insert("Authorization".to_owned(), harness.seal("Bearer header-secret"));
    let attempt =
        harness.send(&spec(Destination::Webhook(destination)), Uuid::new_v4(), &context(NotificationEvent::Test)).await;
    assert_eq!(attempt.status_code, Some(302));
    assert!(attempt.error.as_deref().unwrap().starts_with("HTTP 302"), "{attempt:?}");
    let requests = receiver.requests();
    assert_eq!(requests.iter().map(|request| request.path.as_str()).collect::<Vec<_>>(), ["/moved"]);
}

#[tokio::test]
async fn a_refused_connection_is_an_error_without_the_url_or_secrets() {
    let harness = Harness::new();
    let url = format!("http://127.0.0.1:{}/hook?token=url-token-secret", free_port());
    let mut destination = webhook(url);
    destination.headers.insert("X-Token".to_owned(), harness.seal("header-token-secret"));
    let attempt = harness
        .send(&spec(Destination::Webhook(destination)), Uuid::new_v4(), &context(NotificationEvent::Triggered))
        .await;
    let error = attempt.error.expect("an error");
    assert_eq!(attempt.status_code, None);
    assert!(error.starts_with("connection failed"), "{error}");
    assert!(
        !error.contains("url-token-secret") && !error.contains("header-token-secret") && !error.contains("/hook"),
        "{error}"
    );
}

#[tokio::test]
async fn a_receiver_that_does_not_answer_in_time_is_a_timeout() {
    let receiver = Receiver::start().await;
    receiver.respond_with([Reply::status(200).after(Duration::from_secs(10))]);
    let mut harness = Harness::new();
    harness.sender = harness.sender.with_timeout(Duration::from_millis(300));
    let attempt = harness
        .send(
            &spec(Destination::Webhook(webhook(format!("{}/slow", receiver.url())))),
            Uuid::new_v4(),
            &context(NotificationEvent::Triggered),
        )
        .await;
    assert!(attempt.error.as_deref().unwrap().contains("timed out"), "{attempt:?}");
    assert!(attempt.latency < Duration::from_secs(3), "{attempt:?}");
    assert_eq!(receiver.requests().len(), 1, "it was reached, just slow");
}

#[tokio::test]
async fn a_destination_the_policy_refuses_is_never_contacted() {
    // Given loopback is denied, and a receiver on loopback
    let receiver = Receiver::start().await;
    let harness = Harness::with_policy(AddressPolicy::from_lists("127.0.0.0/8, ::1/128", "").unwrap());
    let port = receiver.address().port();
    for url in [
        format!("http://127.0.0.1:{port}/literal"),
        format!("http://localhost:{port}/name"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        // When a webhook names it, as an IP literal or by a name resolving to it
        let attempt = harness
            .send(&spec(Destination::Webhook(webhook(url.clone()))), Uuid::new_v4(), &context(NotificationEvent::Test))
            .await;
        // Then the attempt fails with the policy's reason
        let error = attempt.error.unwrap_or_default();
        assert!(error.starts_with("refused by target policy"), "{url}: {error}");
    }
    // And nothing arrived
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_plain_or_foreign_credential_is_not_sent() {
    let receiver = Receiver::start().await;
    let harness = Harness::new();
    let mut destination = webhook(receiver.url());
    destination.headers.insert("X-Token".to_owned(), Credential::Plain("plain-secret-value".to_owned()));
    let attempt = harness
        .send(&spec(Destination::Webhook(destination.clone())), Uuid::new_v4(), &context(NotificationEvent::Test))
        .await;
    assert_eq!(attempt.error.as_deref(), Some("credential not sealed"));
    // Sealed for another notifier: it does not open here
    let other = Credential::Sealed(harness.ring.seal(b"foreign-secret", Uuid::new_v4()).unwrap().into_string());
    destination.headers.insert("X-Token".to_owned(), other);
    let attempt =
        harness.send(&spec(Destination::Webhook(destination)), Uuid::new_v4(), &context(NotificationEvent::Test)).await;
    let error = attempt.error.unwrap();
    assert!(error.starts_with("stored credential cannot be unsealed"), "{error}");
    assert!(!error.contains("foreign-secret"));
    assert!(receiver.requests().is_empty());
}

#[tokio::test]
async fn a_receiver_quoting_a_header_token_or_cutting_it_at_the_excerpt_leaves_none_of_it_in_the_error() {
    // Given a header whose token a refusing receiver quotes alone, once where the excerpt cuts
    const TOKEN: &str = "sk_live_0123456789abcdefghij";
    let receiver = Receiver::start().await;
    receiver.respond_with([
        Reply::status(401).with_body(format!(r#"{{"error": "invalid api key {TOKEN}"}}"#)),
        Reply::status(401).with_body(format!("{}{TOKEN}", "x".repeat(190))),
    ]);
    let harness = Harness::new();
    let mut destination = webhook(receiver.url());
    destination.headers.insert("Authorization".to_owned(), harness.seal(&format!("Bearer {TOKEN}")));
    let notifier = spec(Destination::Webhook(destination));
    // When both attempts fail
    let quoted = harness.send(&notifier, Uuid::new_v4(), &context(NotificationEvent::Triggered)).await;
    let cut = harness.send(&notifier, Uuid::new_v4(), &context(NotificationEvent::Triggered)).await;
    // Then neither error holds the token or a piece of it
    for attempt in [quoted, cut] {
        let error = attempt.error.expect("refused");
        assert!(error.starts_with("HTTP 401"), "{error}");
        assert!(!error.contains("sk_live") && !error.contains("0123456789"), "{error}");
    }
}
