//! Load from a second process, as a load balancer's health checks come: Debian's `wrk`, its
//! requests/s and latency percentiles read from its `--latency` report.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;

/// What one wrk run measured.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Non-2xx/3xx answers plus socket errors: must be 0 for a fair figure.
    pub errors: u64,
}

impl WrkRun {
    pub fn summary(&self) -> String {
        format!(
            "{:.0} req/s   p50 {}   p99 {}   errors {}",
            self.per_second,
            crate::report::millis(self.p50_ms),
            crate::report::millis(self.p99_ms),
            self.errors
        )
    }
}

/// `wrk -t<threads> -c<connections> -d<duration> --latency http://<addr><path>`.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    threads: usize,
    connections: usize,
    duration: Duration,
) -> anyhow::Result<WrkRun> {
    let output = tokio::process::Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .arg("--latency")
        .arg(format!("http://{addr}{path}"))
        .output()
        .await
        .context("run wrk (apt-get install wrk; scripts/bench.sh installs it)")?;
    anyhow::ensure!(output.status.success(), "wrk failed: {}", String::from_utf8_lossy(&output.stderr));
    parse(&String::from_utf8_lossy(&output.stdout))
}

/// Reads wrk's report: `Requests/sec:`, the `50%` and `99%` lines of the latency distribution,
/// `Non-2xx or 3xx responses:` and `Socket errors:`.
pub fn parse(report: &str) -> anyhow::Result<WrkRun> {
    let mut per_second = None;
    let (mut p50_ms, mut p99_ms) = (None, None);
    let mut errors = 0;
    for line in report.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("Requests/sec:") {
            per_second = rest.trim().parse::<f64>().ok();
        } else if let Some(rest) = line.strip_prefix("50%") {
            p50_ms = duration_ms(rest.trim());
        } else if let Some(rest) = line.strip_prefix("99%") {
            p99_ms = duration_ms(rest.trim());
        } else if let Some(rest) = line.strip_prefix("Non-2xx or 3xx responses:") {
            errors += rest.trim().parse::<u64>().unwrap_or(0);
        } else if let Some(rest) = line.strip_prefix("Socket errors:") {
            errors +=
                rest.split(',').filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok()).sum::<u64>();
        }
    }
    Ok(WrkRun {
        per_second: per_second.context("wrk printed no Requests/sec")?,
        p50_ms: p50_ms.context("wrk printed no 50% latency")?,
        p99_ms: p99_ms.context("wrk printed no 99% latency")?,
        errors,
    })
}

/// `812.00us`, `1.23ms`, `2.00s` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    match unit {
        "us" => Some(value / 1000.0),
        "ms" => Some(value),
        "s" => Some(value * 1000.0),
        "m" => Some(value * 60_000.0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "Running 10s test @ http://127.0.0.1:8080/healthz
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   712.34us  201.11us   8.20ms   90.12%
    Req/Sec    88.10k     3.21k   92.00k    71.00%
  Latency Distribution
     50%  690.00us
     75%  780.00us
     90%  900.00us
     99%    1.52ms
  876543 requests in 10.00s, 180.12MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec:  87654.30
Transfer/sec:     18.01MB
";

    #[test]
    fn a_wrk_report_reads_back_as_its_figures() {
        let run = parse(REPORT).expect("a report");
        assert_eq!(run.per_second, 87654.30);
        assert_eq!((run.p50_ms, run.p99_ms), (0.69, 1.52));
        assert_eq!(run.errors, 8);
    }

    #[test]
    fn a_report_without_figures_is_refused() {
        assert!(parse("wrk: connection refused").is_err());
    }
}
