//! `/openapi.json` and `/docs` as served, and every documented operation answered by the router
//! itself rather than its fallback.

use std::collections::BTreeSet;

use healthmon_tests::{Mode, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Fills path parameters with values that name nothing.
fn concrete(path: &str) -> String {
    path.replace("{id}", &Uuid::new_v4().to_string())
        .replace("{username}", "nobody-at-all")
        .replace("{hostname}", "no-such-host")
}

/// Whether the router's fallbacks answered (no such path, or not this method).
fn unrouted(status: StatusCode, answer: &Value) -> bool {
    status == StatusCode::METHOD_NOT_ALLOWED || answer["error"]["message"] == "no such route"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_lists_exactly_what_the_router_serves() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let (status, document) = app.call_as(None, Method::GET, "/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK, "public, like /livez");
    let version = document["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "{version}");

    // The fallbacks are recognisable, so the check below can fail.
    let (status, answer) = app.call_as(None, Method::GET, "/api/v1/no-such-thing", None).await;
    assert!(unrouted(status, &answer), "{status} {answer}");
    let (status, answer) = app.call_as(None, Method::PATCH, "/webservers", Some(&json!({}))).await;
    assert!(unrouted(status, &answer), "{status} {answer}");

    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys().filter(|key| METHODS.contains(&key.as_str())) {
            let method = method.to_ascii_uppercase();
            let verb = Method::from_bytes(method.as_bytes()).expect("method");
            // Anonymous, so nothing is changed: a 401 proves the route matched as well as a 200.
            let body = (verb != Method::GET).then(|| json!({}));
            if path.ends_with("/events") {
                // An open stream never ends its body: its status says enough.
                let status = app.status_as(None, verb, &concrete(path), None).await;
                assert!([StatusCode::OK, StatusCode::UNAUTHORIZED].contains(&status), "{method} {path}: {status}");
            } else {
                let (status, answer) = app.call_as(None, verb, &concrete(path), body.as_ref()).await;
                assert!(!unrouted(status, &answer), "{method} {path} is documented but not served: {status} {answer}");
            }
            documented.insert((method, path.clone()));
        }
    }
    let (_, routes) = healthmon_api::table().into_parts();
    let served: BTreeSet<(String, String)> =
        routes.iter().map(|route| (route.method.to_owned(), route.path.to_owned())).collect();
    assert_eq!(documented, served);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_is_a_page_that_renders_the_document() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let response = reqwest::get(app.url("/docs")).await.expect("docs");
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(header("content-type").starts_with("text/html"), "{}", header("content-type"));
    let policy = header("content-security-policy");
    assert!(policy.starts_with("default-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    let page = response.text().await.expect("page");
    // Rendered here: every operation and schema is in the page itself, and nothing is loaded from
    // another origin (only the stylesheet, from this one).
    let (_, document) = app.call_as(None, Method::GET, "/openapi.json", None).await;
    for (_, item) in document["paths"].as_object().expect("paths") {
        for (_, operation) in item.as_object().expect("item") {
            let id = operation["operationId"].as_str().expect("operationId");
            assert!(page.contains(&format!("id=\"{id}\"")), "{id} is on the page");
        }
    }
    for name in document["components"]["schemas"].as_object().expect("schemas").keys() {
        assert!(page.contains(&format!("id=\"schema-{name}\"")), "{name} is on the page");
    }
    assert!(!page.contains("<script"), "no script: {page}");
    assert!(!page.contains("src=\"http") && !page.contains("href=\"http"), "nothing from elsewhere");
    let css = reqwest::get(app.url("/docs/docs.css")).await.expect("stylesheet");
    assert_eq!(css.status(), StatusCode::OK);
    app.stop().await;
}
