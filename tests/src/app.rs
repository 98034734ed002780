//! `TestApp`: healthmon started in-process for one test, on port 0, with its own database and
//! its own NATS prefix, in the embedded or the distributed deployment mode.

use std::net::SocketAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use healthmon::{Components, Running, start};
use healthmon_bus::Naming;
use healthmon_runtime::Settings;
use healthmon_runtime::settings::LogFormat;
use healthmon_store::SampleQuery;
use healthmon_testing::test_nats_url;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use uuid::Uuid;

use crate::wait_until;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One process, all roles: SQLite file and the in-process bus.
    Embedded,
    /// api, prober and projector started separately, each with its own connections to Postgres
    /// and NATS JetStream, as separate processes would be.
    Distributed,
}

pub struct TestApp {
    pub mode: Mode,
    pub addr: SocketAddr,
    pub http: reqwest::Client,
    /// The admin's session token, which `http` sends.
    pub admin_token: String,
    pub settings: Settings,
    /// The store and bus of the API (shared by every role in embedded mode).
    pub components: Components,
    /// The prober, in distributed mode (in embedded mode it runs inside `api`).
    prober: Option<Running>,
    api: Option<Running>,
    projector: Option<Running>,
    /// Notifier processes started apart from the api (in distributed mode, one from the start).
    notifiers: Vec<Running>,
    _dir: tempfile::TempDir,
}

/// The first admin's password in every test app.
pub const ADMIN_PASSWORD: &str = "test-admin-password";

/// A client that sends `Authorization: Bearer <token>` on every request.
pub fn client_with_token(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header value");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder().default_headers(headers).build().expect("HTTP client")
}

impl TestApp {
    /// Every role running; in embedded mode all in one `start`, as the all-in-one binary does.
    pub async fn spawn(mode: Mode) -> Self {
        Self::launch(mode, false, |_| {}).await
    }

    /// Like `spawn`, with some settings changed first.
    pub async fn spawn_with(mode: Mode, adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::launch(mode, false, adjust).await
    }

    /// Like `spawn`, but the projector runs on its own so a test can kill and restart it.
    pub async fn spawn_with_separate_projector(mode: Mode) -> Self {
        Self::launch(mode, true, |_| {}).await
    }

    async fn launch(mode: Mode, separate_projector: bool, adjust: impl FnOnce(&mut Settings)) -> Self {
        // Warnings show in a failed test's output; HEALTHMON_TEST_LOG=debug shows more.
        let filter = std::env::var("HEALTHMON_TEST_LOG").unwrap_or_else(|_| "warn".into());
        healthmon_runtime::telemetry::init(LogFormat::Text, &filter);
        let dir = tempfile::tempdir().expect("temp dir");
        let prefix = format!("t{}", Uuid::new_v4().simple());
        let settings = match mode {
            Mode::Embedded => Settings {
                listen: "127.0.0.1:0".into(),
                database_url: healthmon_testing::fresh_sqlite_url(dir.path()),
                nats_url: None,
                nats_prefix: prefix,
                instance: "embedded-1".into(),
                projector_ack_wait: Duration::from_secs(2),
                ..Settings::default()
            },
            Mode::Distributed => Settings {
                listen: "127.0.0.1:0".into(),
                database_url: healthmon_testing::fresh_postgres_database().await.expect("fresh database"),
                nats_url: Some(test_nats_url()),
                nats_prefix: prefix,
                instance: "api-1".into(),
                projector_ack_wait: Duration::from_secs(2),
                // A killed projector's lease runs out this much later; tests restart one often.
                projector_lease_ttl: Duration::from_secs(2),
                ..Settings::default()
            },
        };
        let mut settings = Settings {
            admin_password: Some(ADMIN_PASSWORD.parse().expect("password")),
            keys_dir: dir.path().join("keys").display().to_string(),
            ..settings
        };
        adjust(&mut settings);
        let components = Components::connect(&settings).await.expect("connect store and bus");
        let mut app = Self {
            mode,
            addr: "127.0.0.1:0".parse().expect("address"),
            http: reqwest::Client::new(),
            admin_token: String::new(),
            settings: settings.clone(),
            components: components.clone(),
            prober: None,
            api: None,
            projector: None,
            notifiers: Vec::new(),
            _dir: dir,
        };
        match (mode, separate_projector) {
            (Mode::Embedded, false) => {
                app.api = Some(app.start_roles("api,prober,projector,notifier", "embedded-1", Some(components)).await);
            }
            (Mode::Embedded, true) => {
                app.api = Some(app.start_roles("api,prober,notifier", "embedded-1", Some(components.clone())).await);
                app.start_projector().await;
            }
            (Mode::Distributed, _) => {
                app.api = Some(app.start_roles("api", "api-1", Some(components)).await);
                app.prober = Some(app.start_roles("prober", "prober-1", None).await);
                app.start_projector().await;
                app.start_notifier().await;
            }
        }
        app.addr = app.api.as_ref().map(|running| running.addr).expect("api running");
        let token = app.login("admin", ADMIN_PASSWORD).await;
        app.http = client_with_token(&token);
        app.admin_token = token;
        app.wait_ready().await;
        app
    }

