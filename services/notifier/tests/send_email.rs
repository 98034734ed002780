//! E-mail against a real SMTP server on loopback: the envelope, the headers, the login, and a
//! refused or absent server failing without the password in the error.

mod support;

use std::time::Duration;

use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::alerting::NotificationEvent;
use healthmon_domain::alerting::notifier::{Destination, EmailDestination, SmtpTls};
use healthmon_testing::{SmtpServer, free_port};
use support::{Harness, context, spec};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(5);

fn email(host: &str, port: u16) -> EmailDestination {
    EmailDestination {
        smtp_host: host.to_owned(),
        smtp_port: port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "healthmon@example.com".to_owned(),
        to: vec!["ops@example.com".to_owned(), "Pager <pager@example.com>".to_owned()],
    }
}

#[tokio::test]
async fn an_email_arrives_with_its_envelope_subject_and_delivery_header() {
    // Given an SMTP server and a notifier that logs in to it
    let server = SmtpServer::start().await;
    let harness = Harness::new();
    let mut destination = email("localhost", server.port());
    destination.username = Some("alerts".to_owned());
    destination.password = Some(harness.seal("smtp-password-secret"));
    let context = context(NotificationEvent::Triggered);
    let delivery_id = Uuid::new_v4();
    // When a notification is sent
    let attempt = harness.send(&spec(Destination::Email(destination)), delivery_id, &context).await;
    // Then one message arrives, from and to the configured addresses, after a login
    assert!(attempt.delivered(), "{attempt:?}");
    assert_eq!(attempt.status_code, None);
    let messages = server.wait_for(1, WAIT).await;
    let mail = &messages[0];
    assert_eq!(mail.from, "healthmon@example.com");
    assert_eq!(mail.to, ["ops@example.com", "pager@example.com"]);
    assert_eq!(mail.auth_user.as_deref(), Some("alerts"));
    assert_eq!(mail.auth_password.as_deref(), Some("smtp-password-secret"));
    assert_eq!(mail.header("subject").as_deref(), Some("checkout-api is unhealthy"));
    assert_eq!(mail.header("from").as_deref(), Some("healthmon@example.com"));
    assert!(mail.header("to").unwrap().contains("pager@example.com"));
    assert_eq!(mail.header("x-healthmon-delivery"), Some(delivery_id.to_string()));
    assert_eq!(mail.header("message-id"), Some(format!("<{delivery_id}@healthmon>")));
    assert!(mail.data.contains("Target: checkout-api (http)"), "{}", mail.data);
}

#[tokio::test]
async fn without_a_username_no_login_is_made() {
    let server = SmtpServer::start().await;
    let harness = Harness::new();
    let attempt = harness
        .send(
            &spec(Destination::Email(email("127.0.0.1", server.port()))),
            Uuid::new_v4(),
            &context(NotificationEvent::Resolved),
        )
        .await;
    assert!(attempt.delivered(), "{attempt:?}");
    let mail = &server.wait_for(1, WAIT).await[0];
    assert_eq!(mail.auth_user, None);
    assert_eq!(mail.header("subject").as_deref(), Some("checkout-api is healthy again"));
}

#[tokio::test]
async fn a_refused_smtp_host_is_never_contacted() {
    let server = SmtpServer::start().await;
    let harness = Harness::with_policy(AddressPolicy::from_lists("127.0.0.0/8, ::1/128", "").unwrap());
    for host in ["127.0.0.1", "localhost"] {
        let attempt = harness
            .send(
                &spec(Destination::Email(email(host, server.port()))),
                Uuid::new_v4(),
                &context(NotificationEvent::Test),
            )
            .await;
        let error = attempt.error.unwrap_or_default();
        assert!(
            error.starts_with("refused by target policy") && error.contains("HEALTHMON_TARGET_DENY"),
            "{host}: {error}"
        );
    }
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn an_absent_server_is_an_error_without_the_password() {
    let harness = Harness::new();
    let mut destination = email("127.0.0.1", free_port());
    destination.username = Some("alerts".to_owned());
    destination.password = Some(harness.seal("smtp-password-secret"));
    let attempt =
        harness.send(&spec(Destination::Email(destination)), Uuid::new_v4(), &context(NotificationEvent::Test)).await;
    let error = attempt.error.expect("an error");
    assert!(error.starts_with("SMTP"), "{error}");
    assert!(!error.contains("smtp-password-secret"), "{error}");
}
