//! healthmon started in-process in the distributed deployment shape: each role its own `start`
//! with its own Postgres and NATS connections, as separate processes would have. Plus the ways
//! the benchmark feeds it: targets through the store, logins through the API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use healthmon::{Components, Running, start};
use healthmon_domain::Target;
use healthmon_domain::events::source;
use healthmon_domain::target::parse_spec;
use healthmon_store::Store;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::infra::{ADMIN_PASSWORD, Infra};

/// Targets are written this many at a time.
const CREATE_CONCURRENCY: usize = 16;

/// The roles of one healthmon deployment, each started on its own.
pub struct Cluster {
    /// Where the api listens, when it runs.
    pub api: Option<SocketAddr>,
    running: Vec<Running>,
}

impl Cluster {
    /// Starts each role named (`api`, `projector`, `prober`, `notifier`) as its own process would.
    pub async fn start(infra: &Infra, roles: &[&str]) -> anyhow::Result<Self> {
        let mut cluster = Self { api: None, running: Vec::new() };
        for role in roles {
            cluster.start_role(infra, role).await?;
        }
        Ok(cluster)
    }

    /// Starts one more role.
    async fn start_role(&mut self, infra: &Infra, role: &str) -> anyhow::Result<()> {
        let parsed = role.parse().map_err(|problem: String| anyhow::anyhow!("{role}: {problem}"))?;
        let settings = infra.settings(parsed, &format!("{role}-1"));
        let components = Components::connect(&settings).await.with_context(|| format!("connect the {role}"))?;
        let running = start(&settings, components).await.with_context(|| format!("start the {role}"))?;
        if role == "api" {
            self.api = Some(running.addr);
        }
        self.running.push(running);
        Ok(())
    }

    pub fn api(&self) -> anyhow::Result<SocketAddr> {
        self.api.context("the api role is not running")
    }

    /// Stops every role gracefully, the api last.
    pub async fn stop(mut self) {
        while let Some(running) = self.running.pop() {
            if let Err(error) = running.stop().await {
                eprintln!("   warning: a role stopped with an error: {error:#}");
            }
        }
    }
}

/// The admin's session token, through `POST /api/v1/auth/login`.
pub async fn login(addr: SocketAddr) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .context("login request")?;
    anyhow::ensure!(response.status().is_success(), "login answered {}", response.status());
    let body: Value = response.json().await.context("login response")?;
    body["token"].as_str().map(str::to_owned).context("login response without a token")
}

/// Writes one target per spec through the store (the API's own write path: target, health and
/// `target.created` outbox event in one transaction), a few at a time; returns their ids.
pub async fn create_targets(store: &Arc<dyn Store>, specs: Vec<Value>) -> anyhow::Result<Vec<Uuid>> {
    let total = specs.len();
    let author = source("api", "bench");
    let started = Instant::now();
    let created: Vec<anyhow::Result<Uuid>> = futures::stream::iter(specs)
        .map(|spec| {
            let (store, author) = (store.clone(), author.clone());
            async move {
                let spec = parse_spec(&spec).map_err(|errors| anyhow::anyhow!("invalid target: {errors}"))?;
                let target = Target::create(spec, healthmon_store::now());
                store.create_target(&target, &author).await.context("create a target")?;
                Ok(target.id)
            }
        })
        .buffer_unordered(CREATE_CONCURRENCY)
        .collect()
        .await;
    let ids = created.into_iter().collect::<anyhow::Result<Vec<Uuid>>>()?;
    if total >= 1000 {
        println!("   (created {total} targets through the store in {:.1} s)", started.elapsed().as_secs_f64());
    }
    Ok(ids)
}

/// An HTTP target spec for `url`.
pub fn http_target(name: String, url: String, interval_s: u32, healthy_threshold: u32) -> Value {
    json!({
        "name": name,
        "kind": "http",
        "url": url,
        "interval_s": interval_s,
        "timeout_s": 10,
        "healthy_threshold": healthy_threshold,
        "unhealthy_threshold": 3,
    })
}

/// Polls `probe` every `every` until it yields a value or `limit` passes (then `None`).
pub async fn poll<T, F, Fut>(limit: Duration, every: Duration, mut probe: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

/// `GET /healthz` once: its status and body.
pub async fn healthz(client: &reqwest::Client, addr: SocketAddr) -> anyhow::Result<(u16, Value)> {
    let response = client.get(format!("http://{addr}/healthz")).send().await.context("GET /healthz")?;
    let status = response.status().as_u16();
    let body = response.json().await.context("the /healthz body")?;
    Ok((status, body))
}
