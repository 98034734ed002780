//! Scenario `probes`: the real prober (plan follower, scheduler, HTTP checks, sample buffer and
//! publisher) at scale against a local target server: probes/s, scheduling lag (probe start −
//! slot, from the published samples), CPU seconds and RSS of the process. Baseline, when
//! installed: prometheus-blackbox-exporter's `/probe`, driven by the load generator.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use healthmon_bus::{StartAt, Stream};
use healthmon_domain::events::decode_sample;
use healthmon_runtime::outbox::OutboxRelay;

use crate::cluster::{self, Cluster};
use crate::infra::Infra;
use crate::load::Load;
use crate::target_server::{THREAD_NAME, TargetServer};
use crate::{procstat, report};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Target counts, paired in order with --interval.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000])]
    pub targets: Vec<usize>,
    /// Probe intervals in seconds, one per --targets value (a single value applies to all).
    #[arg(long, value_delimiter = ',', default_values_t = [1u32, 60])]
    pub interval: Vec<u32>,
    /// Measured seconds [default: two intervals or 30 s, whichever is longer].
    #[arg(long)]
    pub window: Option<u64>,
}

/// Lag p99 must stay below this.
const LAG_TARGET_MS: f64 = 250.0;
/// RSS must stay below this many bytes per target, plus [`RSS_FIXED`].
const RSS_PER_TARGET: u64 = 1024;
const RSS_FIXED: u64 = 100 * 1024 * 1024;
const OWNED_METRIC: &str = "healthmon_prober_owned_targets";
const PUBLISHED_METRIC: &str = "healthmon_prober_samples_published_total";
const BLACKBOX: &str = "prometheus-blackbox-exporter";

pub async fn run(args: &Args) -> anyhow::Result<()> {
    for (index, &targets) in args.targets.iter().enumerate() {
        let interval = match args.interval.as_slice() {
            [single] => *single,
            several => *several.get(index).context("give one --interval per --targets value")?,
        };
        anyhow::ensure!(targets > 0 && interval > 0, "--targets and --interval must be positive");
        Infra::scope(async |infra| one(infra, args, targets, interval).await).await?;
    }
    Ok(())
}

async fn one(infra: &Infra, args: &Args, targets: usize, interval: u32) -> anyhow::Result<()> {
    let window = Duration::from_secs(args.window.unwrap_or((2 * u64::from(interval)).max(30)));
    let warmup = Duration::from_secs(u64::from(interval).max(2));
    report::title(&format!("probes ({targets} targets, interval {interval} s, window {} s)", window.as_secs()));
    let server = TargetServer::start(1)?;
    let components = infra.components().await?;
    let specs = (0..targets).map(|i| cluster::http_target(format!("probe-{i}"), server.url(i), interval, 5)).collect();
    cluster::create_targets(&components.store, specs).await?;
    // What the api's relay would do: put the target events on the targets stream.
    let relay = OutboxRelay::new(components.store.clone(), components.bus.clone());
    let relayed = Instant::now();
    let mut total = 0;
    for _ in 0..1_000 {
        let batch = relay.relay_now().await.context("relay the target events")?;
        total += batch;
        if batch == 0 && total >= targets {
            break;
        }
    }
    anyhow::ensure!(total >= targets, "relayed {total} of {targets} target events");
    println!("   (relayed {total} target events in {:.1} s)", relayed.elapsed().as_secs_f64());

    let rss_before = procstat::rss_bytes()?;
    let prober = Cluster::start(infra, &["prober"]).await?;
    let measured = measure(targets, warmup, window).await;
    prober.stop().await;
    let measured = measured?;

    let lags = lags(infra, &components, measured.window_ms).await?;
    let probes_per_second = lags.len() as f64 / window.as_secs_f64();
    let expected = targets as f64 / f64::from(interval);
    let limit = RSS_PER_TARGET * targets as u64 + RSS_FIXED;
    report::line(
        "healthmon",
        &format!(
            "probes/s {probes_per_second:.0} (expected {expected:.0}; {} published/s)   lag {}",
            (measured.published / window.as_secs_f64()).round(),
            report::latencies(&lags)
        ),
    );
    let healthmon_cpu = measured.cpu - measured.target_cpu;
    report::line(
        "",
        &format!(
            "cpu {:.1} s ({:.2} cores; the target server {:.1} s of {:.1} s)   rss {} (peak {})",
            healthmon_cpu,
            healthmon_cpu / window.as_secs_f64(),
            measured.target_cpu,
            measured.cpu,
            report::mib(measured.rss_last),
            report::mib(measured.rss_peak),
        ),
    );
    let lag_p99 = report::ms(&lags, 0.99);
    report::line(
        "lag",
        &format!(
            "p99 {} (target < {LAG_TARGET_MS} ms)  {}",
            report::millis(lag_p99),
            report::verdict(!lags.is_empty() && lag_p99 < LAG_TARGET_MS)
        ),
    );
    // Judged on what the prober added: the process also holds whatever earlier scenarios (under
    // `all`) and the target writes left in the allocator.
    let grown = measured.rss_peak.saturating_sub(rss_before);
    report::line(
        "rss",
        &format!(
            "+{} over the {} held before the prober started (target < {})  {}",
            report::mib(grown),
            report::mib(rss_before),
            report::mib(limit),
            report::verdict(grown < limit)
        ),
    );
    blackbox(&server).await
}

