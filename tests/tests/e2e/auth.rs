//! Authentication and authorization end to end: logins, tokens, roles on every route, the last
//! admin, the login limiter, and the predecessor's HealthChecker routes.

use chrono::Duration;
use healthmon_api::routes::table::Access;
use healthmon_store::accounts::{Role, Token, TokenKind};
use healthmon_tests::{Mode, TestApp, both_modes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

both_modes!(
    login_logout_and_expiry,
    api_tokens_are_scoped_and_revocable,
    every_route_answers_401_and_403_by_its_rule,
    the_last_admin_cannot_be_deleted_and_users_show_no_secrets,
    repeated_failed_logins_are_throttled,
    healthchecker_routes_work_end_to_end,
    a_protected_healthz_needs_a_token,
    refused_target_addresses_are_422,
);

async fn login_logout_and_expiry(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let login = |body: Value| {
        let app = &app;
        async move { app.call_as(None, Method::POST, "/api/v1/auth/login", Some(&body)).await }
    };
    let (status, wrong) = login(json!({"username": "admin", "password": "not-the-password"})).await;
    assert_eq!((status, wrong["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    let (status, unknown) = login(json!({"username": "nobody", "password": "whatever-it-is"})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown["error"]["message"], wrong["error"]["message"], "unknown users look like wrong passwords");
    let (status, _) = login(json!({"username": "admin"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, ok) = login(json!({"username": "admin", "password": healthmon_tests::app::ADMIN_PASSWORD})).await;
    assert_eq!(status, StatusCode::OK);
    let token = ok["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("hm_") && token.len() >= 40);
    let expires = chrono::DateTime::parse_from_rfc3339(ok["expires_at"].as_str().expect("expires_at")).expect("time");
    let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((11.9..=12.0).contains(&hours), "12 h sessions by default, got {hours}");

    assert_eq!(app.call_as(Some(&token), Method::GET, "/api/v1/targets", None).await.0, StatusCode::OK);
    let (status, denied) = app.call_as(None, Method::GET, "/api/v1/targets", None).await;
    assert_eq!((status, denied["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    assert_eq!(app.call_as(Some("hm_forged"), Method::GET, "/api/v1/targets", None).await.0, StatusCode::UNAUTHORIZED);

    assert_eq!(app.call_as(Some(&token), Method::POST, "/api/v1/auth/logout", None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call_as(Some(&token), Method::GET, "/api/v1/targets", None).await.0, StatusCode::UNAUTHORIZED);

    // An expired token, planted directly in the store, is refused.
    let issued = healthmon_api::auth::tokens::issue();
    let now = healthmon_store::now();
    let expired = Token {
        id: Uuid::now_v7(),
        hash: issued.hash,
        username: "admin".into(),
        role: Role::Admin,
        kind: TokenKind::Session,
        name: None,
        created_at: now - Duration::hours(13),
        expires_at: Some(now - Duration::hours(1)),
        last_used_at: None,
    };
    app.components.store.create_token(&expired).await.expect("plant token");
    assert_eq!(
        app.call_as(Some(&issued.secret), Method::GET, "/api/v1/targets", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
}

async fn api_tokens_are_scoped_and_revocable(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (status, created) = app
        .call(Method::POST, "/api/v1/tokens", Some(&json!({"name": "ci", "role": "viewer", "expires_in_days": 30})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let secret = created["token"].as_str().expect("token shown once").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();

    assert_eq!(app.call_as(Some(&secret), Method::GET, "/api/v1/targets", None).await.0, StatusCode::OK);
    let body = json!({"name": "x", "kind": "http", "url": "http://127.0.0.1:1/"});
    assert_eq!(app.call_as(Some(&secret), Method::POST, "/api/v1/targets", Some(&body)).await.0, StatusCode::FORBIDDEN);
    let (status, refused) =
        app.call_as(Some(&secret), Method::POST, "/api/v1/tokens", Some(&json!({"name": "up", "role": "admin"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "no token above its owner's role: {refused}");

    let (_, listed) = app.call(Method::GET, "/api/v1/tokens", None).await;
    let listed = listed["items"].as_array().expect("items");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].get("token").is_none() && listed[0].get("hash").is_none(), "{listed:?}");
    assert!(!listed[0].to_string().contains(&secret));

    assert_eq!(app.call(Method::DELETE, &format!("/api/v1/tokens/{id}"), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.call_as(Some(&secret), Method::GET, "/api/v1/targets", None).await.0, StatusCode::UNAUTHORIZED);
    app.stop().await;
}

/// Fills path parameters with values that name nothing.
fn concrete(path: &str) -> String {
    path.replace("{id}", &Uuid::new_v4().to_string())
        .replace("{username}", "nobody-at-all")
        .replace("{hostname}", "no-such-host")
}

async fn every_route_answers_401_and_403_by_its_rule(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let viewer = app.user_token("viewer-1", "viewer").await;
    let (_, docs) = healthmon_api::table().into_parts();
    assert!(docs.len() >= 30, "the table lists every route");
    for doc in &docs {
        let method = Method::from_bytes(doc.method.as_bytes()).expect("method");
        let path = concrete(doc.path);
        let body = (method != Method::GET).then(|| json!({}));
        let described = format!("{} {} ({:?})", doc.method, doc.path, doc.access);
        if doc.path == "/api/v1/auth/logout" {
            continue; // Revokes the very token it carries: covered on its own above.
        }
        let anonymous = app.status_as(None, method.clone(), &path, body.as_ref()).await;
        let as_viewer = app.status_as(Some(&viewer), method.clone(), &path, body.as_ref()).await;
        let as_admin = app.status_as(Some(&app.admin_token), method.clone(), &path, body.as_ref()).await;
        for status in [anonymous, as_viewer, as_admin] {
            assert!(
                !status.is_server_error()
                    || doc.path == "/healthz"
                    || doc.path == "/IsHealthy"
                    || doc.path == "/readyz",
                "{described}: {status}"
            );
        }
        match doc.access {
            Access::Public | Access::HealthCheck => assert_ne!(anonymous, StatusCode::UNAUTHORIZED, "{described}"),
            Access::Reader | Access::Admin => assert_eq!(anonymous, StatusCode::UNAUTHORIZED, "{described}"),
        }
        match doc.access {
            Access::Admin => assert_eq!(as_viewer, StatusCode::FORBIDDEN, "{described}"),
            _ => assert!(
                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&as_viewer),
                "{described}: {as_viewer}"
            ),
        }
        assert!(![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN].contains(&as_admin), "{described}: {as_admin}");
        // A write a viewer may not make must be refused whatever it says.
        if ["POST", "PUT", "PATCH", "DELETE"].contains(&doc.method) && doc.access == Access::Reader {
            assert!(
                doc.path.starts_with("/api/v1/tokens") || doc.path.starts_with("/api/v1/auth"),
                "{described} lets viewers write"
            );
        }
    }
    app.stop().await;
}

async fn the_last_admin_cannot_be_deleted_and_users_show_no_secrets(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let (status, conflict) = app.call(Method::DELETE, "/api/v1/users/admin", None).await;
    assert_eq!((status, conflict["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));

    let password = "second-admin-password";
    let (status, created) = app
        .call(Method::POST, "/api/v1/users", Some(&json!({"username": "root2", "password": password, "role": "admin"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, _) =
        app.call(Method::POST, "/api/v1/users", Some(&json!({"username": "root2", "password": password}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, weak) = app
        .call(Method::POST, "/api/v1/users", Some(&json!({"username": "x y", "password": "short", "role": "god"})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["username", "password", "role"] {
        assert!(weak["error"]["details"]["fields"][field].is_string(), "{weak}");
    }
    let (_, users) = app.call(Method::GET, "/api/v1/users", None).await;
    let text = format!("{users}{created}");
    assert!(
        !text.contains(password) && !text.contains("argon2") && !text.contains(healthmon_tests::app::ADMIN_PASSWORD)
    );

    assert_eq!(app.call(Method::DELETE, "/api/v1/users/admin", None).await.0, StatusCode::NO_CONTENT);
    let root2 = app.login("root2", password).await;
    assert_eq!(app.call_as(Some(&root2), Method::DELETE, "/api/v1/users/root2", None).await.0, StatusCode::CONFLICT);
    assert_eq!(app.call_as(Some(&root2), Method::DELETE, "/api/v1/users/ghost", None).await.0, StatusCode::NOT_FOUND);
    app.stop().await;
}

async fn repeated_failed_logins_are_throttled(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    app.user_token("victim", "viewer").await; // one successful login: the limiter counts every attempt
    let attempt = json!({"username": "victim", "password": "guess-guess-guess"});
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let response =
            reqwest::Client::new().post(app.url("/api/v1/auth/login")).json(&attempt).send().await.expect("login");
        let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
        statuses.push((response.status(), retry_after));
    }
    assert!(statuses[..4].iter().all(|(s, _)| *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    let (status, retry_after) = &statuses[4];
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS);
    let seconds: u64 = retry_after.as_deref().and_then(|s| s.parse().ok()).expect("Retry-After seconds");
    assert!((1..=60).contains(&seconds));
    // Even the right password waits its turn.
    let right = json!({"username": "victim", "password": "victim-password-123"});
    assert_eq!(
        app.call_as(None, Method::POST, "/api/v1/auth/login", Some(&right)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    app.stop().await;
}

async fn healthchecker_routes_work_end_to_end(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let credentials = json!({"username": "admin", "password": healthmon_tests::app::ADMIN_PASSWORD});
    let (status, login) = app.call_as(None, Method::POST, "/login", Some(&credentials)).await;
    assert_eq!(status, StatusCode::OK);
    let token = login["token"].as_str().expect("token").to_owned();
    assert_eq!(login.as_object().map(|o| o.len()), Some(1), "just {{token}}: {login}");

    // The original's `token` header is accepted as well as Authorization: Bearer.
    let with_header = |path: &str| reqwest::Client::new().get(app.url(path)).header("token", token.clone()).send();
    let response = with_header("/ResourceState").await.expect("ResourceState");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(reqwest::get(app.url("/resourcestate")).await.expect("anonymous").status(), StatusCode::UNAUTHORIZED);

    app.create_target(json!({"name": "down", "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 1, "unhealthy_threshold": 1}))
        .await;
    let state =
        healthmon_tests::wait_until("the down target to show a reason", std::time::Duration::from_secs(15), || async {
            let states: Value = with_header("/ResourceState").await.ok()?.json().await.ok()?;
            let first = states.as_array()?.first()?.clone();
            (first["state"] == "Unhealthy").then_some(first)
        })
        .await;
    assert!(state["reason"].as_str().unwrap_or_default().contains("connection"), "{state}");

    let routes: Value = with_header("/ROUTES").await.expect("Routes").json().await.expect("JSON");
    let routes = routes.as_array().expect("array");
    let (_, docs) = healthmon_api::table().into_parts();
    assert_eq!(routes.len(), docs.len(), "every route, generated from the router");
    assert!(routes.iter().any(|r| r["path"] == "/Routes" && r["method"] == "GET" && r["description"].is_string()));

    let reset =
        reqwest::Client::new().post(app.url("/Reset")).header("token", token.clone()).send().await.expect("Reset");
    assert_eq!(reset.status(), StatusCode::OK);
    let samples = app.all_samples(state["id"].as_str().expect("id")).await;
    assert!(!samples.is_empty(), "reset keeps history");
    assert_eq!(with_header("/IsHealthy").await.expect("IsHealthy").status(), StatusCode::SERVICE_UNAVAILABLE);
    app.stop().await;
}

async fn a_protected_healthz_needs_a_token(mode: Mode) {
    let app = TestApp::spawn_with(mode, |settings| settings.protect_healthz = true).await;
    for path in ["/healthz", "/IsHealthy"] {
        assert_eq!(app.call_as(None, Method::GET, path, None).await.0, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(app.call(Method::GET, path, None).await.0, StatusCode::OK, "{path}");
    }
    assert_eq!(app.call_as(None, Method::GET, "/livez", None).await.0, StatusCode::OK);
    let response = reqwest::get(app.url("/livez")).await.expect("livez");
    for (name, value) in
        [("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"), ("referrer-policy", "no-referrer")]
    {
        assert_eq!(response.headers().get(name).and_then(|v| v.to_str().ok()), Some(value), "{name}");
    }
    assert!(response.headers().get("access-control-allow-origin").is_none(), "CORS is off by default");
    app.stop().await;
}

async fn refused_target_addresses_are_422(mode: Mode) {
    let app =
        TestApp::spawn_with(mode, |settings| settings.target_deny = "127.0.0.0/8, ::1/128".parse().expect("CIDRs"))
            .await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
        "http://100.100.100.200/",
        "http://192.0.0.192/",
        "http://[2002:a9fe:a9fe::1]/",
        "http://[64:ff9b:1::a9fe:a9fe]/",
        "http://127.0.0.1:8080/",
        "http://localhost:8080/",
    ] {
        let body = json!({"name": "sneaky", "kind": "http", "url": url});
        let (status, refused) = app.call(Method::POST, "/api/v1/targets", Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {refused}");
        assert!(refused["error"]["details"]["fields"]["url"].is_string(), "{refused}");
    }
    for host in ["2002:a9fe:a9fe::1", "64:ff9b:1::a9fe:a9fe", "192.0.0.192"] {
        let body = json!({"name": "sneaky", "kind": "tcp", "host": host, "port": 80});
        let (status, refused) = app.call(Method::POST, "/api/v1/targets", Some(&body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{host}: {refused}");
        assert!(refused["error"]["details"]["fields"]["host"].is_string(), "{refused}");
    }
    let (status, _) =
        app.call(Method::POST, "/webservers", Some(&json!({"name": "x", "url": "http://169.254.169.254/"}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_answers_only_configured_origins() {
    let app = TestApp::spawn_with(Mode::Embedded, |settings| {
        settings.cors_origins = "https://status.example.com".parse().expect("an origin")
    })
    .await;
    let preflight = |origin: &'static str| {
        reqwest::Client::new()
            .request(Method::OPTIONS, app.url("/api/v1/targets"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, content-type")
            .send()
    };
    let allowed = preflight("https://status.example.com").await.expect("preflight");
    let header = |response: &reqwest::Response, name: &str| {
        response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    assert_eq!(header(&allowed, "access-control-allow-origin").as_deref(), Some("https://status.example.com"));
    let refused = preflight("https://evil.example.net").await.expect("preflight");
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    app.stop().await;
}
