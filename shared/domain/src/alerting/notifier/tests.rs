//! Notifier documents: each kind's fields and defaults, every bad field named, and which stored
//! write-only values an edit keeps.

use serde_json::json;

use super::*;

fn sealed(text: &str) -> Credential {
    Credential::Sealed(text.to_owned())
}

fn plain(text: &str) -> Credential {
    Credential::Plain(text.to_owned())
}

fn named(errors: &ValidationErrors) -> Vec<&str> {
    errors.fields().keys().map(String::as_str).collect()
}

/// A stored webhook, as the store gives it back: every write-only value sealed.
fn stored_webhook() -> NotifierSpec {
    NotifierSpec {
        name: "hook".into(),
        destination: Destination::Webhook(WebhookDestination {
            url: "https://hooks.example/in".into(),
            method: WebhookMethod::Post,
            headers: BTreeMap::from([("X-Token".to_owned(), sealed("hm1.token")), ("X-Other".into(), sealed("hm1.o"))]),
            body: None,
            secret: Some(sealed("hm1.secret")),
        }),
    }
}

fn webhook_of(spec: &NotifierSpec) -> &WebhookDestination {
    let Destination::Webhook(webhook) = &spec.destination else { panic!("a webhook: {spec:?}") };
    webhook
}

#[test]
fn given_a_minimal_webhook_when_parsed_then_post_and_no_headers_body_or_secret() {
    let spec = parse_notifier(&json!({"name": "hook", "kind": "webhook", "url": "https://hooks.example/in"})).unwrap();
    assert_eq!(spec.kind(), NotifierKind::Webhook);
    let webhook = webhook_of(&spec);
    assert_eq!(
        (webhook.method, webhook.headers.len(), &webhook.body, &webhook.secret),
        (WebhookMethod::Post, 0, &None, &None)
    );
}

#[test]
fn given_a_full_webhook_when_parsed_then_write_only_values_are_plain_and_echoes_are_ignored() {
    let spec = parse_notifier(&json!({
        "name": "hook", "kind": "webhook", "url": "http://10.0.0.5:8080/in", "method": "put",
        "headers": {"X-Token": "abc"}, "body": "{{ target.name }} is [ALERT_TRIGGERED_OR_RESOLVED]",
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id": "x", "has_secret": true, "updated_at": "y",
    }))
    .unwrap();
    let webhook = webhook_of(&spec);
    assert_eq!(webhook.method, WebhookMethod::Put);
    assert_eq!(webhook.headers["X-Token"], plain("abc"));
    assert_eq!(webhook.secret, Some(plain("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")));
}

#[test]
fn given_many_bad_webhook_fields_when_parsed_then_each_is_named_without_echoing_secrets() {
    let errors = parse_notifier(&json!({
        "name": "", "kind": "webhook", "url": "ftp://x", "method": "DELETE",
        "headers": {"bad header": "x", "X-Ok": "a\r\nb", "Webhook-Signature": "forged", "X-Num": 1},
        "body": "{% if %}", "secret": "whsec_!!!not-base64", "webhook_url": "https://x",
    }))
    .unwrap_err();
    assert_eq!(
        named(&errors),
        [
            "body",
            "headers.Webhook-Signature",
            "headers.X-Num",
            "headers.X-Ok",
            "headers.bad header",
            "method",
            "name",
            "secret",
            "url",
            "webhook_url"
        ]
    );
    assert!(!errors.to_string().contains("not-base64") && !errors.to_string().contains("forged"), "{errors}");
}

#[test]
fn given_an_unknown_or_missing_kind_when_parsed_then_kind_names_the_supported_ones() {
    let unknown = parse_notifier(&json!({"name": "n", "kind": "pager"})).unwrap_err();
    assert!(unknown.fields()["kind"].contains("webhook, slack, discord, teams, pagerduty, email, ntfy"), "{unknown}");
    let missing = parse_notifier(&json!({"name": "n"})).unwrap_err();
    assert_eq!(missing.fields()["kind"], "is required");
    assert!(parse_notifier(&json!("webhook")).unwrap_err().fields().contains_key("body"));
}

