//! Bad input gets a clear JSON error with the right status: never a 500, never a panic.

use healthmon_tests::{Mode, TestApp, both_modes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_modes!(every_invalid_input_gets_its_json_error);

async fn expect_error(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: StatusCode,
    code: &str,
) -> Value {
    let (got, response) = app.call(method.clone(), path, body.as_ref()).await;
    assert_eq!(got, status, "{method} {path} {body:?} -> {response}");
    assert_eq!(response["error"]["code"], code, "{method} {path} -> {response}");
    assert!(response["error"]["message"].is_string(), "{response}");
    response
}

async fn raw(app: &TestApp, content_type: Option<&str>, body: Vec<u8>) -> (StatusCode, Value) {
    let mut request = app.http.post(app.url("/api/v1/targets")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn every_invalid_input_gets_its_json_error(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let targets = "/api/v1/targets";
    let unknown = format!("{targets}/{}", uuid::Uuid::new_v4());

    let (status, body) = raw(&app, Some("application/json"), b"{\"name\": ".to_vec()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (status, body) = raw(&app, None, b"{}".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupported_media_type"))
    );
    let deeply_nested = format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes();
    let (status, body) = raw(&app, Some("application/json"), deeply_nested).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (status, body) = raw(&app, Some("application/json"), vec![b' '; 70 * 1024]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));

    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let response = expect_error(&app, Method::POST, targets, Some(json!({})), unprocessable, "validation_failed").await;
    let fields = &response["error"]["details"]["fields"];
    assert!(fields["name"].is_string() && fields["kind"].is_string(), "{response}");

    let base = json!({"name": "x", "kind": "http", "url": "http://127.0.0.1:1/"});
    let cases: Vec<(&str, Value)> = vec![
        ("url", json!(null)),
        ("url", json!("ftp://example.com/")),
        ("url", json!("not a url")),
        ("kind", json!("smtp")),
        ("interval_s", json!(0)),
        ("interval_s", json!(3601)),
        ("interval_s", json!("60")),
        ("timeout_s", json!(301)),
        ("healthy_threshold", json!(0)),
        ("unhealthy_threshold", json!(101)),
        ("expected_status", json!("abc")),
        ("method", json!("POST")),
        ("tags", json!("payments")),
        ("enabled", json!("yes")),
        ("headers", json!(["x"])),
        ("name", json!("")),
        ("surprise", json!(1)),
    ];
    for (field, value) in cases {
        let mut body = base.clone();
        if value.is_null() {
            body.as_object_mut().map(|o| o.remove(field));
        } else {
            body[field] = value.clone();
        }
        let response = expect_error(&app, Method::POST, targets, Some(body), unprocessable, "validation_failed").await;
        assert!(response["error"]["details"]["fields"][field].is_string(), "{field}={value}: {response}");
    }
    expect_error(&app, Method::POST, targets, Some(json!([1])), unprocessable, "validation_failed").await;

    let not_found = StatusCode::NOT_FOUND;
    expect_error(&app, Method::GET, &unknown, None, not_found, "not_found").await;
    expect_error(&app, Method::GET, &format!("{targets}/not-a-uuid"), None, not_found, "not_found").await;
    expect_error(&app, Method::PUT, &unknown, Some(base.clone()), not_found, "not_found").await;
    expect_error(&app, Method::PATCH, &unknown, Some(json!({"name": "y"})), not_found, "not_found").await;
    expect_error(&app, Method::DELETE, &unknown, None, not_found, "not_found").await;
    expect_error(&app, Method::GET, &format!("{unknown}/samples"), None, not_found, "not_found").await;
    expect_error(&app, Method::GET, "/no/such/route", None, not_found, "not_found").await;
    expect_error(&app, Method::DELETE, targets, None, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    for query in ["limit=0", "limit=1001", "limit=ten", "status=sleepy", "cursor=zzz"] {
        let path = format!("{targets}?{query}");
        expect_error(&app, Method::GET, &path, None, unprocessable, "validation_failed").await;
    }
    let created = app.create_target(base.clone()).await;
    let path = format!("{targets}/{}", created["id"].as_str().expect("id"));
    for query in ["from=yesterday", "to=2026-13-01T00:00:00Z", "cursor=abc", "limit=5000"] {
        let samples = format!("{path}/samples?{query}");
        expect_error(&app, Method::GET, &samples, None, unprocessable, "validation_failed").await;
    }
    expect_error(&app, Method::PATCH, &path, Some(json!([1, 2])), unprocessable, "validation_failed").await;
    expect_error(&app, Method::PATCH, &path, Some(json!({"interval_s": -1})), unprocessable, "validation_failed").await;
    expect_error(&app, Method::PUT, &path, Some(json!({"name": "only a name"})), unprocessable, "validation_failed")
        .await;
    expect_error(&app, Method::DELETE, &format!("{path}?keep_history=maybe"), None, unprocessable, "validation_failed")
        .await;

    // The target survived every bad edit unchanged.
    assert_eq!(app.target(created["id"].as_str().expect("id")).await["name"], "x");
    app.stop().await;
}
