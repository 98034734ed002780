//! Scenario `events`: latency from publishing the sample that flips a target (thresholds 1, so
//! every sample flips it) to a `health.changed` event reaching a plain NATS subscriber and an SSE
//! client of `GET /api/v1/events`, through the real projector, outbox relay and api. Baseline:
//! the bare NATS round trip, publish to subscriber, on the same server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use healthmon_bus::{EventBus, Stream};
use healthmon_domain::Sample;
use healthmon_domain::events::{decode_health, encode_sample, source};
use healthmon_domain::sample::sample_id;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::cluster::{self, Cluster};
use crate::infra::Infra;
use crate::report;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Health flips to time.
    #[arg(long, default_value_t = 200)]
    pub flips: usize,
    /// Pause between flips, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub pause_ms: u64,
}

/// p99 of both deliveries must stay below this.
const TARGET_P99_MS: f64 = 50.0;
/// A flip whose event has not arrived by then counts as missed.
const FLIP_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn run(args: &Args) -> anyhow::Result<()> {
    anyhow::ensure!(args.flips > 0, "--flips must be positive");
    Infra::scope(async |infra| {
        let cluster = Cluster::start(infra, &["api", "projector"]).await?;
        let outcome = measure(infra, args, &cluster).await;
        cluster.stop().await;
        outcome
    })
    .await
}

/// When an event about `slot` arrived.
type Arrival = (i64, Instant);

async fn measure(infra: &Infra, args: &Args, cluster: &Cluster) -> anyhow::Result<()> {
    report::title(&format!("events ({} flips)", args.flips));
    let addr = cluster.api()?;
    let token = cluster::login(addr).await?;
    let id = create_target(addr, &token).await?;

    let nats = infra.nats().await?;
    let mut subscription = nats
        .subscribe(infra.naming().subject(Stream::Health, &id.to_string()))
        .await
        .context("subscribe to health.changed")?;
    nats.flush().await.context("flush the subscription")?;
    let (nats_tx, mut nats_rx) = mpsc::unbounded_channel::<Arrival>();
    let nats_reader = tokio::spawn(async move {
        while let Some(message) = subscription.next().await {
            let arrived = Instant::now();
            if let Ok(change) = decode_health(&message.payload)
                && nats_tx.send((change.slot, arrived)).is_err()
            {
                return;
            }
        }
    });
    let (sse_tx, mut sse_rx) = mpsc::unbounded_channel::<Arrival>();
    let (opened_tx, opened_rx) = tokio::sync::oneshot::channel();
    let sse_reader = tokio::spawn(read_sse(addr, token, sse_tx, opened_tx));
    tokio::time::timeout(Duration::from_secs(10), opened_rx)
        .await
        .context("the event stream did not open within 10 s")?
        .context("the event stream failed to open")?;

    let components = infra.components().await?;
    let mut via_nats = report::histogram();
    let mut via_sse = report::histogram();
    let mut missed = (0usize, 0usize);
    let base_slot = chrono::Utc::now().timestamp_millis();
    for flip in 0..args.flips {
        let slot = base_slot + flip as i64 * 1000;
        let published = publish_flip(components.bus.as_ref(), id, slot, flip % 2 == 0).await?;
        match arrival(&mut nats_rx, slot).await {
            Some(at) => report::record(&mut via_nats, (at - published).as_micros() as u64),
            None => missed.0 += 1,
        }
        match arrival(&mut sse_rx, slot).await {
            Some(at) => report::record(&mut via_sse, at.saturating_duration_since(published).as_micros() as u64),
            None => missed.1 += 1,
        }
        tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
    }
    nats_reader.abort();
    sse_reader.abort();

    let baseline = round_trips(&nats, infra, args.flips).await?;
    let counted = |missed: usize| format!("({} of {} arrived)", args.flips - missed, args.flips);
    report::line("healthmon", &format!("NATS  {}   {}", report::latencies(&via_nats), counted(missed.0)));
    report::line("", &format!("SSE   {}   {}", report::latencies(&via_sse), counted(missed.1)));
    report::line("baseline", &format!("NATS publish -> subscriber   {}", report::latencies(&baseline)));
    let (nats_p99, sse_p99) = (report::ms(&via_nats, 0.99), report::ms(&via_sse, 0.99));
    let pass = missed == (0, 0) && nats_p99 < TARGET_P99_MS && sse_p99 < TARGET_P99_MS;
    report::line(
        "p99",
        &format!(
            "NATS {}, SSE {} (target < {TARGET_P99_MS} ms)  {}",
            report::millis(nats_p99),
            report::millis(sse_p99),
            report::verdict(pass)
        ),
    );
    Ok(())
}

