//! What a hostile probe of the API found, each refused with its JSON error before it reaches a
//! store: NUL characters in bodies, paths and queries; a declared body far over the limit; role
//! fields that are not role names; `/webservers` ids of other kinds of target; methods a route does
//! not have, on the API and on a role-only process.

use std::time::Duration;

use healthmon_tests::{Mode, TestApp, both_modes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

both_modes!(
    nul_characters_are_refused_before_any_store,
    every_method_a_route_lacks_gets_a_json_405,
    a_header_http_cannot_carry_gets_a_json_400_naming_it,
);

/// Checks the status and the error code, and returns the error body.
async fn refused(app: &TestApp, token: Option<&str>, method: Method, path: &str, body: Option<Value>) -> Value {
    let (status, response) = app.call_as(token, method.clone(), path, body.as_ref()).await;
    assert!(status.is_client_error(), "{method} {path} {body:?} -> {status} {response}");
    assert!(response["error"]["message"].is_string(), "{method} {path} -> {response}");
    response
}

/// Asserts a 422 whose details name `field`.
async fn invalid_field(app: &TestApp, token: Option<&str>, method: Method, path: &str, body: Value, field: &str) {
    let response = refused(app, token, method.clone(), path, Some(body)).await;
    assert_eq!(response["error"]["code"], "validation_failed", "{method} {path} -> {response}");
    assert!(response["error"]["details"]["fields"][field].is_string(), "{method} {path} names {field}: {response}");
}

async fn nul_characters_are_refused_before_any_store(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let admin = Some(app.admin_token.as_str());
    let web = json!({"name": "web", "kind": "http", "url": "http://127.0.0.1:1/", "interval_s": 3600});
    let id = app.create_target(web.clone()).await["id"].as_str().expect("id").to_owned();
    let one = format!("/api/v1/targets/{id}");

    // In a body: any string, however deep, and any field name.
    let mut with_nul = web.clone();
    with_nul["body_contains"] = json!("ok\0");
    invalid_field(&app, admin, Method::POST, "/api/v1/targets", with_nul.clone(), "body_contains").await;
    invalid_field(&app, admin, Method::PUT, &one, with_nul, "body_contains").await;
    invalid_field(&app, admin, Method::PATCH, &one, json!({"body_contains": "\0"}), "body_contains").await;
    invalid_field(&app, admin, Method::PATCH, &one, json!({"headers": {"X-Key": "v\0"}}), "headers.X-Key").await;
    invalid_field(&app, admin, Method::PATCH, &one, json!({"tags": ["a", "b\0"]}), "tags.1").await;
    invalid_field(&app, admin, Method::PATCH, &one, json!({"na\0me": "x"}), "na\\0me").await;

    let resource = json!({"hostname": "db1.internal", "username": "monitor", "password": "pw-1234567890"});
    let mut resource_with_nul = resource.clone();
    resource_with_nul["expect_output"] = json!("^ok\0$");
    invalid_field(&app, admin, Method::POST, "/Resource", resource_with_nul, "expect_output").await;
    assert_eq!(app.call(Method::POST, "/Resource", Some(&resource)).await.0, StatusCode::CREATED);
    let patch = json!({"expect_output": "\0"});
    invalid_field(&app, admin, Method::PATCH, "/Resource/db1.internal", patch, "expect_output").await;

    invalid_field(&app, admin, Method::POST, "/api/v1/tokens", json!({"name": "ci\0"}), "name").await;
    let login = json!({"username": "ad\0min", "password": "whatever-it-is"});
    invalid_field(&app, None, Method::POST, "/api/v1/auth/login", login.clone(), "username").await;
    invalid_field(&app, None, Method::POST, "/Login", login, "username").await;

    // In a query value or a path segment: 400, naming the parameter.
    for parameter in ["q", "tag", "kind"] {
        let path = format!("/api/v1/targets?limit=10&{parameter}=%00");
        let response = refused(&app, admin, Method::GET, &path, None).await;
        assert_eq!(response["error"]["code"], "invalid_query", "{path}: {response}");
        assert_eq!(response["error"]["details"]["parameter"], parameter, "{path}: {response}");
    }
    let response = refused(&app, admin, Method::DELETE, "/api/v1/users/a%00b", None).await;
    assert_eq!(response["error"]["code"], "invalid_path", "{response}");
    let response = refused(&app, None, Method::GET, "/healthz?tag=%00", None).await;
    assert_eq!(response["error"]["code"], "invalid_query", "{response}");

    // Nothing was stored or changed, and the store still answers every kind of read.
    let (status, listed) = app.call(Method::GET, "/api/v1/targets?q=we", None).await;
    assert_eq!((status, listed["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{listed}");
    let target = app.target(&id).await;
    assert_eq!((target["body_contains"].clone(), target["tags"].clone()), (Value::Null, json!([])), "{target}");
    let (_, tokens) = app.call(Method::GET, "/api/v1/tokens", None).await;
    assert_eq!(tokens["items"], json!([]), "{tokens}");
    app.stop().await;
}

async fn every_method_a_route_lacks_gets_a_json_405(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let api = format!("http://{}", app.addr);
    let mut processes = vec![(api, vec!["/healthz", "/livez", "/readyz", "/metrics", "/api/v1/targets"])];
    // A role-only process serves its operational routes alone.
    if let Some(prober) = app.prober_addr() {
        processes.push((format!("http://{prober}"), vec!["/livez", "/readyz", "/metrics"]));
    }
    let client = reqwest::Client::new();
    for (base, paths) in &processes {
        for path in paths {
            for method in [Method::OPTIONS, Method::PUT] {
                let response = client.request(method.clone(), format!("{base}{path}")).send().await.expect("request");
                let status = response.status();
                let allow = response.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body: Value = response.json().await.unwrap_or(Value::Null);
                assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {base}{path}");
                assert!(allow.is_some_and(|allow| allow.contains("GET")), "{method} {base}{path}: Allow");
                assert_eq!(body["error"]["code"], "method_not_allowed", "{method} {base}{path}: {body}");
            }
        }
        let response = client.get(format!("{base}/no/such/route")).send().await.expect("request");
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{base}");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(body["error"]["code"], "not_found", "{base}: {body}");
    }
    app.stop().await;
}

/// Sends `head` (no body follows) on a raw connection and reads the answer, failing after `limit`.
async fn raw_exchange(addr: std::net::SocketAddr, head: &[u8], limit: Duration) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head).await.expect("send the head");
    let mut received = Vec::new();
    let read = async {
        let mut buffer = [0u8; 4096];
        loop {
            let n = stream.read(&mut buffer).await.expect("read");
            received.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&received);
            let complete = text.split_once("\r\n\r\n").is_some_and(|(headers, body)| {
                let length = headers
                    .lines()
                    .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(str::to_owned))
                    .and_then(|value| value.trim().parse::<usize>().ok());
                length.is_some_and(|length| body.len() >= length)
            });
            if n == 0 || complete {
                break;
            }
        }
    };
    tokio::time::timeout(limit, read).await.expect("an answer before the deadline");
    let text = String::from_utf8_lossy(&received).into_owned();
    let status = text.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("a status line");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// hyper refuses such a request before any service runs; the answer still carries the JSON body,