struct Measured {
    cpu: f64,
    target_cpu: f64,
    published: f64,
    rss_peak: u64,
    rss_last: u64,
    /// Slots in [start, end) count as this window's probes.
    window_ms: (i64, i64),
}

async fn measure(targets: usize, warmup: Duration, window: Duration) -> anyhow::Result<Measured> {
    let owned = cluster::poll(Duration::from_secs(180), Duration::from_millis(200), || async {
        (metric(OWNED_METRIC)? as usize >= targets).then_some(())
    })
    .await;
    anyhow::ensure!(owned.is_some(), "the prober did not plan all {targets} targets within 180 s");
    tokio::time::sleep(warmup).await;

    let (cpu0, target_cpu0) = (procstat::cpu_seconds()?, procstat::thread_cpu_seconds(THREAD_NAME)?);
    let published0 = metric(PUBLISHED_METRIC).unwrap_or(0.0);
    let start_ms = chrono::Utc::now().timestamp_millis();
    let end = Instant::now() + window;
    let mut rss_peak = 0;
    let mut rss_last = 0;
    // One reading a second, for at most the window.
    while Instant::now() < end {
        rss_last = procstat::rss_bytes()?;
        rss_peak = rss_peak.max(rss_last);
        tokio::time::sleep(Duration::from_secs(1).min(end.saturating_duration_since(Instant::now()))).await;
    }
    let end_ms = start_ms + window.as_millis() as i64;
    let (cpu1, target_cpu1) = (procstat::cpu_seconds()?, procstat::thread_cpu_seconds(THREAD_NAME)?);
    let published1 = metric(PUBLISHED_METRIC).unwrap_or(0.0);
    Ok(Measured {
        cpu: cpu1 - cpu0,
        target_cpu: target_cpu1 - target_cpu0,
        published: published1 - published0,
        rss_peak: rss_peak.max(procstat::rss_bytes()?),
        rss_last,
        window_ms: (start_ms, end_ms),
    })
}

/// One un-labelled series of this process's Prometheus registry (what `/metrics` renders).
fn metric(name: &str) -> Option<f64> {
    let text = healthmon_runtime::metrics::render();
    text.lines()
        .filter_map(|line| line.strip_prefix(name))
        .find_map(|rest| rest.strip_prefix(' ').and_then(|value| value.trim().parse().ok()))
}

/// Scheduling lag (start − slot, µs) of every sample whose slot lies in the window, read back from
/// the samples stream after the prober stopped (so decoding costs the window nothing).
async fn lags(
    infra: &Infra,
    components: &healthmon::Components,
    (start_ms, end_ms): (i64, i64),
) -> anyhow::Result<hdrhistogram::Histogram<u64>> {
    let jetstream = async_nats::jetstream::new(infra.nats().await?);
    let mut stream =
        jetstream.get_stream(infra.naming().stream_name(Stream::Samples)).await.context("open the samples stream")?;
    let last = stream.info().await.context("read the samples stream")?.state.last_sequence;
    let mut histogram = report::histogram();
    if last == 0 {
        return Ok(histogram);
    }
    let mut messages = components.bus.follow(Stream::Samples, StartAt::Beginning).await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline.into(), messages.next()).await {
        let message = message?;
        if let Ok(sample) = decode_sample(&message.payload)
            && (start_ms..end_ms).contains(&sample.slot)
        {
            let lag_us = (sample.at.timestamp_micros() - sample.slot * 1000).max(0);
            report::record(&mut histogram, lag_us as u64);
        }
        if message.sequence >= last {
            break;
        }
    }
    Ok(histogram)
}

/// probes/s of prometheus-blackbox-exporter's `/probe` against the same target server, when it
/// is installed.
async fn blackbox(server: &TargetServer) -> anyhow::Result<()> {
    let installed =
        std::process::Command::new("which").arg(BLACKBOX).output().is_ok_and(|output| output.status.success());
    if !installed {
        report::line(
            "baseline",
            &format!("skipped: {BLACKBOX} is not installed (apt-get install {BLACKBOX}, then run again)"),
        );
        return Ok(());
    }
    let dir = tempfile::tempdir().context("a directory for the blackbox config")?;
    let config = dir.path().join("blackbox.yml");
    std::fs::write(&config, "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n")
        .context("write the blackbox config")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .context("pick a port for the blackbox exporter")?
        .port();
    let mut child = tokio::process::Command::new(BLACKBOX)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("start the blackbox exporter")?;
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let client = reqwest::Client::new();
    let up = cluster::poll(Duration::from_secs(10), Duration::from_millis(100), || async {
        client.get(format!("http://{addr}/-/healthy")).send().await.ok().filter(|r| r.status().is_success())
    })
    .await;
    if up.is_none() {
        let _ = child.kill().await;
        report::line("baseline", "skipped: the blackbox exporter did not come up within 10 s");
        return Ok(());
    }
    let path = format!("/probe?target={}&module=http_2xx", server.url(0));
    let load = Load {
        addr,
        paths: std::sync::Arc::new(vec![path]),
        token: None,
        connections: 32,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(10),
    };
    let outcome = load.run().await;
    let _ = child.kill().await;
    let outcome = outcome?;
    report::line("baseline", &format!("blackbox exporter /probe, 32 connections: {}", outcome.summary()));
    Ok(())
}
