use chrono::Utc;
use healthmon_domain::events::{HealthChanged, TargetChanged};
use healthmon_domain::target::parse_spec;
use healthmon_domain::{HealthStatus, Target};
use serde_json::json;

use super::*;

fn target(tags: &[&str]) -> Target {
    let spec = parse_spec(&json!({"name": "t", "kind": "http", "url": "http://127.0.0.1/", "tags": tags})).unwrap();
    Target::create(spec, Utc::now())
}

fn health(target: &Target, to: HealthStatus, slot: i64) -> HealthChanged {
    HealthChanged {
        target_id: target.id,
        name: "t".into(),
        from: HealthStatus::Unknown,
        to,
        at: Utc::now(),
        reason: String::new(),
        consecutive_successes: 0,
        consecutive_failures: 0,
        slot,
        check_version: target.check_version,
    }
}

#[test]
fn given_no_targets_then_the_aggregate_passes() {
    let tally = Tally::default();
    assert!(tally.aggregate().all.passing());
    assert_eq!(tally.aggregate().all.total(), 0);
}

#[test]
fn given_a_new_target_then_it_counts_as_unknown_and_fails_until_healthy() {
    let mut tally = Tally::default();
    let t = target(&["payments"]);
    tally.apply_target(&TargetChanged::Created { target: t.clone() });
    assert_eq!(tally.aggregate().all.unknown, 1);
    assert!(!tally.aggregate().all.passing());
    assert!(tally.apply_health(&health(&t, HealthStatus::Healthy, 10)));
    let aggregate = tally.aggregate();
    assert!(aggregate.all.passing());
    assert_eq!(aggregate.counts(Some("payments")).healthy, 1);
    assert_eq!(aggregate.counts(Some("other")).total(), 0);
}

#[test]
fn given_an_older_health_event_then_it_changes_nothing() {
    let mut tally = Tally::default();
    let t = target(&[]);
    tally.apply_target(&TargetChanged::Created { target: t.clone() });
    tally.apply_health(&health(&t, HealthStatus::Unhealthy, 20));
    assert!(!tally.apply_health(&health(&t, HealthStatus::Healthy, 10)));
    assert_eq!(tally.aggregate().all.unhealthy, 1);
}

#[test]
fn given_a_paused_target_then_it_does_not_fail_the_aggregate() {
    let mut tally = Tally::default();
    let mut t = target(&["a"]);
    tally.apply_target(&TargetChanged::Created { target: t.clone() });
    t.spec.enabled = false;
    t.revision += 1;
    tally.apply_target(&TargetChanged::Updated { target: t });
    let aggregate = tally.aggregate();
    assert_eq!((aggregate.all.paused, aggregate.all.unknown), (1, 0));
    assert!(aggregate.all.passing());
}

#[test]
fn given_a_deleted_target_then_late_events_do_not_bring_it_back() {
    let mut tally = Tally::default();
    let t = target(&["a"]);
    tally.apply_target(&TargetChanged::Created { target: t.clone() });
    tally.apply_target(&TargetChanged::Deleted { id: t.id, revision: 2, keep_history: false });
    tally.apply_target(&TargetChanged::Created { target: t.clone() });
    assert!(!tally.apply_health(&health(&t, HealthStatus::Unhealthy, 5)));
    let aggregate = tally.aggregate();
    assert_eq!(aggregate.all.total(), 0);
    assert!(aggregate.by_tag.is_empty());
}

#[test]
fn given_a_forged_delete_when_the_store_resyncs_the_target_then_it_counts_again_with_its_health() {
    let mut tally = Tally::default();
    let t = target(&["a"]);
    tally.apply_target(&TargetChanged::Created { target: t.clone() });
    tally.apply_health(&health(&t, HealthStatus::Healthy, 5));
    tally.apply_target(&TargetChanged::Deleted { id: t.id, revision: 9, keep_history: true });
    assert_eq!(tally.aggregate().all.total(), 0);

    tally.apply_target(&TargetChanged::resynced(t.id, Some(t.clone())));

    assert_eq!(tally.aggregate().all.unknown, 1, "back on the board; its health comes with the next event");
    assert!(tally.apply_health(&health(&t, HealthStatus::Healthy, 6)));
    assert_eq!(tally.aggregate().counts(Some("a")).healthy, 1);
}

#[test]
fn given_a_target_the_store_lost_when_resynced_absent_then_it_leaves_the_board_for_good() {
    let mut tally = Tally::default();
    let t = target(&["a"]);
    tally.apply_target(&TargetChanged::Created { target: t.clone() });

    tally.apply_target(&TargetChanged::resynced(t.id, None));

    assert_eq!(tally.aggregate().all.total(), 0);
    assert!(tally.aggregate().by_tag.is_empty());
    assert!(!tally.apply_health(&health(&t, HealthStatus::Unhealthy, 7)), "late health is not news");
    tally.apply_target(&TargetChanged::Created { target: t.clone() });
    assert_eq!(tally.aggregate().all.total(), 0, "a replayed older event does not bring it back");
}

#[test]
fn given_a_board_loaded_from_the_store_when_a_resync_repeats_it_then_the_counts_stay() {
    let mut tally = Tally::default();
    let t = target(&["a"]);
    tally.apply_target(&TargetChanged::Created { target: t.clone() });
    tally.apply_health(&health(&t, HealthStatus::Healthy, 5));

    tally.apply_target(&TargetChanged::resynced(t.id, Some(t.clone())));

    let aggregate = tally.aggregate();
    assert_eq!((aggregate.all.healthy, aggregate.all.total()), (1, 1));
    assert_eq!(aggregate.counts(Some("a")).healthy, 1);
}