    /// Starts roles with their own connections, or with `shared` ones.
    async fn start_roles(&self, roles: &str, instance: &str, shared: Option<Components>) -> Running {
        let roles = roles.parse().expect("role names");
        let settings = Settings { roles, instance: instance.into(), ..self.settings.clone() };
        let components = match shared {
            Some(components) => components,
            None => Components::connect(&settings).await.expect("connect store and bus"),
        };
        start(&settings, components).await.expect("start roles")
    }

    /// Starts a projector (shared connections in embedded mode, its own otherwise).
    pub async fn start_projector(&mut self) {
        assert!(self.projector.is_none(), "a projector is already running");
        let shared = (self.mode == Mode::Embedded).then(|| self.components.clone());
        self.projector = Some(self.start_roles("projector", "projector-1", shared).await);
    }

    /// Starts one more notifier with connections of its own (in embedded mode, the shared ones:
    /// several notifiers then share one SQLite file, as several processes could).
    pub async fn start_notifier(&mut self) {
        let shared = (self.mode == Mode::Embedded).then(|| self.components.clone());
        let instance = format!("notifier-{}", self.notifiers.len() + 1);
        let notifier = self.start_roles("notifier", &instance, shared).await;
        self.notifiers.push(notifier);
    }

    /// Aborts every separately started notifier, as `kill -9` would.
    pub fn kill_notifiers(&mut self) {
        for notifier in self.notifiers.drain(..) {
            notifier.kill();
        }
    }

    /// Aborts the projector mid-work, as `kill -9` would: nothing in flight is acked.
    pub fn kill_projector(&mut self) {
        self.projector.take().expect("a separately running projector").kill();
    }

    async fn wait_ready(&self) {
        wait_until("the API to serve /healthz", Duration::from_secs(10), || async {
            let response = self.http.get(self.url("/healthz")).send().await.ok()?;
            let body: Value = response.json().await.ok()?;
            (body["reason"] != "starting").then_some(())
        })
        .await;
    }

    /// A session token for these credentials (panics unless the login succeeds).
    pub async fn login(&self, username: &str, password: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("login request");
        assert_eq!(response.status(), StatusCode::OK, "login as {username}");
        let body: Value = response.json().await.expect("login JSON");
        body["token"].as_str().expect("token").to_owned()
    }

    /// Creates a user with the given role and returns a session token of theirs.
    pub async fn user_token(&self, username: &str, role: &str) -> String {
        let password = format!("{username}-password-123");
        let body = serde_json::json!({"username": username, "password": password, "role": role});
        let (status, created) = self.call(Method::POST, "/api/v1/users", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "create user: {created}");
        self.login(username, &password).await
    }

