//! The operator's console and the API reference in a real headless Chromium: an admin signs in,
//! creates a target through the form, sees the API's validation error beside the field it names,
//! sees the target turn healthy live, pauses and deletes it; a viewer is shown nothing that
//! changes anything; `/docs` renders with no network but healthmon.

use std::time::Duration;

use fantoccini::Locator;
use healthmon_tests::app::ADMIN_PASSWORD;
use healthmon_tests::browser::{Browser, Screen};
use healthmon_tests::{Mode, TargetServer, TestApp, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn sign_in(browser: &Browser, app: &TestApp, username: &str, password: &str) {
    browser.client.goto(&app.url("/ui")).await.expect("open the console");
    let form = browser.client.wait().for_element(Locator::Css("#login")).await.expect("the sign-in form");
    form.find(Locator::Css("#username")).await.expect("username").send_keys(username).await.expect("type");
    form.find(Locator::Css("#password")).await.expect("password").send_keys(password).await.expect("type");
    form.find(Locator::Css("button[type=submit]")).await.expect("submit").click().await.expect("click");
    browser.client.wait().for_element(Locator::Css("#sign-out")).await.expect("signed in");
}

async fn text_of(browser: &Browser, css: &str) -> String {
    let script = format!("const e = document.querySelector({css:?}); return e ? e.textContent : null");
    browser.eval(&script).await.as_str().unwrap_or_default().to_owned()
}

async fn wait_for_text(browser: &Browser, css: &str, wanted: &str) {
    wait_until(&format!("{css} to read {wanted}"), Duration::from_secs(20), || async {
        text_of(browser, css).await.contains(wanted).then_some(())
    })
    .await;
}

async fn exists(browser: &Browser, css: &str) -> bool {
    browser.eval(&format!("return document.querySelector({css:?}) !== null")).await == json!(true)
}

async fn fill(browser: &Browser, css: &str, value: &str) {
    let input = browser.client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("{css}"));
    input.clear().await.expect("clear");
    input.send_keys(value).await.expect("type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_fixes_watches_pauses_and_deletes_a_target_in_the_console() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let server = TargetServer::start().await;
    let mut shown = Vec::new();
    for (name, group) in [("billing", "Core"), ("search", "Core"), ("cdn", "Edge")] {
        let created = app
            .create_target(json!({"name": name, "group": group, "kind": "http", "url": server.url(), "interval_s": 2,
                                  "healthy_threshold": 1, "tags": ["prod"]}))
            .await;
        shown.push(created["id"].as_str().expect("id").to_owned());
    }
    let browser = Browser::start(Screen::Desktop).await;
    sign_in(&browser, &app, "admin", ADMIN_PASSWORD).await;
    wait_for_text(&browser, "tbody", "billing").await;
    browser.screenshot("console-targets").await;

    browser.client.find(Locator::Css("#new-target")).await.expect("new").click().await.expect("click");
    browser.client.wait().for_element(Locator::Css("#target-form")).await.expect("the form");
    fill(&browser, "#field-name", "shop").await;
    fill(&browser, "#target-form [data-kind=http] [name=url]", "ftp://shop.example").await;
    fill(&browser, "#field-interval_s", "1").await;
    fill(&browser, "#field-healthy_threshold", "1").await;
    browser.client.find(Locator::Css("#save")).await.expect("save").click().await.expect("click");
    // The API's 422 names `url`: its message shows inside the URL field's own row.
    wait_for_text(&browser, "[data-field=url] [data-error-for=url]", "http").await;
    assert_eq!(text_of(&browser, "[data-field=name] [data-error-for=name]").await, "", "no error on name");

    fill(&browser, "#target-form [data-kind=http] [name=url]", &server.url()).await;
    browser.client.find(Locator::Css("#save")).await.expect("save").click().await.expect("click");
    wait_for_text(&browser, "h1", "shop").await;
    let (_, listed) = app.call(Method::GET, "/api/v1/targets?q=shop", None).await;
    let id = listed["items"][0]["id"].as_str().expect("created through the form").to_owned();
    assert_eq!(listed["items"][0]["interval_s"], 1, "{listed}");
    // The page follows the event stream: the status turns healthy without a reload.
    wait_for_text(&browser, "[data-target] [data-status]", "healthy").await;

    browser.client.find(Locator::Css("#pause")).await.expect("pause").click().await.expect("click");
    wait_for_text(&browser, "#pause", "Resume").await;
    assert_eq!(app.target(&id).await["enabled"], json!(false));

    browser.client.find(Locator::Css("#delete")).await.expect("delete").click().await.expect("click");
    browser.client.accept_alert().await.expect("confirm the deletion");
    wait_until("the target to be gone", Duration::from_secs(10), || async {
        let (status, _) = app.call(Method::GET, &format!("/api/v1/targets/{id}"), None).await;
        (status == StatusCode::NOT_FOUND).then_some(())
    })
    .await;

    browser.client.goto(&app.url(&format!("/ui#/targets/{}", shown[0]))).await.expect("a detail page");
    wait_for_text(&browser, "h1", "billing").await;
    wait_for_text(&browser, "ol.changes", "healthy").await;
    browser.screenshot("console-target").await;

    // The reference renders from healthmon alone (Chromium here has no other network).
    browser.client.goto(&app.url("/docs")).await.expect("open /docs");
    let operations = browser.eval("return document.querySelectorAll('article.operation').length").await;
    assert!(operations.as_u64().unwrap_or(0) > 50, "{operations}");
    let styled = browser.eval("return getComputedStyle(document.querySelector('.method-get')).backgroundColor").await;
    assert_ne!(styled, json!("rgba(0, 0, 0, 0)"), "its stylesheet applies");
    browser.stop().await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_the_console_but_is_shown_nothing_that_changes_anything() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let created: Value = app
        .create_target(json!({"name": "watched", "kind": "tcp", "host": "127.0.0.1", "port": 9, "enabled": false}))
        .await;
    let id = created["id"].as_str().expect("id");
    app.user_token("viewer", "viewer").await;
    let browser = Browser::start(Screen::Desktop).await;
    sign_in(&browser, &app, "viewer", "viewer-password-123").await;
    wait_for_text(&browser, "tbody", "watched").await;
    assert!(!exists(&browser, "#new-target").await, "no New target for a viewer");

    browser.client.goto(&app.url(&format!("/ui#/targets/{id}"))).await.expect("detail");
    wait_for_text(&browser, "h1", "watched").await;
    for control in ["#edit", "#pause", "#delete"] {
        assert!(!exists(&browser, control).await, "{control} is not shown to a viewer");
    }
    for page in [format!("#/targets/{id}/edit"), "#/targets/new".to_owned(), "#/notifiers/new".to_owned()] {
        browser.client.goto(&app.url(&format!("/ui{page}"))).await.expect("open");
        browser.client.wait().for_element(Locator::Css("#read-only")).await.expect("read-only notice");
        assert!(!exists(&browser, "form").await, "{page}: no form for a viewer");
    }
    browser.client.goto(&app.url("/ui#/notifiers")).await.expect("notifiers");
    wait_for_text(&browser, "h1", "Notifiers").await;
    assert_eq!(browser.eval("return document.querySelectorAll('main button, main a.button').length").await, json!(0));
    assert_eq!(app.target(id).await["revision"], created["revision"], "nothing changed");
    browser.stop().await;
    app.stop().await;
}
