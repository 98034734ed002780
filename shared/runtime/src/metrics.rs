//! The process's Prometheus recorder: installed once, rendered by the `/metrics` route of every
//! process (no listener of its own).

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Buckets of every `*_seconds` histogram: from a millisecond (a `/healthz` answer) to a minute
/// (the longest probe timeout). Without buckets the exporter would render summaries, which
/// Prometheus cannot aggregate across processes.
const SECONDS_BUCKETS: [f64; 16] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Installs the recorder the first time it is called, and returns its handle ever after. Tests
/// start many apps in one process, and a global recorder can be set only once, so every start
/// calls this and all share one registry.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &SECONDS_BUCKETS) {
            Ok(builder) => builder,
            // Only empty buckets are refused, and the constant is not empty.
            Err(error) => unreachable!("the seconds buckets were refused: {error}"),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if let Err(error) = metrics::set_global_recorder(recorder) {
            // Only an embedding program that set its own recorder gets here; ours then renders empty.
            tracing::warn!(%error, "another metrics recorder is installed; /metrics will be empty");
        }
        handle
    })
}

/// Every metric of this process in the Prometheus text exposition format.
pub fn render() -> String {
    let handle = install();
    // Without an exporter of its own, nothing else drains histogram buckets.
    handle.run_upkeep();
    handle.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installing_twice_keeps_one_registry() {
        let first = install() as *const PrometheusHandle;
        let second = install() as *const PrometheusHandle;
        assert_eq!(first, second);
        metrics::counter!("healthmon_runtime_test_installs_total").increment(3);
        assert!(render().contains("healthmon_runtime_test_installs_total 3"), "{}", render());
    }

    #[test]
    fn seconds_histograms_render_as_histograms_with_buckets() {
        install();
        metrics::histogram!("healthmon_runtime_test_wait_seconds").record(0.003);
        let text = render();
        assert!(text.contains("# TYPE healthmon_runtime_test_wait_seconds histogram"), "{text}");
        assert!(text.contains("healthmon_runtime_test_wait_seconds_bucket{le=\"0.005\"} 1"), "{text}");
        assert!(text.contains("healthmon_runtime_test_wait_seconds_bucket{le=\"0.0025\"} 0"), "{text}");
    }
}
