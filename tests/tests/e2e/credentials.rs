//! Stored credentials are sealed for the probers: never in a response, an event or the store in
//! plain form; bound to their target; kept when a client does not resend them.

use std::time::Duration;

use futures::StreamExt;
use healthmon_bus::{StartAt, Stream};
use healthmon_crypto::{KeyRing, Sealed};
use healthmon_tests::{Mode, TestApp, both_modes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

both_modes!(
    credentials_are_sealed_everywhere_and_bound_to_their_target,
    resource_routes_manage_ssh_targets,
    one_host_has_one_resource_even_under_concurrent_creates,
);

const PASSWORD: &str = "pw-Sup3r-Secret-7731";
const KEY_MATERIAL: &str = "KEYMATERIALabcdef0123456789";

fn private_key() -> String {
    format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{KEY_MATERIAL}\n-----END OPENSSH PRIVATE KEY-----\n")
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(PASSWORD) && !text.contains(KEY_MATERIAL), "{what} shows a secret: {text}");
}

fn ring(app: &TestApp) -> KeyRing {
    KeyRing::load(std::path::Path::new(&app.settings.keys_dir)).expect("the key ring")
}

async fn stored_sealed(app: &TestApp, id: &str, field: &str) -> String {
    let record =
        app.components.store.get_target(Uuid::parse_str(id).expect("uuid")).await.expect("read").expect("target");
    let stored = serde_json::to_value(&record.target).expect("JSON");
    assert_no_secret("the stored target", &stored.to_string());
    stored[field].as_str().expect("a sealed value").to_owned()
}

