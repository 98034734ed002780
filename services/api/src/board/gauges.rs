//! `healthmon_targets{status}`: the board's counts as Prometheus gauges, five series whatever the
//! number of targets (per-target state stays in the API, never in metrics).

use metrics::Gauge;

use super::Counts;

pub const TARGETS_METRIC: &str = "healthmon_targets";

/// One handle per status, registered once, so a board update is five atomic stores.
#[derive(Clone)]
pub struct StatusGauges {
    healthy: Gauge,
    unhealthy: Gauge,
    unknown: Gauge,
    stale: Gauge,
    paused: Gauge,
}

impl StatusGauges {
    pub fn register() -> Self {
        healthmon_runtime::metrics::install();
        metrics::describe_gauge!(TARGETS_METRIC, "Targets per health status, as this API's board has them");
        let gauge = |status: &'static str| metrics::gauge!(TARGETS_METRIC, "status" => status);
        Self {
            healthy: gauge("healthy"),
            unhealthy: gauge("unhealthy"),
            unknown: gauge("unknown"),
            stale: gauge("stale"),
            paused: gauge("paused"),
        }
    }

    pub fn show(&self, counts: &Counts) {
        self.healthy.set(counts.healthy as f64);
        self.unhealthy.set(counts.unhealthy as f64);
        self.unknown.set(counts.unknown as f64);
        self.stale.set(counts.stale as f64);
        self.paused.set(counts.paused as f64);
    }
}
