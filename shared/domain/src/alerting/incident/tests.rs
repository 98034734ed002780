//! Given/when/then tests of the incident state machine, and a property over any input sequence.

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a valid time")
}

fn policy(trigger_after_s: u32, remind_every_s: u32) -> RulePolicy {
    RulePolicy { trigger_after_s, send_on_resolved: true, remind_every_s }
}

fn became(status: HealthStatus, when: i64) -> IncidentInput {
    IncidentInput::Became { status, at: at(when), reason: format!("now {status}") }
}

const ID: Uuid = Uuid::from_u128(7);

/// Runs inputs, each `(input, now, maintenance_until)`, from no incident; returns the last state
/// and every notice in order.
fn run(policy: &RulePolicy, inputs: &[(IncidentInput, i64, Option<i64>)]) -> (Option<Incident>, Vec<Notice>) {
    let mut incident = None;
    let mut notices = Vec::new();
    for (input, now, window) in inputs {
        let step = step(incident.as_ref(), input, policy, window.map(at), at(*now), ID);
        incident = step.incident;
        notices.extend(step.notices);
    }
    (incident, notices)
}

fn sent(kind: NoticeKind) -> Notice {
    Notice { kind, suppressed: false }
}

fn held(kind: NoticeKind) -> Notice {
    Notice { kind, suppressed: true }
}

#[test]
fn given_no_delay_when_the_target_fails_then_the_trigger_goes_at_once_and_the_resolve_on_recovery() {
    let (open, notices) = run(&policy(0, 0), &[(became(HealthStatus::Unhealthy, 10), 10, None)]);
    assert_eq!(notices, [sent(NoticeKind::Triggered)]);
    let open = open.expect("an open incident");
    assert_eq!((open.phase, open.told, open.due_at, open.id), (IncidentPhase::Open, true, None, ID));

    let recovered = step(Some(&open), &became(HealthStatus::Healthy, 20), &policy(0, 0), None, at(20), ID);
    assert_eq!(recovered, Step { incident: None, notices: vec![sent(NoticeKind::Resolved)] });
}

#[test]
fn given_a_delay_when_the_target_recovers_before_it_then_nothing_is_sent() {
    let inputs = [
        (became(HealthStatus::Unhealthy, 0), 0, None),
        (IncidentInput::Tick, 20, None),
        (became(HealthStatus::Healthy, 25), 25, None),
        (IncidentInput::Tick, 100, None),
    ];
    assert_eq!(run(&policy(30, 0), &inputs), (None, vec![]));
}

#[test]
fn given_a_delay_when_the_target_is_still_failing_at_its_end_then_the_tick_triggers() {
    let (pending, notices) = run(&policy(30, 0), &[(became(HealthStatus::Stale, 0), 0, None)]);
    assert!(notices.is_empty());
    let pending = pending.expect("pending");
    assert_eq!((pending.phase, pending.due_at), (IncidentPhase::Pending, Some(at(30))));
    let early = step(Some(&pending), &IncidentInput::Tick, &policy(30, 0), None, at(29), ID);
    assert_eq!(early, Step { incident: Some(pending.clone()), notices: vec![] }, "a tick before due_at does nothing");
    let due = step(Some(&pending), &IncidentInput::Tick, &policy(30, 0), None, at(31), ID);
    assert_eq!(due.notices, [sent(NoticeKind::Triggered)]);
    assert_eq!(due.incident.expect("open").triggered_at, Some(at(31)));
}

#[test]
fn given_old_changes_caught_up_late_then_an_outage_shorter_than_the_delay_stays_silent() {
    // Both changes are handled at t=500, long after the delay: judged at their own times.
    let inputs = [(became(HealthStatus::Unhealthy, 0), 500, None), (became(HealthStatus::Healthy, 10), 500, None)];
    assert_eq!(run(&policy(30, 0), &inputs), (None, vec![]));
    // An outage that did outlast it triggers before the later change applies.
    let inputs = [(became(HealthStatus::Unhealthy, 0), 500, None), (became(HealthStatus::Healthy, 40), 500, None)];
    assert_eq!(run(&policy(30, 0), &inputs).1, [sent(NoticeKind::Triggered), sent(NoticeKind::Resolved)]);
}

#[test]
fn given_reminders_then_each_comes_every_interval_while_the_incident_is_open() {
    let (open, _) = run(&policy(0, 60), &[(became(HealthStatus::Unhealthy, 0), 0, None)]);
    let open = open.expect("open");
    assert_eq!(open.due_at, Some(at(60)));
    let reminded = step(Some(&open), &IncidentInput::Tick, &policy(0, 60), None, at(61), ID);
    assert_eq!(reminded.notices, [sent(NoticeKind::Reminder)]);
    assert_eq!(reminded.incident.expect("open").due_at, Some(at(121)));
}