#[test]
fn given_chat_kinds_when_parsed_then_the_webhook_url_is_required_and_write_only() {
    for kind in ["slack", "discord", "teams"] {
        let spec = parse_notifier(&json!({"name": "c", "kind": kind, "webhook_url": "https://chat.example/T/B/x"}));
        let spec = spec.unwrap();
        assert_eq!(spec.kind().as_str(), kind);
        assert_eq!(spec.credential_fields(), [("webhook_url".to_owned(), &plain("https://chat.example/T/B/x"))]);
        assert!(spec.public_urls().is_empty());
        let missing = parse_notifier(&json!({"name": "c", "kind": kind})).unwrap_err();
        assert_eq!(named(&missing), ["webhook_url"]);
        let bad = parse_notifier(&json!({"name": "c", "kind": kind, "webhook_url": "file:///etc"})).unwrap_err();
        assert_eq!(named(&bad), ["webhook_url"]);
    }
}

#[test]
fn given_pagerduty_when_parsed_then_the_events_url_is_the_default_and_the_key_is_bounded() {
    let spec = parse_notifier(&json!({"name": "pd", "kind": "pagerduty", "routing_key": "R0123"})).unwrap();
    let Destination::Pagerduty(pagerduty) = &spec.destination else { panic!("pagerduty") };
    assert_eq!((pagerduty.url.as_str(), &pagerduty.routing_key), (PAGERDUTY_EVENTS_URL, &plain("R0123")));
    let long = "k".repeat(65);
    let errors =
        parse_notifier(&json!({"name": "pd", "kind": "pagerduty", "routing_key": long, "url": "x"})).unwrap_err();
    assert_eq!(named(&errors), ["routing_key", "url"]);
}

#[test]
fn given_email_when_parsed_then_the_port_follows_the_tls_mode_and_each_bad_address_is_named() {
    let email = |extra: serde_json::Value| {
        let mut document = json!({"name": "mail", "kind": "email", "smtp_host": "smtp.example", "from": "hm@example.com", "to": ["ops@example.com"]});
        document.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        parse_notifier(&document)
    };
    let port_of = |spec: NotifierSpec| match spec.destination {
        Destination::Email(email) => (email.tls, email.smtp_port),
        other => panic!("email: {other:?}"),
    };
    assert_eq!(port_of(email(json!({})).unwrap()), (SmtpTls::Starttls, 587));
    assert_eq!(port_of(email(json!({"tls": "tls"})).unwrap()), (SmtpTls::Tls, 465));
    assert_eq!(port_of(email(json!({"tls": "none"})).unwrap()), (SmtpTls::None, 25));
    assert_eq!(port_of(email(json!({"tls": "none", "smtp_port": 2525})).unwrap()), (SmtpTls::None, 2525));
    let with_password = email(json!({"username": "hm", "password": "pw"})).unwrap();
    assert_eq!(with_password.credential_fields(), [("password".to_owned(), &plain("pw"))]);

    let errors = email(json!({
        "smtp_host": "smtp://x", "smtp_port": 0, "tls": "ssl", "from": "nobody", "to": ["a@example.com", "b", "c@"],
    }))
    .unwrap_err();
    assert_eq!(named(&errors), ["from", "smtp_host", "smtp_port", "tls", "to.1", "to.2"]);
    assert_eq!(named(&email(json!({"to": []})).unwrap_err()), ["to"]);
}

#[test]
fn given_ntfy_when_parsed_then_url_is_required_and_the_token_optional() {
    let spec =
        parse_notifier(&json!({"name": "n", "kind": "ntfy", "url": "https://ntfy.sh/topic", "token": "tk"})).unwrap();
    assert_eq!(spec.public_urls(), [("url", "https://ntfy.sh/topic")]);
    assert_eq!(spec.credential_fields(), [("token".to_owned(), &plain("tk"))]);
    let errors = parse_notifier(&json!({"name": "n", "kind": "ntfy", "url": "https://u:p@ntfy.sh/t", "secret": "s"}));
    assert_eq!(named(&errors.unwrap_err()), ["secret", "url"]);
}

#[test]
fn given_an_edit_without_write_only_values_when_kept_then_the_stored_ones_stay_sealed() {
    let mut edit = parse_notifier(&json!({
        "name": "renamed", "kind": "webhook", "url": "https://hooks.example/in",
        "headers": ["X-Token", "X-Other"], "has_secret": true,
    }))
    .unwrap();
    assert!(edit.keep_stored_credentials(&stored_webhook()).is_empty());
    assert_eq!(webhook_of(&edit).headers, webhook_of(&stored_webhook()).headers);
    assert_eq!(webhook_of(&edit).secret, Some(sealed("hm1.secret")));
}

