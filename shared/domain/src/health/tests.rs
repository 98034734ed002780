use chrono::TimeZone;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::sample::sample_id;

fn sample(slot: i64, success: bool) -> Sample {
    let target_id = Uuid::from_u128(7);
    Sample {
        id: sample_id(target_id, slot),
        target_id,
        slot,
        at: Utc.timestamp_millis_opt(slot).single().unwrap_or_default(),
        success,
        status_code: Some(if success { 200 } else { 500 }),
        latency_ms: 1.0,
        error: (!success).then(|| "HTTP 500".to_owned()),
        prober: "test".into(),
        check_version: 1,
        pin_host_key: None,
    }
}

fn run(state: &mut HealthState, outcomes: &[bool], first_slot: i64) -> Vec<Transition> {
    outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, ok)| state.observe(&sample(first_slot + i as i64, *ok), Thresholds::default()))
        .collect()
}

#[test]
fn given_unknown_when_four_successes_then_still_unknown_and_the_fifth_makes_it_healthy() {
    let mut state = HealthState::new(1);
    assert!(run(&mut state, &[true; 4], 1).is_empty());
    assert_eq!(state.status, HealthStatus::Unknown);
    let changes = run(&mut state, &[true], 5);
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].from, changes[0].to), (HealthStatus::Unknown, HealthStatus::Healthy));
    assert_eq!(state.status, HealthStatus::Healthy);
}

#[test]
fn given_healthy_when_two_failures_then_healthy_and_the_third_makes_it_unhealthy() {
    let mut state = HealthState::new(1);
    run(&mut state, &[true; 5], 1);
    assert!(run(&mut state, &[false, false], 6).is_empty());
    assert_eq!(state.status, HealthStatus::Healthy);
    let changes = run(&mut state, &[false], 8);
    assert_eq!(changes[0].to, HealthStatus::Unhealthy);
    assert!(changes[0].reason.contains("HTTP 500"), "{}", changes[0].reason);
}

#[test]
fn given_unhealthy_when_a_success_interrupts_then_it_needs_five_in_a_row_again() {
    let mut state = HealthState::new(1);
    run(&mut state, &[false; 3], 1);
    assert!(run(&mut state, &[true, true, true, true, false, true, true, true, true], 4).is_empty());
    assert_eq!(state.status, HealthStatus::Unhealthy);
    assert_eq!(run(&mut state, &[true], 13)[0].to, HealthStatus::Healthy);
}

#[test]
fn given_a_counted_sample_when_it_arrives_again_or_late_then_nothing_moves() {
    let mut state = HealthState::new(1);
    run(&mut state, &[true, true], 10);
    let before = state.clone();
    assert!(state.observe(&sample(11, true), Thresholds::default()).is_none());
    assert!(state.observe(&sample(5, false), Thresholds::default()).is_none());
    assert_eq!(state, before);
}

#[test]
fn given_custom_thresholds_when_observed_then_they_apply() {
    let mut state = HealthState::new(1);
    let thresholds = Thresholds { healthy: 1, unhealthy: 1 };
    assert_eq!(state.observe(&sample(1, true), thresholds).map(|t| t.to), Some(HealthStatus::Healthy));
    assert_eq!(state.observe(&sample(2, false), thresholds).map(|t| t.to), Some(HealthStatus::Unhealthy));
}

#[test]
fn given_a_sample_from_an_older_check_when_observed_then_it_is_ignored() {
    let mut state = HealthState::new(2);
    let mut old = sample(1, true);
    old.check_version = 1;
    assert!(state.observe(&old, Thresholds::default()).is_none());
    assert_eq!(state.consecutive_successes, 0);
}

#[test]
fn given_healthy_when_the_check_changes_then_it_is_unknown_with_counters_reset() {
    let mut state = HealthState::new(1);
    run(&mut state, &[true; 5], 1);
    let change = state.reset_for_new_check(2, Utc::now()).unwrap();
    assert_eq!((change.from, change.to), (HealthStatus::Healthy, HealthStatus::Unknown));
    assert_eq!((state.consecutive_successes, state.last_slot, state.check_version), (0, None, 2));
}

