//! The public status page, its JSON, its live stream and badges, read without a token: they show
//! public targets only, narrow by tag and group, change within seconds of a health change, and
//! are 404s when turned off.

use std::time::Duration;

use futures::StreamExt;
use healthmon_tests::{Mode, TargetServer, TestApp, both_modes, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_modes!(the_status_page_shows_public_targets_only_and_streams_their_changes, badges_draw_public_targets_only);

fn anonymous() -> reqwest::Client {
    reqwest::Client::new()
}

/// Every target name the status JSON lists, group by group.
fn listed(page: &Value) -> Vec<(Value, String)> {
    let groups = page["groups"].as_array().unwrap_or_else(|| panic!("groups: {page}"));
    groups
        .iter()
        .flat_map(|group| {
            let targets = group["targets"].as_array().cloned().unwrap_or_default();
            targets.into_iter().map(|target| (group["name"].clone(), target["name"].as_str().unwrap_or("").to_owned()))
        })
        .collect()
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let response = anonymous().get(app.url(path)).send().await.expect("request");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    response.json().await.expect("JSON")
}

/// Reads the stream until a `status.changed` event about `id`; returns it and every event before.
async fn next_change_of(
    body: &mut (impl futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
    buffer: &mut String,
    id: &str,
) -> (Value, Vec<Value>) {
    let mut before = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(chunk) = body.next().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk.expect("SSE chunk")));
            while let Some(end) = buffer.find("\n\n") {
                let frame: String = buffer.drain(..end + 2).collect();
                if !frame.contains("event: status.changed") {
                    continue;
                }
                let data: String = frame.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                let event: Value = serde_json::from_str(&data).expect("event JSON");
                if event["target_id"] == json!(id) {
                    return (event, before);
                }
                before.push(event);
            }
        }
        panic!("the status stream ended");
    })
    .await
    .expect("a status change within 20 s")
}

