//! Given samples, when they are rolled up (and rollups merged), then what they come to.

use proptest::prelude::*;

use super::*;

/// The nearest-rank percentile of `values`, exactly.
fn exact(values: &[f64], quantile: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((quantile * sorted.len() as f64).ceil() as usize).max(1);
    sorted[rank - 1]
}

fn rolled(values: &[(bool, f64)]) -> Rollup {
    let mut rollup = Rollup::default();
    for (success, latency) in values {
        rollup.add(*success, *latency);
    }
    rollup
}

#[test]
fn an_empty_rollup_answers_nothing() {
    let empty = Rollup::default();
    assert_eq!((empty.uptime(), empty.mean_ms(), empty.min_ms(), empty.percentile_ms(0.99)), (None, None, None, None));
}

#[test]
fn counts_sums_and_extremes_are_exact() {
    let rollup = rolled(&[(true, 10.0), (false, 30.0), (true, 20.0), (true, 40.0)]);
    assert_eq!((rollup.samples, rollup.successes), (4, 3));
    assert_eq!(rollup.uptime(), Some(0.75));
    assert_eq!((rollup.mean_ms(), rollup.min_ms(), rollup.max_ms()), (Some(25.0), Some(10.0), Some(40.0)));
}

#[test]
fn every_latency_lands_in_a_bucket_whatever_it_is() {
    for latency in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-9, 0.1, 0.11, 1e9] {
        assert!(bucket_of(latency) < BUCKETS, "{latency}");
    }
    assert_eq!((bucket_of(1e9), bucket_of(f64::INFINITY)), (BUCKETS - 1, BUCKETS - 1));
    assert_eq!((bucket_of(f64::NEG_INFINITY), bucket_of(f64::NAN), bucket_of(-1.0)), (0, 0, 0));
    assert!(bucket_of(10.0) < bucket_of(12.5), "buckets grow with the latency");
}

#[test]
fn the_day_is_its_hours() {
    let (morning, evening) = (rolled(&[(true, 5.0), (false, 900.0)]), rolled(&[(true, 7.0)]));
    let mut day = morning.clone();
    day.merge(&evening);
    assert_eq!(day, rolled(&[(true, 5.0), (false, 900.0), (true, 7.0)]));
    let mut with_nothing = day.clone();
    with_nothing.merge(&Rollup::default());
    assert_eq!(with_nothing, day, "an empty rollup changes nothing");
}

proptest! {
    #[test]
    fn percentiles_are_within_ten_percent_of_the_exact_value(
        latencies in proptest::collection::vec(0.5f64..120_000.0, 1..400),
        quantile in prop_oneof![Just(0.5), Just(0.95), Just(0.99), 0.01f64..1.0],
    ) {
        let rollup = rolled(&latencies.iter().map(|latency| (true, *latency)).collect::<Vec<_>>());
        let estimate = rollup.percentile_ms(quantile).expect("samples");
        let truth = exact(&latencies, quantile);
        prop_assert!((estimate - truth).abs() <= 0.1 * truth, "{estimate} vs {truth}");
    }

    #[test]
    fn merging_in_any_split_is_rolling_up_the_whole(
        values in proptest::collection::vec((any::<bool>(), 0.0f64..5_000.0), 0..200),
        split in 0usize..200,
    ) {
        let split = split.min(values.len());
        let mut merged = rolled(&values[..split]);
        merged.merge(&rolled(&values[split..]));
        let whole = rolled(&values);
        prop_assert_eq!((merged.samples, merged.successes, merged.histogram), (whole.samples, whole.successes, whole.histogram));
        prop_assert!((merged.latency_sum_ms - whole.latency_sum_ms).abs() < 1e-6);
    }
}

#[test]
fn a_sample_counts_once_at_each_width_in_the_bucket_its_slot_falls_in() {
    let target = uuid::Uuid::from_u128(7);
    let slot = 1_764_000_123_456;
    let sample = crate::Sample {
        id: crate::sample::sample_id(target, slot),
        target_id: target,
        slot,
        at: chrono::DateTime::from_timestamp_millis(slot).expect("time"),
        success: true,
        status_code: Some(200),
        latency_ms: 12.0,
        error: None,
        prober: "p".into(),
        check_version: 1,
        pin_host_key: None,
    };
    let rollups = rollups_of([&sample, &sample]);
    let keys: Vec<(u32, i64)> = rollups.keys().map(|key| (key.step_s, key.bucket)).collect();
    assert_eq!(keys, [(300, 1_764_000_000_000), (3_600, 1_764_000_000_000), (86_400, 1_763_942_400_000)]);
    assert!(rollups.values().all(|rollup| rollup.samples == 2 && rollup.successes == 2));
}

proptest! {
    #[test]
    fn a_rollup_stored_sparsely_reads_back_the_same(values in proptest::collection::vec((any::<bool>(), 0.0f64..1e6), 0..50)) {
        let rollup = rolled(&values);
        let back = Rollup::from_stored(
            rollup.samples,
            rollup.successes,
            rollup.latency_sum_ms,
            rollup.latency_min_ms,
            rollup.latency_max_ms,
            &rollup.sparse_histogram(),
        );
        prop_assert_eq!(back, rollup);
    }
}