#[test]
fn given_an_edit_that_moves_the_url_when_kept_then_each_carried_value_is_refused_and_new_ones_pass() {
    let mut moved = parse_notifier(&json!({
        "name": "hook", "kind": "webhook", "url": "https://attacker.example/in", "headers": {"X-Token": "new"},
    }))
    .unwrap();
    let refused = moved.keep_stored_credentials(&stored_webhook());
    assert_eq!(named(&refused), ["headers.X-Other", "secret"], "X-Token was given anew");
    assert!(refused.fields()["secret"].contains("destination"));
}

#[test]
fn given_an_edit_document_then_left_out_values_are_kept_null_removes_and_a_header_list_picks() {
    let stored = stored_webhook();
    let kept =
        parse_notifier_edit(&json!({"name": "h", "kind": "webhook", "url": "https://hooks.example/in"}), &stored);
    assert_eq!(webhook_of(&kept.unwrap()), webhook_of(&stored));

    let picked = parse_notifier_edit(
        &json!({"name": "h", "kind": "webhook", "url": "https://hooks.example/in", "headers": ["X-Token"], "secret": null}),
        &stored,
    )
    .unwrap();
    let webhook = webhook_of(&picked);
    assert_eq!(webhook.headers.keys().collect::<Vec<_>>(), ["X-Token"]);
    assert_eq!(webhook.secret, None);

    let unknown = parse_notifier_edit(
        &json!({"name": "h", "kind": "webhook", "url": "https://hooks.example/in", "headers": ["X-Nope"]}),
        &stored,
    );
    assert_eq!(named(&unknown.unwrap_err()), ["headers.0"]);

    let moved =
        parse_notifier_edit(&json!({"name": "h", "kind": "webhook", "url": "https://elsewhere.example/"}), &stored);
    assert_eq!(named(&moved.unwrap_err()), ["headers.X-Other", "headers.X-Token", "secret"]);
}

#[test]
fn given_a_chat_or_pagerduty_edit_without_its_required_secret_then_the_stored_one_is_kept() {
    let stored_chat = NotifierSpec {
        name: "c".into(),
        destination: Destination::Slack(ChatDestination { webhook_url: sealed("hm1.url") }),
    };
    let edit = parse_notifier_edit(&json!({"name": "c2", "kind": "slack", "has_webhook_url": true}), &stored_chat);
    assert_eq!(edit.unwrap().credential_fields(), [("webhook_url".to_owned(), &sealed("hm1.url"))]);
    let other_kind = parse_notifier_edit(&json!({"name": "c2", "kind": "discord"}), &stored_chat);
    assert_eq!(named(&other_kind.unwrap_err()), ["webhook_url"], "a value never crosses kinds");

    let stored_pd = parse_notifier(&json!({"name": "pd", "kind": "pagerduty", "routing_key": "k"})).unwrap();
    let stored_pd = NotifierSpec {
        destination: match stored_pd.destination {
            Destination::Pagerduty(pd) => {
                Destination::Pagerduty(PagerDutyDestination { routing_key: sealed("hm1.k"), ..pd })
            }
            other => other,
        },
        ..stored_pd
    };
    let moved =
        parse_notifier_edit(&json!({"name": "pd", "kind": "pagerduty", "url": "https://evil.example/"}), &stored_pd);
    assert_eq!(named(&moved.unwrap_err()), ["routing_key"]);
}

#[test]
fn given_an_email_edit_then_a_kept_password_follows_host_port_user_and_tls_only() {
    let stored = NotifierSpec {
        name: "mail".into(),
        destination: Destination::Email(EmailDestination {
            smtp_host: "smtp.example".into(),
            smtp_port: 587,
            tls: SmtpTls::Starttls,
            username: Some("hm".into()),
            password: Some(sealed("hm1.pw")),
            from: "hm@example.com".into(),
            to: vec!["ops@example.com".into()],
        }),
    };
    let base = json!({"name": "mail", "kind": "email", "smtp_host": "smtp.example", "username": "hm", "from": "hm@example.com", "to": ["x@example.com"]});
    let mut same = parse_notifier(&base).unwrap();
    assert!(same.keep_stored_credentials(&stored).is_empty());
    assert_eq!(same.credential_fields(), [("password".to_owned(), &sealed("hm1.pw"))]);
    for change in
        [json!({"smtp_host": "mx.evil"}), json!({"smtp_port": 2525}), json!({"username": "x"}), json!({"tls": "none"})]
    {
        let mut document = base.clone();
        document.as_object_mut().unwrap().extend(change.as_object().unwrap().clone());
        let mut moved = parse_notifier(&document).unwrap();
        assert_eq!(named(&moved.keep_stored_credentials(&stored)), ["password"], "{change}");
    }
}
