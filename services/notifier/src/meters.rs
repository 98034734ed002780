//! The notifier's metrics: deliveries by kind and outcome, attempts, the pending queue, and the
//! time from a health change to the request that tells a receiver about it.

use std::time::Duration;

use healthmon_store::alerting::QueueStats;

/// One request (or SMTP session) to a receiver; `outcome` is `ok` or `error`.
pub fn attempted(kind: &str, outcome: &'static str) {
    metrics::counter!("healthmon_delivery_attempts_total", "kind" => kind.to_owned(), "outcome" => outcome)
        .increment(1);
}

/// A delivery reached its end: `delivered` or `failed`.
pub fn finished(kind: &str, outcome: &'static str) {
    metrics::counter!("healthmon_deliveries_total", "kind" => kind.to_owned(), "outcome" => outcome).increment(1);
}

/// From the health change to the first request about it (triggers after `trigger_after_s` include
/// that wait, by design: it is what the receiver experiences).
pub fn change_to_request(latency: Duration) {
    metrics::histogram!("healthmon_alert_latency_seconds").record(latency.as_secs_f64());
}

pub fn queue(stats: QueueStats, now: chrono::DateTime<chrono::Utc>) {
    metrics::gauge!("healthmon_deliveries_pending").set(stats.pending as f64);
    let oldest = stats.oldest_pending_at.map_or(0.0, |at| (now - at).num_milliseconds().max(0) as f64 / 1000.0);
    metrics::gauge!("healthmon_delivery_oldest_pending_seconds").set(oldest);
}