/// The obvious implementation: the distinct samples in slot order, counted one by one.
fn reference(outcomes: &[(i64, bool)], thresholds: Thresholds) -> (HealthStatus, u32, u32) {
    let mut distinct: Vec<(i64, bool)> = outcomes.to_vec();
    distinct.sort_by_key(|(slot, _)| *slot);
    distinct.dedup_by_key(|(slot, _)| *slot);
    let (mut status, mut ok, mut bad) = (HealthStatus::Unknown, 0u32, 0u32);
    for (_, success) in distinct {
        if success {
            ok += 1;
            bad = 0;
        } else {
            bad += 1;
            ok = 0;
        }
        if ok >= thresholds.healthy {
            status = HealthStatus::Healthy;
        }
        if bad >= thresholds.unhealthy {
            status = HealthStatus::Unhealthy;
        }
    }
    (status, ok, bad)
}

proptest! {
    #[test]
    fn any_permutation_with_duplicates_applied_in_slot_order_matches_the_reference(
        outcomes in prop::collection::vec(any::<bool>(), 0..60),
        duplicate_picks in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
        shuffle_seed in any::<u64>(),
        healthy in 1u32..8,
        unhealthy in 1u32..8,
    ) {
        let thresholds = Thresholds { healthy, unhealthy };
        let unique: Vec<(i64, bool)> = outcomes.iter().enumerate().map(|(i, ok)| (i as i64 * 1000, *ok)).collect();
        let mut delivered = unique.clone();
        if !unique.is_empty() {
            delivered.extend(duplicate_picks.iter().map(|pick| unique[pick.index(unique.len())]));
        }
        // A cheap deterministic shuffle, then the projector's own ordering: by slot.
        delivered.sort_by_key(|(slot, _)| (*slot as u64).wrapping_mul(shuffle_seed | 1).rotate_left(17));
        delivered.sort_by_key(|(slot, _)| *slot);

        let mut state = HealthState::new(1);
        for (slot, ok) in &delivered {
            state.observe(&sample(*slot, *ok), thresholds);
        }
        let replayed = {
            let mut again = state.clone();
            for (slot, ok) in &delivered {
                again.observe(&sample(*slot, *ok), thresholds);
            }
            again
        };
        prop_assert_eq!(
            (state.status, state.consecutive_successes, state.consecutive_failures),
            reference(&unique, thresholds)
        );
        prop_assert_eq!(replayed, state);
    }
}

#[test]
fn given_healthy_when_marked_stale_then_counters_restart_and_it_passes_through_unknown() {
    let mut state = HealthState::new(1);
    run(&mut state, &[true; 5], 1);
    let stale = state.mark_stale(Utc::now(), "no sample for 3 intervals".into()).unwrap();
    assert_eq!((stale.from, stale.to, stale.slot), (HealthStatus::Healthy, HealthStatus::Stale, 6));
    assert_eq!((state.consecutive_successes, state.consecutive_failures), (0, 0));
    assert!(state.mark_stale(Utc::now(), "again".into()).is_none(), "stale once");

    let resumed = run(&mut state, &[true], 6);
    assert_eq!((resumed[0].from, resumed[0].to), (HealthStatus::Stale, HealthStatus::Unknown));
    assert!(run(&mut state, &[true; 3], 7).is_empty());
    let healthy = run(&mut state, &[true], 10);
    assert_eq!((healthy[0].from, healthy[0].to), (HealthStatus::Unknown, HealthStatus::Healthy));
}

#[test]
fn given_stale_when_a_sample_crosses_a_threshold_at_once_then_it_moves_from_stale_directly() {
    let mut state = HealthState::new(1);
    state.mark_stale(Utc::now(), "silence".into());
    let change = state.observe(&sample(1, false), Thresholds { healthy: 1, unhealthy: 1 }).unwrap();
    assert_eq!((change.from, change.to), (HealthStatus::Stale, HealthStatus::Unhealthy));
}
