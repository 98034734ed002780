//! Scenario `alerts`: 1,000 targets flip, and the notifier role tells a local webhook receiver.
//! Three phases through the real projector, outbox, notifier turns and delivery worker (Postgres
//! and NATS): triggers paced at `--rate` flips/s, timed from publishing the flipping sample to
//! the receiver's request (p50/p99); then every target recovers at once, timed from the first
//! publish to the last resolve (the whole pipeline's rate, for information); then every target
//! fails again inside a maintenance window, and when it ends the notifier's deliveries/s over the
//! thousand held triggers are timed from its first request to its last. Baseline: a bare loop that POSTs the same
//! bodies with the same kind of client (reqwest, `--concurrency` requests in flight as the worker
//! has) to the same receiver; the ratio compares it with the backlog's deliveries/s, the part of
//! healthmon that does what the loop does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use healthmon_domain::HealthStatus;
use healthmon_testing::receiver::{ReceivedRequest, Receiver};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cluster::{self, Cluster};
use crate::events::publish_flip;
use crate::infra::Infra;
use crate::report;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Targets that flip (each one trigger, then one resolve).
    #[arg(long, default_value_t = 1000)]
    pub targets: usize,
    /// Flips per second in the paced phase.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// Requests the baseline keeps in flight (the worker keeps 64 sends in flight).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
}

const TARGET_P99_MS: f64 = 100.0;
const TARGET_RATIO: f64 = 0.5;
/// How long the backlog's maintenance window lasts: long enough to hold every trigger.
const BACKLOG_WINDOW_S: i64 = 8;
/// Every delivery of a phase must have arrived by then.
const PHASE_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.targets > 0 && args.rate > 0, "--targets and --rate must be positive");
    Infra::scope(async |infra| {
        let cluster = Cluster::start(infra, &["api", "projector", "notifier"]).await?;
        let outcome = measure(infra, args, &cluster).await;
        cluster.stop().await;
        outcome
    })
    .await
}