#[test]
fn given_send_on_resolved_off_then_recovery_ends_the_incident_silently() {
    let quiet = RulePolicy { send_on_resolved: false, ..policy(0, 0) };
    let inputs = [(became(HealthStatus::Unhealthy, 0), 0, None), (became(HealthStatus::Healthy, 5), 5, None)];
    assert_eq!(run(&quiet, &inputs), (None, vec![sent(NoticeKind::Triggered)]));
}

#[test]
fn given_a_window_then_the_trigger_is_held_and_sent_at_its_end_if_still_failing() {
    let (held_open, notices) = run(&policy(0, 0), &[(became(HealthStatus::Unhealthy, 0), 0, Some(100))]);
    assert_eq!(notices, [held(NoticeKind::Triggered)]);
    let held_open = held_open.expect("open");
    assert_eq!((held_open.told, held_open.due_at), (false, Some(at(100))));
    let at_end = step(Some(&held_open), &IncidentInput::Tick, &policy(0, 0), None, at(100), ID);
    assert_eq!(at_end.notices, [sent(NoticeKind::Triggered)]);
    assert!(at_end.incident.expect("open").told);
    let another_window = step(Some(&held_open), &IncidentInput::Tick, &policy(0, 0), Some(at(200)), at(100), ID);
    assert!(another_window.notices.is_empty());
    assert_eq!(another_window.incident.expect("open").due_at, Some(at(200)), "a following window holds it on");
}

#[test]
fn given_a_held_trigger_when_the_target_recovers_in_the_window_then_the_resolve_is_held_too() {
    let inputs =
        [(became(HealthStatus::Unhealthy, 0), 0, Some(100)), (became(HealthStatus::Healthy, 50), 50, Some(100))];
    assert_eq!(run(&policy(0, 0), &inputs), (None, vec![held(NoticeKind::Triggered), held(NoticeKind::Resolved)]));
}

#[test]
fn given_a_told_trigger_when_the_target_recovers_in_a_window_then_the_resolve_is_sent() {
    let inputs = [(became(HealthStatus::Unhealthy, 0), 0, None), (became(HealthStatus::Healthy, 50), 50, Some(100))];
    assert_eq!(run(&policy(0, 0), &inputs).1, [sent(NoticeKind::Triggered), sent(NoticeKind::Resolved)]);
}

#[test]
fn given_reminders_inside_a_window_then_they_are_held() {
    let inputs = [(became(HealthStatus::Unhealthy, 0), 0, None), (IncidentInput::Tick, 61, Some(500))];
    assert_eq!(run(&policy(0, 60), &inputs).1, [sent(NoticeKind::Triggered), held(NoticeKind::Reminder)]);
}

#[test]
fn given_unknown_or_paused_then_only_the_status_moves() {
    let (open, _) = run(&policy(0, 0), &[(became(HealthStatus::Unhealthy, 0), 0, None)]);
    let open = open.expect("open");
    for status in [HealthStatus::Unknown, HealthStatus::Paused] {
        let moved = step(Some(&open), &became(status, 5), &policy(0, 0), None, at(5), ID);
        assert!(moved.notices.is_empty());
        let moved = moved.incident.expect("still open");
        assert_eq!(moved.status, status);
        assert_eq!(Incident { status: open.status, reason: open.reason.clone(), ..moved }, open);
    }
    assert_eq!(run(&policy(0, 0), &[(became(HealthStatus::Unknown, 0), 0, None)]), (None, vec![]), "no outage");
}

fn any_input() -> impl Strategy<Value = (u8, i64, Option<i64>)> {
    (0u8..5, 0i64..30, proptest::option::of(0i64..40))
}

proptest! {
    /// Whatever happens, a resolve is told only after its trigger was, and a trigger is told at
    /// most once per incident.
    #[test]
    fn no_resolve_without_its_trigger_and_one_told_trigger_per_incident(
        steps in proptest::collection::vec(any_input(), 1..40),
        trigger_after_s in 0u32..20,
        remind_every_s in 0u32..10,
    ) {
        let policy = RulePolicy { trigger_after_s, send_on_resolved: true, remind_every_s };
        let (mut incident, mut clock) = (None::<Incident>, 0i64);
        let (mut told_trigger, mut next_id) = (false, 0u128);
        for (kind, advance, window) in steps {
            clock += advance;
            let input = match kind {
                0 => IncidentInput::Tick,
                1 => became(HealthStatus::Healthy, clock),
                2 => became(HealthStatus::Unhealthy, clock),
                3 => became(HealthStatus::Stale, clock),
                _ => became(HealthStatus::Unknown, clock),
            };
            next_id += 1;
            let step = step(incident.as_ref(), &input, &policy, window.map(|end| at(clock + end)), at(clock), Uuid::from_u128(next_id));
            for notice in &step.notices {
                if notice.suppressed { continue; }
                match notice.kind {
                    NoticeKind::Triggered => { prop_assert!(!told_trigger, "a second told trigger"); told_trigger = true; }
                    NoticeKind::Resolved | NoticeKind::Reminder => prop_assert!(told_trigger, "{:?} before its trigger", notice.kind),
                }
            }
            if step.incident.is_none() { told_trigger = false; }
            incident = step.incident;
        }
    }
}
