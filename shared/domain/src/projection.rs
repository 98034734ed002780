//! The projection's rules, free of storage: a batch of fresh samples through each target's
//! threshold state machine, a changed check resetting health, a silent target turning stale. The
//! store runs these inside its transactions and writes down what they decide.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::events::HealthChanged;
use crate::{HealthState, Sample, Target, Thresholds, Transition};

/// A target has no sample for this many of its intervals: it is stale.
pub const STALE_AFTER_INTERVALS: i64 = 3;

/// What the projection needs to know about a target. Deliberately not the full definition, so a
/// batch does not parse every target's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectedTarget {
    pub name: String,
    pub check_version: i64,
    pub thresholds: Thresholds,
    pub health: HealthState,
}

/// One status change to record: the transition, and the event that announces it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub target_id: Uuid,
    pub transition: Transition,
    pub event: HealthChanged,
}

/// The effect of one batch of samples on health.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Projection {
    /// Targets whose stored health must be rewritten, ascending.
    pub changed_health: Vec<Uuid>,
    /// Status changes, in the order they happened per target.
    pub changes: Vec<Change>,
}

/// Feeds newly stored samples to their targets' state machines in (target, slot) order. Samples of
/// targets not in `targets` are ignored.
pub fn apply_samples(targets: &mut BTreeMap<Uuid, ProjectedTarget>, mut fresh: Vec<&Sample>) -> Projection {
    fresh.sort_by_key(|sample| (sample.target_id, sample.slot));
    let mut projection = Projection::default();
    for group in fresh.chunk_by(|a, b| a.target_id == b.target_id) {
        let target_id = group[0].target_id;
        let Some(target) = targets.get_mut(&target_id) else { continue };
        let before = target.health.clone();
        for sample in group {
            let Some(transition) = target.health.observe(sample, target.thresholds) else { continue };
            // Mirrors `HealthChanged::new`, which wants a full `Target` that ingest does not load.
            let event = HealthChanged {
                target_id,
                name: target.name.clone(),
                from: transition.from,
                to: transition.to,
                at: transition.at,
                reason: transition.reason.clone(),
                consecutive_successes: target.health.consecutive_successes,
                consecutive_failures: target.health.consecutive_failures,
                slot: transition.slot,
                check_version: target.check_version,
            };
            projection.changes.push(Change { target_id, transition, event });
        }
        if target.health != before {
            projection.changed_health.push(target_id);
        }
    }
    projection
}

/// When the target's check changed since `health` was computed, resets it; the change to record,
/// if the status moved.
pub fn reset_if_check_changed(target: &Target, health: &mut HealthState, now: DateTime<Utc>) -> Option<Change> {
    if health.check_version == target.check_version {
        return None;
    }
    let transition = health.reset_for_new_check(target.check_version, now)?;
    let event = HealthChanged::new(target, &transition, 0, 0);
    Some(Change { target_id: target.id, transition, event })
}

/// Marks a silent target stale; the change to record, if it was not stale already.
pub fn mark_stale(target: &Target, health: &mut HealthState, now: DateTime<Utc>) -> Option<Change> {
    let reason = format!("no sample for {STALE_AFTER_INTERVALS} intervals");
    let transition = health.mark_stale(now, reason)?;
    let event = HealthChanged::new(target, &transition, 0, 0);
    Some(Change { target_id: target.id, transition, event })
}

#[cfg(test)]
mod tests {
    use crate::HealthStatus;
    use crate::sample::sample_id;
    use crate::target::parse_spec;

    use super::*;

    fn target() -> Target {
        let spec = parse_spec(&serde_json::json!({"name": "t", "kind": "tcp", "host": "localhost", "port": 1}))
            .expect("a valid spec");
        Target::create(spec, Utc::now())
    }

    fn sample(target: &Target, slot: i64, success: bool) -> Sample {
        Sample {
            id: sample_id(target.id, slot),
            target_id: target.id,
            slot,
            at: DateTime::from_timestamp_millis(slot).expect("a time"),
            success,
            status_code: None,
            latency_ms: 1.0,
            error: (!success).then(|| "refused".to_owned()),
            prober: "p".to_owned(),
            check_version: target.check_version,
            pin_host_key: None,
        }
    }

    fn projected(target: &Target) -> BTreeMap<Uuid, ProjectedTarget> {
        let state = ProjectedTarget {
            name: target.spec.name.clone(),
            check_version: target.check_version,
            thresholds: Thresholds::default(),
            health: HealthState::new(target.check_version),
        };
        BTreeMap::from([(target.id, state)])
    }

    #[test]
    fn given_five_successes_out_of_order_when_applied_then_the_target_turns_healthy_once() {
        let target = target();
        let mut targets = projected(&target);
        let samples: Vec<Sample> = [5, 3, 1, 4, 2].into_iter().map(|n| sample(&target, n * 1000, true)).collect();

        let projection = apply_samples(&mut targets, samples.iter().collect());

        assert_eq!(projection.changed_health, vec![target.id]);
        assert_eq!(projection.changes.len(), 1);
        assert_eq!(projection.changes[0].event.to, HealthStatus::Healthy);
        assert_eq!(projection.changes[0].event.slot, 5000, "the fifth success in slot order");
    }

    #[test]
    fn given_samples_of_an_unknown_target_when_applied_then_nothing_changes() {
        let (known, unknown) = (target(), target());
        let mut targets = projected(&known);
        let stray = sample(&unknown, 1000, true);

        assert_eq!(apply_samples(&mut targets, vec![&stray]), Projection::default());
    }

    #[test]
    fn given_a_healthy_target_when_its_check_changes_then_it_is_reset_to_unknown_once() {
        let target = target();
        let mut health = HealthState { status: HealthStatus::Healthy, ..HealthState::new(target.check_version - 1) };

        let change = reset_if_check_changed(&target, &mut health, Utc::now()).expect("a reset");

        assert_eq!((change.event.from, change.event.to), (HealthStatus::Healthy, HealthStatus::Unknown));
        assert!(reset_if_check_changed(&target, &mut health, Utc::now()).is_none(), "the same check again");
    }

    #[test]
    fn given_a_silent_target_when_marked_stale_twice_then_one_change_is_recorded() {
        let target = target();
        let mut health = HealthState::new(target.check_version);

        let change = mark_stale(&target, &mut health, Utc::now()).expect("stale");

        assert_eq!(change.event.to, HealthStatus::Stale);
        assert!(change.event.reason.contains("3 intervals"));
        assert!(mark_stale(&target, &mut health, Utc::now()).is_none());
    }
}