async fn credentials_are_sealed_everywhere_and_bound_to_their_target(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let body = json!({
        "name": "db-host", "kind": "ssh", "host": "127.0.0.1", "port": 2222, "username": "monitor",
        "password": PASSWORD, "private_key": private_key(), "interval_s": 3600,
    });
    let created = app.create_target(body).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert_no_secret("the create response", &created.to_string());
    assert_eq!((created["has_password"].as_bool(), created["has_private_key"].as_bool()), (Some(true), Some(true)));
    assert!(created.get("password_sealed").is_none(), "{created}");

    for path in [
        format!("/api/v1/targets/{id}"),
        "/api/v1/targets".into(),
        "/api/v1/health".into(),
        "/Resource".into(),
        "/ResourceState".into(),
    ] {
        let (status, body) = app.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_no_secret(&path, &body.to_string());
    }

    // Sealed in the store and on the bus, and only this target's id opens it.
    let sealed = stored_sealed(&app, &id, "password_sealed").await;
    let sealed = Sealed::parse(&sealed).expect("an hm1 value");
    let opened = ring(&app).open(&sealed, Uuid::parse_str(&id).expect("uuid")).expect("opens for its target");
    assert_eq!(opened.as_slice(), PASSWORD.as_bytes());
    assert!(ring(&app).open(&sealed, Uuid::new_v4()).is_err(), "moved to another target it does not open");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let other_ring = KeyRing::load_or_create(elsewhere.path()).expect("another ring");
    assert!(other_ring.open(&sealed, Uuid::parse_str(&id).expect("uuid")).is_err(), "another key cannot open it");

    let mut events = app.components.bus.follow(Stream::Targets, StartAt::Beginning).await.expect("follow");
    let event = tokio::time::timeout(Duration::from_secs(10), events.next())
        .await
        .expect("a target event")
        .expect("open")
        .expect("event");
    let text = String::from_utf8_lossy(&event.payload);
    assert_no_secret("the target event", &text);
    assert!(text.contains("hm1."), "the event carries the sealed form");

    // A rename keeps the credentials; a PUT that names none keeps them; a new password replaces it.
    let path = format!("/api/v1/targets/{id}");
    let (status, renamed) = app.call(Method::PATCH, &path, Some(&json!({"name": "db-host-2"}))).await;
    assert_eq!((status, renamed["has_password"].as_bool()), (StatusCode::OK, Some(true)));
    let (status, replaced) = app.call(Method::PUT, &path, Some(&renamed)).await;
    assert_eq!((status, replaced["has_password"].as_bool()), (StatusCode::OK, Some(true)), "{replaced}");
    assert_eq!(stored_sealed(&app, &id, "password_sealed").await, sealed.as_str(), "the same sealed value");
    let (status, _) = app.call(Method::PATCH, &path, Some(&json!({"password": "a-brand-new-password"}))).await;
    assert_eq!(status, StatusCode::OK);
    let renewed = Sealed::parse(&stored_sealed(&app, &id, "password_sealed").await).expect("sealed");
    let opened = ring(&app).open(&renewed, Uuid::parse_str(&id).expect("uuid")).expect("opens");
    assert_eq!(opened.as_slice(), b"a-brand-new-password");

    let (status, invalid) = app
        .call(Method::POST, "/api/v1/targets", Some(&json!({"name": "x", "kind": "ssh", "host": "h", "username": "u"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid["error"]["details"]["fields"]["password"].is_string(), "{invalid}");
    app.stop().await;
}

async fn resource_routes_manage_ssh_targets(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let body = json!({"hostname": "db1.internal", "username": "monitor", "password": PASSWORD, "os": "windows"});
    let (status, created) = app.call(Method::POST, "/resource", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_no_secret("/Resource", &created.to_string());
    assert_eq!((created["hostname"].as_str(), created["os"].as_str()), (Some("db1.internal"), Some("windows")));
    assert_eq!(app.call(Method::POST, "/Resource", Some(&body)).await.0, StatusCode::CONFLICT);

    let (status, read) = app.call(Method::GET, "/RESOURCE/db1.internal", None).await;
    assert_eq!((status, read["username"].as_str()), (StatusCode::OK, Some("monitor")));
    // A new port or user is a new destination: the password must come with it.
    let (status, refused) = app.call(Method::PATCH, "/Resource/db1.internal", Some(&json!({"port": 2200}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["details"]["fields"]["password"].is_string(), "{refused}");
    let moved = json!({"port": 2200, "password": PASSWORD});
    let (status, patched) = app.call(Method::PATCH, "/Resource/db1.internal", Some(&moved)).await;
    assert_eq!(
        (status, patched["port"].as_u64(), patched["has_password"].as_bool()),
        (StatusCode::OK, Some(2200), Some(true))
    );
    let mut replacement = json!({"hostname": "db1.internal", "port": 2200, "username": "other", "os": "linux"});
    let (status, refused) = app.call(Method::PUT, "/Resource/db1.internal", Some(&replacement)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["details"]["fields"]["password"].is_string(), "{refused}");
    replacement["password"] = json!(PASSWORD);
    let (status, replaced) = app.call(Method::PUT, "/Resource/db1.internal", Some(&replacement)).await;
    assert_eq!(
        (status, replaced["username"].as_str(), replaced["os"].as_str()),
        (StatusCode::OK, Some("other"), Some("linux"))
    );
    let same_place = json!({"hostname": "db1.internal", "port": 2200, "username": "other", "os": "windows"});
    let (status, replaced) = app.call(Method::PUT, "/Resource/db1.internal", Some(&same_place)).await;
    assert_eq!((status, replaced["os"].as_str()), (StatusCode::OK, Some("windows")), "{replaced}");
    assert_eq!(replaced["has_password"], true, "credentials are kept when not resent to the same destination");
    let (status, refused) = app
        .call(Method::PUT, "/Resource/db1.internal", Some(&json!({"hostname": "db1.internal", "name": "other"})))
        .await;
    assert!(
        status == StatusCode::UNPROCESSABLE_ENTITY && refused["error"]["details"]["fields"]["name"].is_string(),
        "{refused}"
    );

    let (_, listed) = app.call(Method::GET, "/Resource", None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    let (_, targets) = app.call(Method::GET, "/api/v1/targets?kind=ssh", None).await;
    assert_eq!(targets["items"][0]["host"], "db1.internal");
    assert_eq!(app.call(Method::DELETE, "/Resource/db1.internal", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, "/Resource/db1.internal", None).await.0, StatusCode::NOT_FOUND);
    let (status, refused) = app.call(Method::POST, "/Resource", Some(&json!({"hostname": "x"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let _: Value = refused;
    app.stop().await;
}

async fn one_host_has_one_resource_even_under_concurrent_creates(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let body = json!({"hostname": "db1.internal", "username": "monitor", "password": PASSWORD, "interval_s": 3600});
    let creates = (0..20).map(|_| app.call(Method::POST, "/Resource", Some(&body)));
    let answers = futures::future::join_all(creates).await;
    let created = answers.iter().filter(|(status, _)| *status == StatusCode::CREATED).count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, answer) in answers.iter().filter(|(status, _)| *status != StatusCode::CREATED) {
        assert_eq!((*status, answer["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{answer}");
    }
    let (_, listed) = app.call(Method::GET, "/Resource", None).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    let resource_id = listed[0]["id"].clone();

    // Through the main API too: a second SSH target named after the host is refused, by creation
    // or by renaming; other checks of the host are fine and leave /Resource/{hostname} unambiguous.
    let named_after =
        json!({"name": "DB1.internal", "kind": "ssh", "host": "db1.internal", "username": "u", "password": PASSWORD});
    let (status, refused) = app.call(Method::POST, "/api/v1/targets", Some(&named_after)).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{refused}");
    let other_check = json!({"name": "db1 uptime", "kind": "ssh", "host": "db1.internal", "username": "u", "password": PASSWORD, "command": "uptime"});
    let other = app.create_target(other_check).await;
    let path = format!("/api/v1/targets/{}", other["id"].as_str().expect("id"));
    let (status, refused) = app.call(Method::PATCH, &path, Some(&json!({"name": "db1.internal"}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")), "{refused}");
    let (status, found) = app.call(Method::GET, "/Resource/db1.internal", None).await;
    assert_eq!((status, found["id"].clone()), (StatusCode::OK, resource_id), "{found}");
    app.stop().await;
}

/// An SSH target whose host, port or user changes must be sent its credentials again: otherwise an
/// admin could point it at a server of their own and read the stored, write-only password there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_destination_needs_the_credentials_again() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let body = json!({
        "name": "db-host", "kind": "ssh", "host": "127.0.0.1", "port": 2222, "username": "monitor",
        "password": PASSWORD, "private_key": private_key(), "interval_s": 3600,
    });
    let created = app.create_target(body).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/targets/{id}");
    let sealed_before = stored_sealed(&app, &id, "password_sealed").await;

    let mut full = created.clone();
    full["host"] = json!("10.9.9.9");
    for (method, body) in [
        (Method::PATCH, json!({"host": "10.9.9.9"})),
        (Method::PATCH, json!({"port": 22})),
        (Method::PATCH, json!({"username": "root"})),
        (Method::PUT, full),
    ] {
        let (status, refused) = app.call(method.clone(), &path, Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{method} {body}: {refused}");
        let fields = &refused["error"]["details"]["fields"];
        assert!(fields["password"].is_string() && fields["private_key"].is_string(), "{method} {body}: {refused}");
    }
    let unchanged = app.target(&id).await;
    assert_eq!((unchanged["host"].as_str(), unchanged["port"].as_u64()), (Some("127.0.0.1"), Some(2222)));
    assert_eq!(stored_sealed(&app, &id, "password_sealed").await, sealed_before, "the stored credential is untouched");

    // Only half of them sent again: the other is still refused; sent again or dropped, it moves.
    let half = json!({"host": "10.9.9.9", "password": "a-password-for-there"});
    let (status, refused) = app.call(Method::PATCH, &path, Some(&half)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(refused["error"]["details"]["fields"]["password"].is_null(), "{refused}");
    let whole = json!({"host": "10.9.9.9", "password": "a-password-for-there", "private_key": null});
    let (status, moved) = app.call(Method::PATCH, &path, Some(&whole)).await;
    assert_eq!((status, moved["host"].as_str()), (StatusCode::OK, Some("10.9.9.9")), "{moved}");
    assert_eq!((moved["has_password"].as_bool(), moved["has_private_key"].as_bool()), (Some(true), Some(false)));
    let sealed = Sealed::parse(&stored_sealed(&app, &id, "password_sealed").await).expect("sealed");
    let opened = ring(&app).open(&sealed, Uuid::parse_str(&id).expect("uuid")).expect("opens");
    assert_eq!(opened.as_slice(), b"a-password-for-there");

    // The same goes for /Resource, whose hostname is the target's host.
    let resource = json!({"hostname": "db2.internal", "username": "monitor", "password": PASSWORD});
    assert_eq!(app.call(Method::POST, "/Resource", Some(&resource)).await.0, StatusCode::CREATED);
    let (status, refused) =
        app.call(Method::PATCH, "/Resource/db2.internal", Some(&json!({"hostname": "db3.internal"}))).await;
    assert!(
        status == StatusCode::UNPROCESSABLE_ENTITY && refused["error"]["details"]["fields"]["password"].is_string(),
        "{refused}"
    );
    let moved = json!({"hostname": "db3.internal", "password": PASSWORD});
    let (status, patched) = app.call(Method::PATCH, "/Resource/db2.internal", Some(&moved)).await;
    assert_eq!((status, patched["hostname"].as_str()), (StatusCode::OK, Some("db3.internal")), "{patched}");
    assert_eq!(app.call(Method::GET, "/Resource/db3.internal", None).await.0, StatusCode::OK);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_reseals_every_credential_and_retires_the_old_key() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let body = json!({"name": "h", "kind": "ssh", "host": "127.0.0.1", "username": "u", "password": PASSWORD, "interval_s": 3600});
    let id = app.create_target(body).await["id"].as_str().expect("id").to_owned();
    let before = Sealed::parse(&stored_sealed(&app, &id, "password_sealed").await).expect("sealed");
    let old_key = before.key_id().to_owned();
    let hook = json!({"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:9/", "secret": PASSWORD});
    let (status, notifier) = app.call(Method::POST, "/api/v1/notifiers", Some(&hook)).await;
    assert_eq!(status, StatusCode::CREATED, "{notifier}");
    let notifier_id: Uuid = notifier["id"].as_str().and_then(|id| id.parse().ok()).expect("notifier id");

    let rotation = healthmon::keys::rotate(&app.settings).await.expect("rotate");
    assert_eq!((rotation.targets_resealed, rotation.notifiers_resealed), (1, 1));
    let stored = app.components.store.get_notifier(notifier_id).await.expect("read").expect("stored");
    let healthmon_domain::alerting::Destination::Webhook(webhook) = &stored.spec.destination else {
        panic!("a webhook")
    };
    let Some(healthmon_domain::Credential::Sealed(secret)) = &webhook.secret else { panic!("a sealed secret") };
    let secret = Sealed::parse(secret).expect("sealed");
    assert_eq!(secret.key_id(), rotation.new_key_id, "the notifier's secret is re-sealed too");
    assert_eq!(ring(&app).open(&secret, notifier_id).expect("opens").as_slice(), PASSWORD.as_bytes());
    assert_ne!(rotation.new_key_id, old_key);
    let after = Sealed::parse(&stored_sealed(&app, &id, "password_sealed").await).expect("sealed");
    assert_eq!(after.key_id(), rotation.new_key_id);
    let opened = ring(&app).open(&after, Uuid::parse_str(&id).expect("uuid")).expect("opens with the new key");
    assert_eq!(opened.as_slice(), PASSWORD.as_bytes());
    assert!(ring(&app).open(&before, Uuid::parse_str(&id).expect("uuid")).is_err(), "the old key is gone");
    assert!(!std::path::Path::new(&app.settings.keys_dir).join(format!("{old_key}.key")).exists());
    let (_, target) = app.call(Method::GET, &format!("/api/v1/targets/{id}"), None).await;
    assert_eq!(target["has_password"], true);
    app.stop().await;
}