async fn measure(infra: &Infra, args: &Args, cluster: &Cluster) -> anyhow::Result<()> {
    report::title(&format!(
        "alerts ({} targets, triggers at {}/s, then all resolve at once, then a backlog of triggers)",
        args.targets, args.rate
    ));
    let components = infra.components().await?;
    let specs = (0..args.targets)
        .map(|n| {
            json!({"name": format!("alert-{n}"), "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 3600,
                   "healthy_threshold": 1, "unhealthy_threshold": 1})
        })
        .collect();
    let ids = cluster::create_targets(&components.store, specs).await?;
    let receiver = Receiver::start().await;
    let addr = cluster.api()?;
    let token = cluster::login(addr).await?;
    let notifier = create(
        addr,
        &token,
        "/api/v1/notifiers",
        &json!({"name": "bench", "kind": "webhook", "url": format!("{}/hook", receiver.url())}),
    )
    .await?;
    create(addr, &token, "/api/v1/alerts", &json!({"name": "bench", "notifiers": [notifier]})).await?;
    // Every target healthy first: its first sample moves it from unknown, and healthy -> unhealthy
    // is then the one change each trigger is about.
    let bus = components.bus.clone();
    let base_slot = chrono::Utc::now().timestamp_millis();
    for id in &ids {
        publish_flip(bus.as_ref(), *id, base_slot, true).await?;
    }
    wait_for_health(&components.store, ids.len(), HealthStatus::Healthy).await?;

    // Phase 1: paced triggers.
    let pause = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let mut published = HashMap::new();
    let mut published_at = HashMap::new();
    let started = Instant::now();
    for (n, id) in ids.iter().enumerate() {
        let due = started + pause * n as u32;
        tokio::time::sleep_until(due.into()).await;
        published_at.insert(id.to_string(), chrono::Utc::now());
        published.insert(*id, publish_flip(bus.as_ref(), *id, base_slot + 1000, false).await?);
    }
    let triggers = arrivals(&receiver, ids.len()).await?;
    let mut latency = report::histogram();
    for request in &triggers {
        if let Some(sent) = target_of(request).and_then(|id| published.get(&id)) {
            report::record(&mut latency, request.arrived.saturating_duration_since(*sent).as_micros() as u64);
        }
    }

    let (to_queue, queue_to_sent) = stages(addr, &token, &published_at).await?;

    // Phase 2: every target recovers at once; deliveries/s of the resolves.
    let burst = Instant::now();
    publish_all(bus.as_ref(), &ids, base_slot + 2000, true).await?;
    let all = arrivals(&receiver, 2 * ids.len()).await?;
    let last = all.iter().map(|request| request.arrived).max().unwrap_or(burst);
    let healthmon_rate = ids.len() as f64 / last.saturating_duration_since(burst).as_secs_f64().max(1e-6);

    // Phase 3: a backlog, in a notifier that keeps running. Every target fails again inside a
    // maintenance window (each trigger recorded as suppressed); when the window ends, the thousand
    // held triggers fall due at once, the storm that follows planned work.
    let window_ends = chrono::Utc::now() + chrono::Duration::seconds(BACKLOG_WINDOW_S);
    create(
        addr,
        &token,
        "/api/v1/maintenance",
        &json!({"name": "bench", "starts_at": chrono::Utc::now() - chrono::Duration::seconds(1), "ends_at": window_ends}),
    )
    .await?;
    publish_all(bus.as_ref(), &ids, base_slot + 3000, false).await?;
    wait_for_suppressed(addr, &token, ids.len()).await?;
    anyhow::ensure!(
        chrono::Utc::now() < window_ends,
        "the window ended before every trigger was held: raise BACKLOG_WINDOW_S"
    );
    let all = arrivals(&receiver, 3 * ids.len()).await?;
    let backlog = &all[2 * ids.len()..];
    let first = backlog.iter().map(|request| request.arrived).min().unwrap_or(burst);
    let last = backlog.iter().map(|request| request.arrived).max().unwrap_or(first);
    let backlog_rate = ids.len() as f64 / last.saturating_duration_since(first).as_secs_f64().max(1e-6);
    let (queued_over, recorded_over) = spans(addr, &token).await?;

    let bodies: Vec<Bytes> = all[ids.len()..2 * ids.len()].iter().map(|request| request.body.clone()).collect();
    let baseline_rate = baseline(&receiver, &bodies, args.concurrency).await?;

    report::line(
        "healthmon",
        &format!("trigger latency {}   ({} of {} arrived)", report::latencies(&latency), triggers.len(), ids.len()),
    );
    report::line("", &format!("  sample published -> delivery queued  {}", report::latencies(&to_queue)));
    report::line("", &format!("  delivery queued -> attempt recorded  {}", report::latencies(&queue_to_sent)));
    report::line("", &format!("resolve burst, first publish to last request: {healthmon_rate:.0} deliveries/s"));
    report::line("", &format!("backlog, first request to last: {backlog_rate:.0} deliveries/s"));
    report::line(
        "",
        &format!("  its turns queued it over {queued_over:.0} ms; attempts recorded over {recorded_over:.0} ms"),
    );
    report::line("baseline", &format!("bare POST loop, {} in flight: {baseline_rate:.0} requests/s", args.concurrency));
    let p99 = report::ms(&latency, 0.99);
    report::line(
        "p99",
        &format!(
            "{} at {}/s (target < {TARGET_P99_MS} ms)  {}",
            report::millis(p99),
            args.rate,
            report::verdict(p99 < TARGET_P99_MS)
        ),
    );
    report::ratio(backlog_rate / baseline_rate, TARGET_RATIO);
    Ok(())
}

/// One flipping sample per target at `slot`, 64 published at a time.
async fn publish_all(bus: &dyn healthmon_bus::EventBus, ids: &[Uuid], slot: i64, success: bool) -> anyhow::Result<()> {
    let publishing = futures::stream::iter(ids)
        .map(|id| publish_flip(bus, *id, slot, success))
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    publishing.into_iter().collect::<anyhow::Result<Vec<_>>>().map(|_| ())
}

async fn create(addr: std::net::SocketAddr, token: &str, path: &str, body: &Value) -> anyhow::Result<Value> {
    let response = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .with_context(|| format!("POST {path}"))?;
    anyhow::ensure!(response.status().as_u16() == 201, "POST {path} answered {}", response.status());
    let created: Value = response.json().await.context("the created resource")?;
    Ok(created["id"].clone())
}

/// Waits until every target has `status` in the store (its transition stored with it).
async fn wait_for_health(
    store: &std::sync::Arc<dyn healthmon_store::Store>,
    count: usize,
    status: HealthStatus,
) -> anyhow::Result<()> {
    cluster::poll(PHASE_TIMEOUT, Duration::from_millis(50), || async {
        let records = store.all_targets().await.ok()?;
        let reached = records.iter().filter(|record| record.health.status == status).count();
        (reached == count).then_some(())
    })
    .await
    .with_context(|| format!("the targets did not all turn {}", status.as_str()))
}

