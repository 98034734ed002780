//! Alerting's HTTP API: notifiers, alert rules, maintenance windows and deliveries, with their
//! exact shapes; write-only values never in a response; every bad field named in a 422.

use std::collections::BTreeSet;

use healthmon_tests::{Mode, TestApp, both_modes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_modes!(
    notifiers_are_managed_and_never_show_their_secrets,
    notifier_writes_name_each_bad_field,
    notifier_destinations_obey_the_address_policy,
    alert_rules_are_managed_and_name_unknown_notifiers,
    maintenance_windows_are_managed_and_mark_covered_targets,
    deliveries_are_listed_with_checked_filters,
    a_notifier_test_reports_its_one_attempt,
);

const SECRET: &str = "whsec_c2VjcmV0LXNpZ25pbmcta2V5LTQ4MjE=";
const HEADER_VALUE: &str = "Bearer hdr-Secret-9931";
const CHAT_URL: &str = "https://hooks.slack.com/services/T000/B000/chatSecret5521";
const ROUTING_KEY: &str = "routingKeySecret0042";

fn assert_no_secret(what: &str, body: &Value) {
    let text = body.to_string();
    for secret in [SECRET, HEADER_VALUE, "chatSecret5521", ROUTING_KEY, "hm1."] {
        assert!(!text.contains(secret), "{what} shows a write-only value: {text}");
    }
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().map(|object| object.keys().map(String::as_str).collect()).unwrap_or_default()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

fn id_of(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// The request's 422 names exactly these fields among others (each must be there).
async fn assert_refused(app: &TestApp, method: Method, path: &str, body: &Value, fields: &[&str]) -> Value {
    let (status, refused) = app.call(method.clone(), path, Some(body)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {path} {body}: {refused}");
    assert_eq!(refused["error"]["code"], "validation_failed", "{refused}");
    for field in fields {
        assert!(refused["error"]["details"]["fields"][field].is_string(), "{field} not named: {refused}");
    }
    refused
}

async fn create(app: &TestApp, collection: &str, body: &Value) -> Value {
    let (status, created) = app.call(Method::POST, collection, Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{collection} {body}: {created}");
    created
}

fn webhook() -> Value {
    json!({"name": "ops-hook", "kind": "webhook", "url": "http://127.0.0.1:9/hook",
           "headers": {"Authorization": HEADER_VALUE}, "secret": SECRET})
}

async fn notifiers_are_managed_and_never_show_their_secrets(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let response = app.http.post(app.url("/api/v1/notifiers")).json(&webhook()).send().await.expect("create");
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let created: Value = response.json().await.expect("JSON");
    let id = id_of(&created);
    assert_eq!(location.as_deref(), Some(format!("/api/v1/notifiers/{id}").as_str()));
    assert_eq!(
        keys(&created),
        set(&["id", "name", "kind", "url", "method", "headers", "body", "has_secret", "created_at", "updated_at"]),
        "{created}"
    );
    assert_eq!(
        (&created["kind"], &created["method"], &created["headers"], &created["body"], &created["has_secret"]),
        (&json!("webhook"), &json!("POST"), &json!(["Authorization"]), &Value::Null, &json!(true)),
        "{created}"
    );
    assert_no_secret("the create response", &created);

    let one = format!("/api/v1/notifiers/{id}");
    let (status, read) = app.call(Method::GET, &one, None).await;
    assert_eq!((status, &read), (StatusCode::OK, &created));
    let (_, list) = app.call(Method::GET, "/api/v1/notifiers", None).await;
    assert_eq!(list, json!({"items": [created.clone()]}));

    // A replacement that sends back what it read keeps the write-only values (same destination).
    let mut again = read.clone();
    again["name"] = json!("ops-hook-2");
    let (status, replaced) = app.call(Method::PUT, &one, Some(&again)).await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!((&replaced["name"], &replaced["has_secret"]), (&json!("ops-hook-2"), &json!(true)), "{replaced}");
    assert_eq!(replaced["headers"], json!(["Authorization"]), "{replaced}");
    let (status, patched) = app.call(Method::PATCH, &one, Some(&json!({"method": "PUT", "secret": null}))).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!((&patched["method"], &patched["has_secret"]), (&json!("PUT"), &json!(false)), "{patched}");
    assert_eq!(patched["created_at"], created["created_at"]);

    // A PUT may change the kind: everything is replaced, nothing carried across.
    let slack = json!({"name": "chat", "kind": "slack", "webhook_url": CHAT_URL});
    let (status, chat) = app.call(Method::PUT, &one, Some(&slack)).await;
    assert_eq!(status, StatusCode::OK, "{chat}");
    assert_eq!(keys(&chat), set(&["id", "name", "kind", "has_webhook_url", "created_at", "updated_at"]), "{chat}");
    assert_eq!((&chat["kind"], &chat["has_webhook_url"]), (&json!("slack"), &json!(true)));
    let (status, renamed) = app.call(Method::PUT, &one, Some(&json!({"name": "chat-2", "kind": "slack"}))).await;
    assert_eq!(status, StatusCode::OK, "the stored webhook URL is kept: {renamed}");
    assert_eq!((&renamed["name"], &renamed["has_webhook_url"]), (&json!("chat-2"), &json!(true)), "{renamed}");
    let pagerduty = json!({"name": "pager", "kind": "pagerduty", "routing_key": ROUTING_KEY});
    let paged = create(&app, "/api/v1/notifiers", &pagerduty).await;
    assert_eq!(
        (&paged["url"], &paged["has_routing_key"]),
        (&json!("https://events.pagerduty.com/v2/enqueue"), &json!(true)),
        "{paged}"
    );
    let email = json!({"name": "mail", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": 2525, "tls": "none",
                       "username": "bot", "password": SECRET, "from": "hm@example.com", "to": ["ops@example.com"]});
    let mail = create(&app, "/api/v1/notifiers", &email).await;
    assert_eq!(
        keys(&mail),
        set(&[
            "id",
            "name",
            "kind",
            "smtp_host",
            "smtp_port",
            "tls",
            "username",
            "has_password",
            "from",
            "to",
            "created_at",
            "updated_at"
        ]),
        "{mail}"
    );
    let ntfy =
        create(&app, "/api/v1/notifiers", &json!({"name": "n", "kind": "ntfy", "url": "http://127.0.0.1:9/t"})).await;
    assert_eq!((&ntfy["url"], &ntfy["has_token"]), (&json!("http://127.0.0.1:9/t"), &json!(false)), "{ntfy}");

    let (_, list) = app.call(Method::GET, "/api/v1/notifiers", None).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(4), "{list}");
    for body in [&chat, &paged, &mail, &list] {
        assert_no_secret("a notifier response", body);
    }
    assert_eq!(app.call(Method::DELETE, &one, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, &one, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &one, None).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn notifier_writes_name_each_bad_field(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let notifiers = "/api/v1/notifiers";
    assert_refused(&app, Method::POST, notifiers, &json!({"name": "x", "kind": "carrier-pigeon"}), &["kind"]).await;
    assert_refused(&app, Method::POST, notifiers, &json!({"kind": "webhook"}), &["name", "url"]).await;
    assert_refused(&app, Method::POST, notifiers, &json!({"name": "x", "kind": "slack"}), &["webhook_url"]).await;
    assert_refused(&app, Method::POST, notifiers, &json!({"name": "x", "kind": "pagerduty"}), &["routing_key"]).await;
    let email =
        json!({"name": "x", "kind": "email", "smtp_host": "127.0.0.1", "from": "nobody", "to": ["a@b.c", "no"]});
    assert_refused(&app, Method::POST, notifiers, &email, &["from", "to.1"]).await;
    assert_refused(&app, Method::POST, notifiers, &json!([1]), &[]).await;

    let created = create(&app, notifiers, &webhook()).await;
    let one = format!("{notifiers}/{}", id_of(&created));
    // A stored secret never follows a moved destination: it must be sent again.
    let moved = json!({"name": "ops-hook", "kind": "webhook", "url": "http://127.0.0.2:9/elsewhere"});
    let refused = assert_refused(&app, Method::PUT, &one, &moved, &["secret"]).await;
    assert_no_secret("a refusal", &refused);
    assert_refused(&app, Method::PATCH, &one, &json!({"url": "http://127.0.0.2:9/elsewhere"}), &["secret"]).await;
    assert_refused(&app, Method::PATCH, &one, &json!({"method": "DELETE"}), &["method"]).await;
    assert_refused(&app, Method::PATCH, &one, &json!("not an object"), &["body"]).await;
    let (_, unchanged) = app.call(Method::GET, &one, None).await;
    assert_eq!(unchanged, created, "every refused write left it as it was");

    for path in [format!("{notifiers}/not-a-uuid"), format!("{notifiers}/{}", uuid::Uuid::new_v4())] {
        assert_eq!(app.call(Method::GET, &path, None).await.0, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(app.call(Method::PUT, &path, Some(&webhook())).await.0, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(app.call(Method::POST, &format!("{path}/test"), None).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let viewer = app.user_token("watcher", "viewer").await;
    let (status, _) = app.call_as(Some(&viewer), Method::POST, notifiers, Some(&webhook())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.call_as(Some(&viewer), Method::GET, notifiers, None).await.0, StatusCode::OK);
    app.stop().await;
}

async fn notifier_destinations_obey_the_address_policy(mode: Mode) {
    let app =
        TestApp::spawn_with(mode, |settings| settings.target_deny = "127.0.0.0/8, ::1/128".parse().expect("CIDRs"))
            .await;
    let notifiers = "/api/v1/notifiers";
    for kind in ["webhook", "ntfy"] {
        let body = json!({"name": "x", "kind": kind, "url": "http://127.0.0.1:9/"});
        assert_refused(&app, Method::POST, notifiers, &body, &["url"]).await;
    }
    let metadata = "http://169.254.169.254/latest/chatSecret5521";
    let refused = assert_refused(
        &app,
        Method::POST,
        notifiers,
        &json!({"name": "x", "kind": "teams", "webhook_url": metadata}),
        &["webhook_url"],
    )
    .await;
    assert!(!refused.to_string().contains("169.254"), "the refusal repeats the secret URL: {refused}");
    let email = json!({"name": "x", "kind": "email", "smtp_host": "127.0.0.1", "smtp_port": 25, "tls": "none",
                       "from": "hm@example.com", "to": ["ops@example.com"]});
    assert_refused(&app, Method::POST, notifiers, &email, &["smtp_host"]).await;
    let pagerduty = json!({"name": "x", "kind": "pagerduty", "routing_key": "k", "url": "http://[::1]:9/"});
    assert_refused(&app, Method::POST, notifiers, &pagerduty, &["url"]).await;
    let (_, list) = app.call(Method::GET, notifiers, None).await;
    assert_eq!(list, json!({"items": []}), "nothing refused was stored");
    app.stop().await;
}

async fn alert_rules_are_managed_and_name_unknown_notifiers(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let notifier = id_of(&create(&app, "/api/v1/notifiers", &webhook()).await);
    let alerts = "/api/v1/alerts";
    let body = json!({"name": "payments down", "notifiers": [notifier], "selector": {"tags": ["payments"]},
                      "trigger_after_s": 30});
    let created = create(&app, alerts, &body).await;
    let id = id_of(&created);
    let mut expected = json!({"id": id, "name": "payments down", "notifiers": [notifier],
                              "selector": {"tags": ["payments"], "targets": []}, "trigger_after_s": 30,
                              "send_on_resolved": true, "remind_every_s": 0, "enabled": true,
                              "created_at": created["created_at"], "updated_at": created["updated_at"]});
    assert_eq!(created, expected);
    let one = format!("{alerts}/{id}");
    assert_eq!(app.call(Method::GET, &one, None).await, (StatusCode::OK, expected.clone()));
    assert_eq!(app.call(Method::GET, alerts, None).await.1, json!({"items": [expected.clone()]}));

    let (status, patched) =
        app.call(Method::PATCH, &one, Some(&json!({"enabled": false, "remind_every_s": 600}))).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    expected["enabled"] = json!(false);
    expected["remind_every_s"] = json!(600);
    expected["updated_at"] = patched["updated_at"].clone();
    assert_eq!(patched, expected);

    let ghost = uuid::Uuid::new_v4().to_string();
    let unknown = json!({"name": "r", "notifiers": [notifier, ghost]});
    let refused = assert_refused(&app, Method::POST, alerts, &unknown, &["notifiers.1"]).await;
    assert!(refused["error"]["details"]["fields"]["notifiers.0"].is_null(), "{refused}");
    assert_refused(&app, Method::PUT, &one, &unknown, &["notifiers.1"]).await;
    assert_refused(&app, Method::POST, alerts, &json!({"name": "r", "notifiers": ["zzz"]}), &["notifiers.0"]).await;
    assert_refused(
        &app,
        Method::POST,
        alerts,
        &json!({"notifiers": [], "surprise": 1}),
        &["name", "notifiers", "surprise"],
    )
    .await;

    // A notifier a rule names cannot go.
    let notifier_path = format!("/api/v1/notifiers/{notifier}");
    let (status, conflict) = app.call(Method::DELETE, &notifier_path, None).await;
    assert_eq!((status, &conflict["error"]["code"]), (StatusCode::CONFLICT, &json!("conflict")), "{conflict}");
    assert!(conflict["error"]["message"].as_str().is_some_and(|m| m.contains(&id)), "names the rule: {conflict}");
    assert_eq!(app.call(Method::DELETE, &one, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, &one, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &notifier_path, None).await.0, StatusCode::NO_CONTENT);
    app.stop().await;
}

async fn maintenance_windows_are_managed_and_mark_covered_targets(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let target = app
        .create_target(
            json!({"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 9, "tags": ["db"], "interval_s": 3600}),
        )
        .await;
    assert_eq!(target["health"]["maintenance"], json!(false), "{target}");
    let windows = "/api/v1/maintenance";
    let (starts, ends) =
        (chrono::Utc::now() - chrono::Duration::hours(1), chrono::Utc::now() + chrono::Duration::hours(1));
    let body = json!({"name": "db upgrade", "selector": {"tags": ["db"]}, "starts_at": starts, "ends_at": ends});
    let created = create(&app, windows, &body).await;
    assert_eq!(
        keys(&created),
        set(&["id", "name", "selector", "starts_at", "ends_at", "active", "active_until", "created_at", "updated_at"]),
        "{created}"
    );
    assert_eq!((&created["active"], &created["selector"]), (&json!(true), &json!({"tags": ["db"], "targets": []})));
    assert_eq!(healthmon_tests::app::time(&created["active_until"]), healthmon_tests::app::time(&created["ends_at"]));
    let id = id_of(&created);
    let covered = app.target(&id_of(&target)).await;
    assert_eq!(covered["health"]["maintenance"], json!(true), "{covered}");
    let (_, listed) = app.call(Method::GET, "/api/v1/targets", None).await;
    assert_eq!(listed["items"][0]["health"]["maintenance"], json!(true), "{listed}");

    let one = format!("{windows}/{id}");
    let recurring = json!({"starts_at": null, "ends_at": null, "cron": "0 2 * * sun", "duration_s": 3600,
                           "timezone": "Europe/Berlin"});
    let (status, patched) = app.call(Method::PATCH, &one, Some(&recurring)).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(
        keys(&patched),
        set(&[
            "id",
            "name",
            "selector",
            "cron",
            "duration_s",
            "timezone",
            "active",
            "active_until",
            "created_at",
            "updated_at"
        ]),
        "{patched}"
    );
    assert_eq!((&patched["cron"], &patched["timezone"]), (&json!("0 2 * * sun"), &json!("Europe/Berlin")));
    assert!(patched["active"].is_boolean(), "{patched}");
    assert_eq!(app.call(Method::GET, windows, None).await.1["items"].as_array().map(Vec::len), Some(1));

    let base =
        json!({"name": "w", "selector": {}, "cron": "0 2 * * sun", "duration_s": 3600, "timezone": "Europe/Berlin"});
    for (field, value) in [("cron", json!("every sunday")), ("timezone", json!("Mars/Olympus_Mons"))] {
        let mut bad = base.clone();
        bad[field] = value;
        assert_refused(&app, Method::POST, windows, &bad, &[field]).await;
        assert_refused(&app, Method::PUT, &one, &bad, &[field]).await;
    }
    assert_refused(
        &app,
        Method::POST,
        windows,
        &json!({"name": "w", "starts_at": ends, "ends_at": starts}),
        &["ends_at"],
    )
    .await;
    assert_eq!(app.call(Method::DELETE, &one, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, &one, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.target(&id_of(&target)).await["health"]["maintenance"], json!(false));
    app.stop().await;
}

async fn deliveries_are_listed_with_checked_filters(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (status, page) = app.call(Method::GET, "/api/v1/deliveries", None).await;
    assert_eq!((status, page), (StatusCode::OK, json!({"items": [], "next_cursor": null})));
    let filtered = format!("/api/v1/deliveries?status=failed&notifier={}&limit=5", uuid::Uuid::new_v4());
    assert_eq!(app.call(Method::GET, &filtered, None).await.0, StatusCode::OK);
    for (parameter, value) in [
        ("limit", "0"),
        ("limit", "1001"),
        ("status", "sleepy"),
        ("alert", "x"),
        ("notifier", "1"),
        ("target", "t"),
        ("cursor", "abc"),
    ] {
        let path = format!("/api/v1/deliveries?{parameter}={value}");
        let (status, refused) = app.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {refused}");
        assert!(refused["error"]["details"]["fields"][parameter].is_string(), "{path}: {refused}");
    }
    app.stop().await;
}

/// The test apps run the notifier role, which attempts the test delivery once (the receiver here
/// refuses connections): the answer reports the failed attempt, and the delivery stays recorded.
async fn a_notifier_test_reports_its_one_attempt(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let notifier = id_of(&create(&app, "/api/v1/notifiers", &webhook()).await);
    let (status, result) = app.call(Method::POST, &format!("/api/v1/notifiers/{notifier}/test"), None).await;
    assert_eq!(status, StatusCode::OK, "{result}");
    assert_eq!(keys(&result), set(&["delivered", "status_code", "error", "latency_ms"]), "{result}");
    assert_eq!((&result["delivered"], &result["status_code"]), (&json!(false), &Value::Null), "{result}");
    let error = result["error"].as_str().unwrap_or_default();
    assert!(!error.is_empty() && !error.contains("no notifier process"), "attempted and failed: {result}");
    assert!(result["latency_ms"].as_u64().is_some_and(|ms| ms < 15_000), "{result}");
    assert_no_secret("the test result", &result);
    let (_, page) = app.call(Method::GET, &format!("/api/v1/deliveries?notifier={notifier}"), None).await;
    let delivery = &page["items"][0];
    assert_eq!(
        keys(delivery),
        set(&[
            "id",
            "alert_id",
            "notifier_id",
            "target_id",
            "event",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "delivered_at",
            "next_attempt_at"
        ]),
        "{page}"
    );
    assert_eq!(
        (&delivery["event"], &delivery["status"], &delivery["alert_id"], &delivery["target_id"], &delivery["attempts"]),
        (&json!("test"), &json!("failed"), &Value::Null, &Value::Null, &json!(1)),
        "{page}"
    );
    assert_eq!((&delivery["last_error"], &delivery["next_attempt_at"]), (&json!(error), &Value::Null), "{page}");
    assert_no_secret("the deliveries", &page);
    app.stop().await;
}