/// One target through `POST /api/v1/targets`: thresholds 1, an hour's interval, never probed
/// (no prober runs), so only the benchmark's samples move it.
async fn create_target(addr: SocketAddr, token: &str) -> anyhow::Result<Uuid> {
    let body = json!({
        "name": "events-flip", "kind": "http", "url": "http://127.0.0.1:9/",
        "interval_s": 3600, "healthy_threshold": 1, "unhealthy_threshold": 1,
    });
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/api/v1/targets"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .context("create the target")?;
    anyhow::ensure!(response.status().as_u16() == 201, "creating the target answered {}", response.status());
    let created: Value = response.json().await.context("the created target")?;
    created["id"].as_str().context("a created target without id")?.parse().context("the target id")
}

/// Publishes the sample of `slot` as a prober would; returns when it was handed to the bus.
pub async fn publish_flip(bus: &dyn EventBus, target_id: Uuid, slot: i64, success: bool) -> anyhow::Result<Instant> {
    let sample = Sample {
        id: sample_id(target_id, slot),
        target_id,
        slot,
        at: chrono::Utc::now(),
        success,
        status_code: success.then_some(200),
        latency_ms: 1.0,
        error: (!success).then(|| "connection refused".to_owned()),
        prober: "bench-1".into(),
        check_version: 1,
        pin_host_key: None,
    };
    let payload = Bytes::from(encode_sample(&sample, &source("prober", "bench-1")));
    let published = Instant::now();
    bus.publish(Stream::Samples, &target_id.to_string(), &sample.id.to_string(), payload)
        .await
        .context("publish a flipping sample")?;
    Ok(published)
}

/// The arrival of the event about `slot`, skipping any older ones; `None` after the timeout.
async fn arrival(arrivals: &mut mpsc::UnboundedReceiver<Arrival>, slot: i64) -> Option<Instant> {
    let deadline = tokio::time::Instant::now() + FLIP_TIMEOUT;
    loop {
        match tokio::time::timeout_at(deadline, arrivals.recv()).await {
            Ok(Some((seen, at))) if seen == slot => return Some(at),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

/// Reads `GET /api/v1/events` and reports each health change's slot as it arrives.
async fn read_sse(
    addr: SocketAddr,
    token: String,
    arrivals: mpsc::UnboundedSender<Arrival>,
    opened: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<()> {
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/events"))
        .bearer_auth(&token)
        .send()
        .await
        .context("open the event stream")?;
    anyhow::ensure!(response.status().is_success(), "the event stream answered {}", response.status());
    let mut opened = Some(opened);
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    let mut data = String::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("read the event stream")?;
        let arrived = Instant::now();
        if let Some(opened) = opened.take() {
            let _ = opened.send(());
        }
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if let Some(value) = line.strip_prefix("data:") {
                data.push_str(value.trim_start());
            } else if line.is_empty() && !data.is_empty() {
                let event: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
                data.clear();
                if let Some(slot) = event["data"]["slot"].as_i64()
                    && arrivals.send((slot, arrived)).is_err()
                {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// The floor: core NATS publish to a subscriber on the same connection's server, `count` times.
async fn round_trips(
    nats: &async_nats::Client,
    infra: &Infra,
    count: usize,
) -> anyhow::Result<hdrhistogram::Histogram<u64>> {
    let subject = format!("{}.bench.roundtrip", infra.prefix);
    let listener = infra.nats().await?;
    let mut subscription = listener.subscribe(subject.clone()).await.context("subscribe for round trips")?;
    listener.flush().await.context("flush the round-trip subscription")?;
    let mut histogram = report::histogram();
    for _ in 0..count {
        let sent = Instant::now();
        nats.publish(subject.clone(), Bytes::from_static(b"ping")).await.context("publish a round trip")?;
        nats.flush().await.context("flush a round trip")?;
        if tokio::time::timeout(FLIP_TIMEOUT, subscription.next()).await.ok().flatten().is_some() {
            report::record(&mut histogram, sent.elapsed().as_micros() as u64);
        }
    }
    Ok(histogram)
}