/// on the API's listener and on a role-only process's.
async fn a_header_http_cannot_carry_gets_a_json_400_naming_it(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let mut requests: Vec<(std::net::SocketAddr, String, &str)> = vec![
        (app.addr, "GET /livez HTTP/1.1\r\nhost: x\r\nx-request-id: a\x7fb\r\n\r\n".into(), "x-request-id"),
        (
            app.addr,
            format!(
                "GET /api/v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\nlast-event-id: 7\x7f\r\n\r\n",
                app.admin_token
            ),
            "last-event-id",
        ),
    ];
    if let Some(prober) = app.prober_addr() {
        requests.push((
            prober,
            "GET /metrics HTTP/1.1\r\nhost: x\r\nx-request-id: \x01\r\n\r\n".into(),
            "x-request-id",
        ));
    }
    for (addr, head, header) in requests {
        let (status, body) = raw_exchange(addr, head.as_bytes(), Duration::from_secs(5)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_header")), "{head:?}: {body}");
        assert_eq!(body["error"]["details"]["header"], header, "{body}");
    }
    let (status, body) = raw_exchange(app.addr, b"GET /a b HTTP/1.1\r\nhost: x\r\n\r\n", Duration::from_secs(5)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_body_over_the_limit_is_refused_at_once() {
    let app = TestApp::spawn(Mode::Embedded).await;
    for (method, path) in [("POST", "/api/v1/targets"), ("PUT", "/Resource/x"), ("POST", "/api/v1/auth/login")] {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nhost: healthmon\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\ncontent-length: 99999999999\r\n\r\n",
            app.admin_token
        );
        // Well inside the 30 s request time limit, which answered 503 before.
        let (status, body) = raw_exchange(app.addr, head.as_bytes(), Duration::from_secs(5)).await;
        assert_eq!((status, body["error"]["code"].as_str()), (413, Some("payload_too_large")), "{method} {path}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_must_be_role_names() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let admin = Some(app.admin_token.as_str());
    for role in [json!(false), json!(1), json!(["admin"]), json!(null), json!("root"), json!("Admin")] {
        let token = json!({"name": "ci", "role": role});
        invalid_field(&app, admin, Method::POST, "/api/v1/tokens", token, "role").await;
        let user = json!({"username": "someone", "password": "a-long-enough-password", "role": role});
        invalid_field(&app, admin, Method::POST, "/api/v1/users", user, "role").await;
    }
    // Absent, each takes its documented default: a token its owner's role, a user viewer.
    let (status, token) = app.call(Method::POST, "/api/v1/tokens", Some(&json!({"name": "ci"}))).await;
    assert_eq!((status, token["role"].as_str()), (StatusCode::CREATED, Some("admin")), "{token}");
    let user = json!({"username": "someone", "password": "a-long-enough-password"});
    let (status, user) = app.call(Method::POST, "/api/v1/users", Some(&user)).await;
    assert_eq!((status, user["role"].as_str()), (StatusCode::CREATED, Some("viewer")), "{user}");
    let (status, token) =
        app.call(Method::POST, "/api/v1/tokens", Some(&json!({"name": "ro", "role": "viewer"}))).await;
    assert_eq!((status, token["role"].as_str()), (StatusCode::CREATED, Some("viewer")), "{token}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webservers_see_http_targets_only() {
    let app = TestApp::spawn(Mode::Embedded).await;
    for other in [
        json!({"name": "files", "kind": "ssh", "host": "127.0.0.1", "username": "u", "password": "pw-1234567890", "interval_s": 3600}),
        json!({"name": "port", "kind": "tcp", "host": "127.0.0.1", "port": 1, "interval_s": 3600}),
    ] {
        let id = app.create_target(other.clone()).await["id"].as_str().expect("id").to_owned();
        let one = format!("/webservers/{id}");
        let rename = json!({"name": "renamed", "url": "http://127.0.0.1:2/"});
        for (method, path, body) in [
            (Method::GET, one.clone(), None),
            (Method::PUT, one.clone(), Some(rename)),
            (Method::DELETE, one.clone(), None),
            (Method::GET, format!("{one}/requests"), None),
        ] {
            let (status, response) = app.call(method.clone(), &path, body.as_ref()).await;
            assert_eq!(
                (status, response["error"]["code"].as_str()),
                (StatusCode::NOT_FOUND, Some("not_found")),
                "{method} {path}"
            );
        }
        let (_, listed) = app.call(Method::GET, "/webservers", None).await;
        assert_eq!(listed, json!([]), "only HTTP targets are listed");
        assert_eq!(app.target(&id).await["name"], other["name"], "neither renamed nor deleted");
    }
    app.stop().await;
}
