//! Real healthmon role processes sharing one database and one NATS prefix, started, killed with
//! SIGKILL and stopped with SIGTERM by the scenarios; each process logs to a file of its own.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use healthmon_bus::{Naming, NatsBus};
use serde_json::{Value, json};
use uuid::Uuid;

pub const ADMIN_PASSWORD: &str = "faults-admin-password";

/// The full-size run the README quotes, or the quick one CI runs.
pub fn full_size() -> bool {
    std::env::var("HEALTHMON_FAULTS").is_ok_and(|value| value == "full")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Api,
    Prober,
    Projector,
    Notifier,
    /// The `healthmon` binary with its default roles: api, prober, projector and notifier in one
    /// process.
    AllInOne,
}

impl Role {
    fn binary(self) -> &'static str {
        match self {
            Role::Api => env!("CARGO_BIN_EXE_healthmon-api"),
            Role::Prober => env!("CARGO_BIN_EXE_healthmon-prober"),
            Role::Projector => env!("CARGO_BIN_EXE_healthmon-projector"),
            Role::Notifier => env!("CARGO_BIN_EXE_healthmon-notifier"),
            Role::AllInOne => env!("CARGO_BIN_EXE_healthmon"),
        }
    }

    fn serves_the_api(self) -> bool {
        matches!(self, Role::Api | Role::AllInOne)
    }
}

pub struct Process {
    pub role: Role,
    pub addr: String,
    child: Child,
}

pub struct Cluster {
    pub database_url: String,
    pub nats_url: String,
    pub naming: Naming,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    processes: BTreeMap<String, Process>,
}

impl Cluster {
    /// A cluster under a prefix of its own; `env` adds settings every process gets. An empty
    /// `nats_url` leaves the processes on the in-process bus (the embedded default).
    pub fn new(database_url: String, nats_url: String, env: &[(&str, String)]) -> Self {
        let naming = Naming::new(format!("f{}", Uuid::new_v4().simple()));
        let env = env.iter().map(|(name, value)| (name.to_string(), value.clone())).collect();
        let dir = tempfile::tempdir().expect("temp dir");
        Self { database_url, nats_url, naming, dir, env, processes: BTreeMap::new() }
    }

    /// Starts `instance` in `role` and waits until it listens.
    pub fn start(&mut self, role: Role, instance: &str) {
        let log_path = self.dir.path().join(format!("{instance}.log"));
        let mut command = Command::new(role.binary());
        command
            .env_clear()
            .env("HEALTHMON_LISTEN", "127.0.0.1:0")
            .env("HEALTHMON_LOG_FORMAT", "json")
            .env("HEALTHMON_DATABASE_URL", &self.database_url)
            .env("HEALTHMON_NATS_PREFIX", self.naming.prefix())
            .env("HEALTHMON_INSTANCE", instance)
            .env("HEALTHMON_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("HEALTHMON_KEYS_DIR", self.dir.path().join("keys"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if !self.nats_url.is_empty() {
            command.env("HEALTHMON_NATS_URL", &self.nats_url);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap_or_else(|error| panic!("start {instance}: {error}"));
        let addr = listen_address(&mut child, log_path, instance);
        self.processes.insert(instance.to_string(), Process { role, addr, child });
    }

    /// SIGKILL: nothing is flushed, released or acked.
    pub fn kill(&mut self, instance: &str) {
        let mut process = self.processes.remove(instance).unwrap_or_else(|| panic!("{instance} is not running"));
        let _ = process.child.kill();
        let _ = process.child.wait();
    }

    /// SIGTERM, and waits for the process to exit, as an operator's restart does.
    pub fn stop(&mut self, instance: &str) {
        let mut process = self.processes.remove(instance).unwrap_or_else(|| panic!("{instance} is not running"));
        let signalled = Command::new("kill").args(["-TERM", &process.child.id().to_string()]).status();
        assert!(signalled.is_ok_and(|status| status.success()), "SIGTERM {instance}");
        let status = process.child.wait().expect("wait for the process");
        assert!(status.success(), "{instance} exited with {status} after SIGTERM");
    }

    pub fn api_addr(&self) -> &str {
        self.processes
            .values()
            .find(|process| process.role.serves_the_api())
            .map(|process| process.addr.as_str())
            .expect("an API")
    }

    pub async fn nats(&self) -> NatsBus {
        NatsBus::connect(&self.nats_url, self.naming.clone(), Default::default()).await.expect("connect to NATS")
    }

    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect(&self.database_url)
            .await
            .expect("connect to the cluster's database")
    }

    /// Everything every process of the cluster has logged so far.
    pub fn logs(&self) -> String {
        let mut logs = String::new();
        for entry in std::fs::read_dir(self.dir.path()).expect("the log directory").flatten() {
            if entry.path().extension().is_some_and(|extension| extension == "log") {
                logs.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
            }
        }
        logs
    }