async fn the_status_page_shows_public_targets_only_and_streams_their_changes(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let fast = |name: &str| {
        json!({"name": name, "kind": "http", "url": server.url(), "interval_s": 1, "healthy_threshold": 1,
               "unhealthy_threshold": 1})
    };

    let response = anonymous().get(app.url("/api/v1/status/events")).send().await.expect("open the stream");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.bytes_stream();
    let mut buffer = String::new();

    // A private target changes first: had its change leaked, it would be in the stream before
    // the public one's.
    let private = app.create_target(fast("secret-db")).await;
    let private_id = private["id"].as_str().expect("id").to_owned();
    app.wait_for_status(&private_id, "healthy", Duration::from_secs(20)).await;
    let mut web = fast("Web");
    web["group"] = json!("Core");
    web["public"] = json!(true);
    web["tags"] = json!(["prod"]);
    let web = app.create_target(web).await;
    assert_eq!((&web["group"], &web["public"]), (&json!("Core"), &json!(true)), "{web}");
    let web_id = web["id"].as_str().expect("id").to_owned();
    let edge = app
        .create_target(json!({"name": "edge", "kind": "tcp", "host": "127.0.0.1", "port": 9, "public": true,
                              "enabled": false}))
        .await;

    let (became_healthy, before) = next_change_of(&mut body, &mut buffer, &web_id).await;
    assert_eq!((&became_healthy["from"], &became_healthy["to"]), (&json!("unknown"), &json!("healthy")));
    assert_eq!(became_healthy["name"], "Web");
    assert!(before.iter().all(|event| event["target_id"] != json!(private_id)), "{before:?}");
    assert!(became_healthy.get("reason").is_none(), "no reason on the public stream: {became_healthy}");

    // The JSON lists the public targets only, named groups first.
    let page = get_json(&app, "/api/v1/status").await;
    assert_eq!(listed(&page), [(json!("Core"), "Web".to_owned()), (Value::Null, "edge".to_owned())], "{page}");
    assert_eq!(page["title"], "Status");
    let shown = &page["groups"][0]["targets"][0];
    assert_eq!((&shown["status"], &shown["key"]), (&json!("healthy"), &json!("core_web")), "{shown}");
    assert_eq!(page["groups"][1]["targets"][0]["status"], "paused", "{page}");
    assert_eq!(shown["days"].as_array().map(Vec::len), Some(90), "{shown}");
    assert!(shown.get("url").is_none(), "how a target is checked is not public: {shown}");
    assert!(!page.to_string().contains("secret-db"), "{page}");
    assert!(!page.to_string().contains(&private_id), "{page}");
    assert_eq!(page["counts"]["healthy"], 1, "{page}");
    assert_eq!(page["counts"]["paused"], 1, "{page}");
    let transitions = page["transitions"].as_array().expect("transitions");
    assert!(transitions.iter().any(|t| t["target_id"] == json!(web_id) && t["to"] == "healthy"), "{page}");

    // Narrowed by group and by tag.
    let core = get_json(&app, "/api/v1/status?group=Core").await;
    assert_eq!(listed(&core), [(json!("Core"), "Web".to_owned())]);
    let untagged = get_json(&app, "/api/v1/status?tag=nothing-has-it").await;
    assert_eq!(listed(&untagged), Vec::<(Value, String)>::new());

    // The HTML page: the same targets, as text, under a policy that loads nothing from elsewhere.
    let response = anonymous().get(app.url("/status")).send().await.expect("the page");
    assert_eq!(response.status(), StatusCode::OK);
    let policy = response.headers()["content-security-policy"].to_str().expect("policy").to_owned();
    assert!(policy.starts_with("default-src 'self'"), "{policy}");
    assert!(response.headers()["content-type"].to_str().unwrap_or("").starts_with("text/html"));
    let html = response.text().await.expect("HTML");
    assert!(html.contains(">Web<") && html.contains(">edge<") && html.contains(">healthy<"), "{html}");
    assert!(!html.contains("secret-db"), "{html}");
    assert!(!html.contains("http://") && !html.contains("https://"), "no other origin is named: {html}");
    // As a browser asks for it: compressed, and said to vary with what the client accepts.
    let compressed =
        anonymous().get(app.url("/status")).header("accept-encoding", "gzip").send().await.expect("the page, gzip");
    assert_eq!(compressed.headers()["content-encoding"], "gzip");
    assert_eq!(compressed.headers()["vary"], "accept-encoding");
    let packed = compressed.bytes().await.expect("gzip body");
    assert!(packed.starts_with(&[0x1f, 0x8b]) && packed.len() < html.len(), "{} bytes", packed.len());
    for asset in ["/status/assets/status.css", "/status/assets/status.js"] {
        let response = anonymous().get(app.url(asset)).send().await.expect("asset");
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }
    let (status, error) = app.call_as(None, Method::GET, "/status/assets/secrets.txt", None).await;
    assert_eq!((status, &error["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{error}");

    // An alert rule on the public target: its incident shows on the page once triggered.
    let hook = json!({"name": "hook", "kind": "webhook", "url": format!("{}/hook", server.url())});
    let (status, notifier) = app.call(Method::POST, "/api/v1/notifiers", Some(&hook)).await;
    assert_eq!(status, StatusCode::CREATED, "{notifier}");
    let rule = json!({"name": "web down", "notifiers": [notifier["id"]], "selector": {"targets": [web_id]}});
    let (status, rule) = app.call(Method::POST, "/api/v1/alerts", Some(&rule)).await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    assert_eq!(get_json(&app, "/api/v1/status").await["groups"][0]["targets"][0]["incident"], Value::Null);

    // A failure reaches the stream as it happens.
    server.set_status(500);
    let (became_unhealthy, _) = next_change_of(&mut body, &mut buffer, &web_id).await;
    assert_eq!((&became_unhealthy["from"], &became_unhealthy["to"]), (&json!("healthy"), &json!("unhealthy")));
    let page = get_json(&app, "/api/v1/status").await;
    assert_eq!(page["groups"][0]["targets"][0]["status"], "unhealthy", "statuses are current: {page}");
    let incident = wait_until("the incident to show", Duration::from_secs(15), || async {
        let page = get_json(&app, "/api/v1/status").await;
        let incident = page["groups"][0]["targets"][0]["incident"].clone();
        (!incident.is_null()).then_some(incident)
    })
    .await;
    assert!(incident["since"].is_string() && incident["triggered_at"].is_string(), "{incident}");
    let html = anonymous().get(app.url("/status")).send().await.expect("page").text().await.expect("HTML");
    assert!(html.contains("Incident: not healthy since"), "{html}");

    // Turning a target private takes it off the page.
    let edge_path = format!("/api/v1/targets/{}", edge["id"].as_str().expect("id"));
    let (status, _) = app.call(Method::PATCH, &edge_path, Some(&json!({"public": false}))).await;
    assert_eq!(status, StatusCode::OK);
    // The page is rendered once per change and kept: the change reaches it within seconds.
    wait_until("the page to drop the private target", Duration::from_secs(5), || async {
        let page = get_json(&app, "/api/v1/status").await;
        (listed(&page) == [(json!("Core"), "Web".to_owned())]).then_some(())
    })
    .await;
    app.stop().await;
}

async fn badges_draw_public_targets_only(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let public = app
        .create_target(json!({"name": "Front End", "group": "Core", "public": true, "kind": "http",
                              "url": server.url(), "interval_s": 1, "healthy_threshold": 1}))
        .await;
    let public_id = public["id"].as_str().expect("id").to_owned();
    let private =
        app.create_target(json!({"name": "hidden", "kind": "http", "url": server.url(), "interval_s": 1})).await;
    let private_id = private["id"].as_str().expect("id").to_owned();
    app.wait_for_status(&public_id, "healthy", Duration::from_secs(20)).await;
    wait_until("a few probes", Duration::from_secs(20), || async { (server.hits() >= 4).then_some(()) }).await;

    for (path, words) in [
        (format!("/badge/{public_id}/status.svg"), "healthy"),
        (format!("/badge/{public_id}/uptime/7d.svg"), "uptime 7d"),
        (format!("/badge/{public_id}/response-time/24h.svg"), " ms"),
        ("/api/v1/endpoints/core_front-end/health/badge.svg".to_owned(), "healthy"),
        ("/api/v1/endpoints/core_front-end/uptimes/1h/badge.svg".to_owned(), "100%"),
        ("/api/v1/endpoints/CORE_Front-End/response-times/30d/badge.svg".to_owned(), "response time 30d"),
    ] {
        let response = anonymous().get(app.url(&path)).send().await.expect("badge");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "image/svg+xml", "{path}");
        assert_eq!(headers["cache-control"], "no-cache, no-store, must-revalidate", "{path}");
        let svg = response.text().await.expect("SVG");
        assert!(svg.starts_with("<svg") && svg.contains(words), "{path}: {svg}");
    }
    for path in [
        format!("/badge/{private_id}/status.svg"),
        format!("/badge/{private_id}/uptime/24h.svg"),
        format!("/badge/{public_id}/uptime/2d.svg"),
        format!("/badge/{public_id}/uptime/1h.svg"),
        "/badge/not-an-id/status.svg".to_owned(),
        "/api/v1/endpoints/_hidden/health/badge.svg".to_owned(),
        "/api/v1/endpoints/core_front-end/uptimes/2h/badge.svg".to_owned(),
    ] {
        let (status, error) = app.call_as(None, Method::GET, &path, None).await;
        assert_eq!((status, &error["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{path}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_turned_off_status_page_is_a_404_and_a_title_is_kept() {
    let off = TestApp::spawn_with(Mode::Embedded, |settings| settings.status_page = false).await;
    let created = off
        .create_target(json!({"name": "shown", "kind": "tcp", "host": "127.0.0.1", "port": 9, "public": true,
                              "enabled": false}))
        .await;
    let id = created["id"].as_str().expect("id");
    for path in [
        "/status".to_owned(),
        "/api/v1/status".to_owned(),
        "/api/v1/status/events".to_owned(),
        "/status/assets/status.js".to_owned(),
        format!("/badge/{id}/status.svg"),
        "/api/v1/endpoints/_shown/health/badge.svg".to_owned(),
    ] {
        let (status, error) = off.call_as(None, Method::GET, &path, None).await;
        assert_eq!((status, &error["error"]["code"]), (StatusCode::NOT_FOUND, &json!("not_found")), "{path}");
    }
    off.stop().await;

    let titled =
        TestApp::spawn_with(Mode::Embedded, |settings| settings.status_title = "Acme <Systems>".to_owned()).await;
    let page = get_json(&titled, "/api/v1/status").await;
    assert_eq!(page["title"], "Acme <Systems>");
    let html = anonymous().get(titled.url("/status")).send().await.expect("page").text().await.expect("HTML");
    assert!(html.contains("<title>Acme &lt;Systems&gt;</title>"), "{html}");
    titled.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_and_public_are_validated_and_keep_health() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let server = TargetServer::start().await;
    let bad = json!({"name": "g", "kind": "http", "url": server.url(), "group": "x".repeat(101), "public": "yes"});
    let (status, error) = app.call(Method::POST, "/api/v1/targets", Some(&bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    let fields = &error["error"]["details"]["fields"];
    assert!(fields.get("group").is_some() && fields.get("public").is_some(), "{error}");

    let created = app
        .create_target(json!({"name": "kept", "kind": "http", "url": server.url(), "interval_s": 1,
                              "healthy_threshold": 1, "group": "  "}))
        .await;
    assert_eq!((&created["group"], &created["public"]), (&Value::Null, &json!(false)), "blank is no group");
    let id = created["id"].as_str().expect("id").to_owned();
    app.wait_for_status(&id, "healthy", Duration::from_secs(20)).await;
    let path = format!("/api/v1/targets/{id}");
    let (status, patched) = app.call(Method::PATCH, &path, Some(&json!({"group": "Edge", "public": true}))).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!((&patched["group"], &patched["public"]), (&json!("Edge"), &json!(true)));
    assert_eq!(patched["health"]["status"], "healthy", "neither resets health: {patched}");
    let (_, ungrouped) = app.call(Method::PATCH, &path, Some(&json!({"group": null}))).await;
    assert_eq!(ungrouped["group"], Value::Null, "{ungrouped}");
    app.stop().await;
}