    /// Sends a request with an optional JSON body, as `token`'s holder (or nobody's).
    async fn send(&self, token: Option<&str>, method: Method, path: &str, body: Option<&Value>) -> reqwest::Response {
        let client = match token {
            Some(token) => client_with_token(token),
            None => reqwest::Client::new(),
        };
        let mut request = client.request(method, self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request")
    }

    /// Like `call`, with `token` (or none) instead of the admin's.
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let response = self.send(token, method, path, body).await;
        let status = response.status();
        let text = response.text().await.expect("response body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Only the status, without reading the body (some routes, like the event stream, never end it).
    pub async fn status_as(&self, token: Option<&str>, method: Method, path: &str, body: Option<&Value>) -> StatusCode {
        self.send(token, method, path, body).await.status()
    }

    /// Where the separately running prober listens (its `/livez`, `/readyz`, `/metrics`).
    pub fn prober_addr(&self) -> Option<SocketAddr> {
        self.prober.as_ref().map(|running| running.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a request as the admin, and returns the status and the JSON body (or Null).
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        self.call_as(Some(&self.admin_token), method, path, body).await
    }

    pub async fn create_target(&self, body: Value) -> Value {
        let (status, created) = self.call(Method::POST, "/api/v1/targets", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "create failed: {created}");
        created
    }

    pub async fn target(&self, id: &str) -> Value {
        let (status, body) = self.call(Method::GET, &format!("/api/v1/targets/{id}"), None).await;
        assert_eq!(status, StatusCode::OK, "get target failed: {body}");
        body
    }

    pub async fn status_of(&self, id: &str) -> String {
        self.target(id).await["health"]["status"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits until the target reaches `status` and returns its representation then.
    pub async fn wait_for_status(&self, id: &str, status: &str, limit: Duration) -> Value {
        wait_until(&format!("target {id} to become {status}"), limit, || async {
            let target = self.target(id).await;
            (target["health"]["status"] == status).then_some(target)
        })
        .await
    }

    /// The target's whole history, newest first, read page by page.
    pub async fn all_samples(&self, id: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/targets/{id}/samples?limit=1000");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let (status, page) = self.call(Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "samples failed: {page}");
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return items,
            }
        }
    }

    /// The slots of the target's whole history, oldest first, read from the store (the API does
    /// not show slots).
    pub async fn sample_slots(&self, id: &str) -> Vec<i64> {
        let target_id: Uuid = id.parse().expect("a target id");
        let mut slots = Vec::new();
        let mut before_slot = None;
        loop {
            let query = SampleQuery { target_id, limit: 1000, before_slot, ..Default::default() };
            let page = self.components.store.samples(&query).await.expect("read samples");
            slots.extend(page.items.iter().map(|sample| sample.slot));
            match page.next_cursor {
                Some(cursor) => before_slot = Some(cursor.parse().expect("a slot cursor")),
                None => break,
            }
        }
        slots.sort_unstable();
        slots
    }

    /// The newest transition's time, checking its direction.
    pub async fn last_transition(&self, id: &str, from: &str, to: &str) -> DateTime<Utc> {
        let (status, page) = self.call(Method::GET, &format!("/api/v1/targets/{id}/transitions"), None).await;
        assert_eq!(status, StatusCode::OK);
        let newest = &page["items"][0];
        assert_eq!((newest["from"].as_str(), newest["to"].as_str()), (Some(from), Some(to)), "{page}");
        time(&newest["at"])
    }

    /// Outcomes (oldest first) of the samples after `after` up to and including `until`.
    pub async fn outcomes_between(&self, id: &str, after: Option<DateTime<Utc>>, until: DateTime<Utc>) -> Vec<bool> {
        let mut samples: Vec<(DateTime<Utc>, bool)> = self
            .all_samples(id)
            .await
            .iter()
            .map(|s| (time(&s["at"]), s["success"].as_bool().expect("success flag")))
            .filter(|(at, _)| after.is_none_or(|after| *at > after) && *at <= until)
            .collect();
        samples.sort_by_key(|(at, _)| *at);
        samples.into_iter().map(|(_, ok)| ok).collect()
    }

    pub async fn healthz(&self, query: &str) -> (StatusCode, Value) {
        self.call(Method::GET, &format!("/healthz{query}"), None).await
    }

    /// Stops every role gracefully (dropping the app afterwards removes its database and streams).
    pub async fn stop(mut self) {
        let runnings = self.api.take().into_iter().chain(self.projector.take()).chain(self.prober.take());
        for running in runnings.chain(self.notifiers.drain(..)) {
            let _ = running.stop().await;
        }
    }
}

impl Drop for TestApp {
    /// Removes the test's Postgres database and NATS streams, also when the test panicked, so the
    /// shared servers do not fill up. Runs on a thread of its own: Drop cannot await.
    fn drop(&mut self) {
        let runnings = self.api.take().into_iter().chain(self.projector.take()).chain(self.prober.take());
        for running in runnings.chain(self.notifiers.drain(..)) {
            running.kill();
        }
        if self.mode != Mode::Distributed {
            return;
        }
        let (database_url, naming) =
            (self.settings.database_url.clone(), Naming::new(self.settings.nats_prefix.clone()));
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                let _ = healthmon_testing::drop_postgres_database(&database_url).await;
                healthmon_testing::nats::delete_prefixed_streams(&test_nats_url(), &naming).await;
            });
        });
        let _ = cleanup.join();
    }
}

/// An RFC 3339 time from a JSON string.
pub fn time(value: &Value) -> DateTime<Utc> {
    value.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc)).expect("a time")
}
