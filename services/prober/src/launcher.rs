//! Launches one probe: runs the check in a task of its own inside a span carrying the probe's
//! trace id, records its metrics, and hands the traced sample to the buffer.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use healthmon_domain::events::encode_sample_traced;
use healthmon_domain::sample::sample_id;
use healthmon_domain::{Check, Sample, Target, TraceParent};
use metrics::Histogram;
use tracing::Instrument;

use crate::buffer::{OutgoingSample, SampleBuffer};
use crate::check::Checker;
use crate::scheduler::{ProbeDone, ProbeLauncher};

pub const PROBE_DURATION_METRIC: &str = "healthmon_probe_duration_seconds";
pub const SCHEDULE_LAG_METRIC: &str = "healthmon_prober_schedule_lag_seconds";

/// Histogram handles per (kind, outcome), registered once: a probe only looks one up.
struct ProbeMetrics {
    /// Indexed by [`kind_index`], then success (1) or failure (0).
    duration: [[Histogram; 2]; 3],
    schedule_lag: Histogram,
}

const KINDS: [&str; 3] = ["http", "tcp", "ssh"];

fn kind_index(check: &Check) -> usize {
    match check {
        Check::Http(_) => 0,
        Check::Tcp(_) => 1,
        Check::Ssh(_) => 2,
    }
}

impl ProbeMetrics {
    fn register() -> Self {
        metrics::describe_histogram!(
            PROBE_DURATION_METRIC,
            metrics::Unit::Seconds,
            "Time one probe took, by check kind and outcome"
        );
        metrics::describe_histogram!(
            SCHEDULE_LAG_METRIC,
            metrics::Unit::Seconds,
            "How late a probe started after its scheduled slot"
        );
        let by_outcome = |kind: &'static str| {
            [
                metrics::histogram!(PROBE_DURATION_METRIC, "kind" => kind, "outcome" => "failure"),
                metrics::histogram!(PROBE_DURATION_METRIC, "kind" => kind, "outcome" => "success"),
            ]
        };
        Self { duration: KINDS.map(by_outcome), schedule_lag: metrics::histogram!(SCHEDULE_LAG_METRIC) }
    }
}

/// Probes in a task of its own and hands the sample to the buffer.
pub(crate) struct SampleLauncher {
    checker: Checker,
    buffer: SampleBuffer,
    source: Arc<str>,
    instance: Arc<str>,
    metrics: Arc<ProbeMetrics>,
}

impl SampleLauncher {
    pub fn new(checker: Checker, buffer: SampleBuffer, source: String, instance: &str) -> Self {
        Self {
            checker,
            buffer,
            source: Arc::from(source),
            instance: Arc::from(instance),
            metrics: Arc::new(ProbeMetrics::register()),
        }
    }
}

impl ProbeLauncher for SampleLauncher {
    fn launch(&self, target: Arc<Target>, slot_ms: i64, done: ProbeDone) {
        let (checker, buffer, source, instance, metrics) = (
            self.checker.clone(),
            self.buffer.clone(),
            self.source.clone(),
            self.instance.clone(),
            self.metrics.clone(),
        );
        let trace = TraceParent::generate();
        let kind = kind_index(&target.spec.check);
        let span = tracing::debug_span!(
            "probe",
            target_id = %target.id,
            slot = slot_ms,
            kind = KINDS[kind],
            trace_id = tracing::field::Empty,
        );
        // Hex-formatting the id is the only cost here; skip it when nobody records the span.
        if !span.is_disabled() {
            span.record("trace_id", trace.trace_id());
        }
        tokio::spawn(
            async move {
                let at = Utc::now();
                metrics.schedule_lag.record(lag_seconds(slot_ms, at));
                let started = Instant::now();
                let outcome = checker.check(&target).await;
                metrics.duration[kind][usize::from(outcome.success)].record(started.elapsed().as_secs_f64());
                drop(done);
                tracing::debug!(success = outcome.success, latency_ms = outcome.latency_ms, "probed");
                let sample = Sample {
                    id: sample_id(target.id, slot_ms),
                    target_id: target.id,
                    slot: slot_ms,
                    at,
                    success: outcome.success,
                    status_code: outcome.status_code,
                    latency_ms: outcome.latency_ms,
                    error: outcome.error,
                    prober: instance.to_string(),
                    check_version: target.check_version,
                    pin_host_key: first_use_pin(&target, outcome.observed_host_key),
                }
                // Whatever the peer wrote (a NUL on an SSH host's stderr, say) must not make the
                // projector's batch unstorable.
                .storable();
                buffer.push(OutgoingSample {
                    key: target.id.to_string(),
                    msg_id: sample.id.to_string(),
                    payload: Bytes::from(encode_sample_traced(&sample, &source, Some(&trace))),
                });
            }
            .instrument(span),
        );
    }
}

/// Seconds from the slot to the probe's start; never negative, as the timer can fire a hair early.
fn lag_seconds(slot_ms: i64, started: DateTime<Utc>) -> f64 {
    let lag_ms = started.timestamp_millis().saturating_sub(slot_ms).max(0);
    lag_ms as f64 / 1000.0
}

/// The host key to pin, when a trust-on-first-use SSH target met one while it had no pin yet.
fn first_use_pin(target: &Target, observed: Option<String>) -> Option<String> {
    match &target.spec.check {
        Check::Ssh(ssh) if ssh.trust_on_first_use && ssh.host_key_sha256.is_none() => observed,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn lag_is_the_start_minus_the_slot_and_never_negative() {
        let slot_ms = 1_700_000_000_000;
        let late = Utc.timestamp_millis_opt(slot_ms + 250).single().expect("a valid time");
        let early = Utc.timestamp_millis_opt(slot_ms - 3).single().expect("a valid time");
        assert_eq!(lag_seconds(slot_ms, late), 0.25);
        assert_eq!(lag_seconds(slot_ms, early), 0.0);
    }
}
