//! Uptime and series bodies from what the store and the domain worked out.

use chrono::{DateTime, Duration, Utc};
use healthmon_domain::history::{Range, Rollup};
use healthmon_store::history::SeriesBucket;
use healthmon_wire::{LatencySummary, SeriesItem, SeriesLatency, SeriesView, UptimeView};

/// A span's uptime: `totals` of the samples outside maintenance, with the span's downtime and
/// time in maintenance.
pub fn uptime(range: &Range, totals: &Rollup, downtime: Duration, maintenance: Duration) -> UptimeView {
    UptimeView {
        from: range.from,
        to: range.to,
        samples: totals.samples,
        successes: totals.successes,
        failures: totals.samples - totals.successes,
        uptime: totals.uptime(),
        downtime_s: seconds(downtime),
        maintenance_s: seconds(maintenance),
        latency_ms: LatencySummary {
            mean: totals.mean_ms(),
            min: totals.min_ms(),
            max: totals.max_ms(),
            p95: totals.percentile_ms(0.95),
            p99: totals.percentile_ms(0.99),
        },
    }
}

pub fn series(step_s: u32, buckets: &[SeriesBucket]) -> SeriesView {
    let items = buckets
        .iter()
        .filter(|bucket| bucket.samples > 0)
        .filter_map(|bucket| {
            Some(SeriesItem {
                start: DateTime::<Utc>::from_timestamp_millis(bucket.start_ms)?,
                samples: bucket.samples,
                successes: bucket.successes,
                latency_ms: SeriesLatency {
                    mean: bucket.latency_sum_ms / bucket.samples as f64,
                    max: bucket.latency_max_ms,
                },
            })
        })
        .collect();
    SeriesView { step_s, items }
}

fn seconds(duration: Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}