    /// Logs in to the first API as the admin.
    pub async fn client(&self) -> ApiClient {
        let http = reqwest::Client::new();
        let base = format!("http://{}", self.api_addr());
        let login: Value = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("login body");
        let token = login["token"].as_str().expect("a token").to_string();
        ApiClient { http, base, token }
    }

    /// Stops every process, removes the cluster's NATS streams and buckets; keeps the logs of a
    /// failed run (their directory is printed).
    pub async fn finish(mut self) {
        for process in self.processes.values_mut() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
        if self.nats_url.is_empty() {
            return;
        }
        healthmon_testing::nats::delete_prefixed_streams(&self.nats_url, &self.naming).await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for process in self.processes.values_mut() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
        if std::thread::panicking() {
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir")).keep();
            eprintln!("process logs kept in {}", kept.display());
        }
    }
}

/// Copies the child's output to its log file and returns the address it reports listening on.
fn listen_address(child: &mut Child, log_path: PathBuf, instance: &str) -> String {
    let (lines_tx, lines_rx) = mpsc::channel::<String>();
    let streams: [Box<dyn std::io::Read + Send>; 2] =
        [Box::new(child.stdout.take().expect("stdout")), Box::new(child.stderr.take().expect("stderr"))];
    let log = std::sync::Arc::new(std::sync::Mutex::new(std::fs::File::create(&log_path).expect("log file")));
    for stream in streams {
        let (lines_tx, log) = (lines_tx.clone(), log.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if let Ok(mut file) = log.lock() {
                    let _ = writeln!(file, "{line}");
                }
                let _ = lines_tx.send(line);
            }
        });
    }
    loop {
        let line = lines_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{instance} did not start listening within 30 s; see {}", log_path.display()));
        if let Ok(event) = serde_json::from_str::<Value>(&line)
            && event["message"] == "listening"
            && let Some(addr) = event["addr"].as_str()
        {
            return addr.to_string();
        }
    }
}

pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl ApiClient {
    /// Creates `count` HTTP targets against `url`, 16 requests at a time; returns their ids.
    pub async fn create_targets(&self, count: usize, url: &str, interval_s: u64) -> Vec<Uuid> {
        use futures::StreamExt;
        futures::stream::iter(0..count)
            .map(|n| async move {
                let response = self
                    .http
                    .post(format!("{}/api/v1/targets", self.base))
                    .bearer_auth(&self.token)
                    .json(&json!({"name": format!("target-{n}"), "kind": "http", "url": url, "interval_s": interval_s}))
                    .send()
                    .await
                    .expect("create a target");
                assert_eq!(response.status(), reqwest::StatusCode::CREATED, "creating target-{n}");
                let body: Value = response.json().await.expect("target body");
                body["id"].as_str().and_then(|id| id.parse::<Uuid>().ok()).expect("target id")
            })
            .buffer_unordered(16)
            .collect()
            .await
    }
}

impl ApiClient {
    /// Creates one HTTP target probing `url` every `interval_s`; returns its id.
    pub async fn create_target(&self, name: &str, url: &str, interval_s: u64) -> Uuid {
        self.create_body(&json!({"name": name, "kind": "http", "url": url, "interval_s": interval_s})).await
    }

    /// Creates a target from a whole create body; returns its id.
    pub async fn create_body(&self, body: &Value) -> Uuid {
        let response = self
            .http
            .post(format!("{}/api/v1/targets", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("create a target");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED, "creating {body}");
        let body: Value = response.json().await.expect("target body");
        body["id"].as_str().and_then(|id| id.parse::<Uuid>().ok()).expect("target id")
    }

    /// POSTs `body` to `path` and expects 201; returns the created resource.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("POST");
        assert_eq!(response.status(), reqwest::StatusCode::CREATED, "POST {path} {body}");
        response.json().await.expect("created body")
    }

    /// GETs `path` and expects 200.
    pub async fn get(&self, path: &str) -> Value {
        let response =
            self.http.get(format!("{}{path}", self.base)).bearer_auth(&self.token).send().await.expect("GET");
        assert_eq!(response.status(), reqwest::StatusCode::OK, "GET {path}");
        response.json().await.expect("JSON body")
    }

    /// The target as the API shows it (health and its newest samples).
    pub async fn target(&self, id: Uuid) -> Value {
        let response = self
            .http
            .get(format!("{}/api/v1/targets/{id}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("read a target");
        assert_eq!(response.status(), reqwest::StatusCode::OK, "reading {id}");
        response.json().await.expect("target body")
    }
}

/// A local HTTP target answering 200 to every probe; its URL.
pub async fn target_server() -> String {
    let app = axum::Router::new().fallback(|| async { "ok" });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the target server");
    let addr = listener.local_addr().expect("target address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/health")
}