/// Waits until `count` deliveries are recorded as suppressed.
async fn wait_for_suppressed(addr: std::net::SocketAddr, token: &str, count: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/v1/deliveries?status=suppressed&limit=1000");
    cluster::poll(PHASE_TIMEOUT, Duration::from_millis(50), || async {
        let page: Value = client.get(&url).bearer_auth(token).send().await.ok()?.json().await.ok()?;
        (page["items"].as_array()?.len() >= count).then_some(())
    })
    .await
    .context("the triggers were not all held by the window")
}

/// The first `count` requests the receiver got, once it has them.
async fn arrivals(receiver: &Receiver, count: usize) -> anyhow::Result<Vec<ReceivedRequest>> {
    cluster::poll(PHASE_TIMEOUT, Duration::from_millis(20), || async {
        let requests = receiver.requests();
        (requests.len() >= count).then(|| requests.into_iter().take(count).collect())
    })
    .await
    .with_context(|| {
        format!("{count} deliveries did not arrive within {PHASE_TIMEOUT:?} (got {})", receiver.requests().len())
    })
}

/// The newest 1,000 deliveries, as `GET /api/v1/deliveries` lists them.
async fn newest_deliveries(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<Value> {
    reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/deliveries?limit=1000"))
        .bearer_auth(token)
        .send()
        .await
        .context("list the deliveries")?
        .json()
        .await
        .context("the deliveries")
}

/// Where the trigger latency goes, from the delivery log: publish to the turn that queued the
/// delivery, and from there to the recorded attempt.
async fn stages(
    addr: std::net::SocketAddr,
    token: &str,
    published_at: &HashMap<String, chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<(hdrhistogram::Histogram<u64>, hdrhistogram::Histogram<u64>)> {
    let page = newest_deliveries(addr, token).await?;
    let (mut to_queue, mut queue_to_sent) = (report::histogram(), report::histogram());
    let time = |value: &Value| value.as_str().and_then(|text| text.parse::<chrono::DateTime<chrono::Utc>>().ok());
    for delivery in page["items"].as_array().into_iter().flatten() {
        let published = delivery["target_id"].as_str().and_then(|id| published_at.get(id));
        if let (Some(published), Some(created), Some(delivered)) =
            (published, time(&delivery["created_at"]), time(&delivery["delivered_at"]))
        {
            report::record(&mut to_queue, (created - *published).num_microseconds().unwrap_or(0).max(0) as u64);
            report::record(&mut queue_to_sent, (delivered - created).num_microseconds().unwrap_or(0).max(0) as u64);
        }
    }
    Ok((to_queue, queue_to_sent))
}

/// Over how long the newest 1,000 deliveries were queued (first to last `created_at`), and over
/// how long their attempts were recorded (first to last `delivered_at`), in milliseconds.
async fn spans(addr: std::net::SocketAddr, token: &str) -> anyhow::Result<(f64, f64)> {
    let page = newest_deliveries(addr, token).await?;
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let span = |field: &str| {
        let times: Vec<chrono::DateTime<chrono::Utc>> =
            items.iter().filter_map(|item| item[field].as_str()?.parse().ok()).collect();
        match (times.iter().min(), times.iter().max()) {
            (Some(first), Some(last)) => (*last - *first).num_microseconds().unwrap_or(0) as f64 / 1000.0,
            _ => 0.0,
        }
    };
    Ok((span("created_at"), span("delivered_at")))
}

fn target_of(request: &ReceivedRequest) -> Option<Uuid> {
    let body: Value = serde_json::from_slice(&request.body).ok()?;
    body["target"]["id"].as_str()?.parse().ok()
}

/// Requests/s of a bare reqwest loop POSTing `bodies` to the receiver, `concurrency` at a time.
async fn baseline(receiver: &Receiver, bodies: &[Bytes], concurrency: usize) -> anyhow::Result<f64> {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().context("the baseline client")?;
    let url = format!("{}/baseline", receiver.url());
    let started = Instant::now();
    let sent = futures::stream::iter(bodies)
        .map(|body| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let response = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("webhook-id", Uuid::new_v4().to_string())
                    .body(body.clone())
                    .send()
                    .await?;
                response.error_for_status().map(|_| ())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect::<Vec<_>>()
        .await;
    let elapsed = started.elapsed().as_secs_f64().max(1e-6);
    sent.into_iter().collect::<Result<Vec<()>, reqwest::Error>>().context("a baseline request failed")?;
    Ok(bodies.len() as f64 / elapsed)
}
