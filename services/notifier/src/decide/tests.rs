//! Given/when/then tests of one turn's decision, on hand-built inputs.

use chrono::{DateTime, Duration, Utc};
use healthmon_domain::alerting::{
    AlertRuleSpec, Incident, IncidentPhase, MaintenanceSpec, NotificationEvent, Selector, WindowSchedule,
};
use healthmon_domain::{HealthState, HealthStatus, Target, TargetSpec};
use healthmon_store::alerting::{AlertRuleRecord, DeliveryStatus, IncidentRecord, MaintenanceRecord, TurnInput};
use healthmon_store::{TargetRecord, TransitionRecord};
use serde_json::json;
use uuid::Uuid;

use super::{Policy, decide};

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("a valid time")
}

fn policy() -> Policy {
    Policy { give_up_after: Duration::hours(1), source: "notifier/test".to_owned() }
}

fn target(name: &str, tags: &[&str]) -> TargetRecord {
    let spec: TargetSpec = healthmon_domain::target::parse_spec(&json!({
        "name": name, "kind": "http", "url": "http://127.0.0.1:9/", "tags": tags,
    }))
    .expect("a valid target");
    let target =
        Target { id: Uuid::new_v4(), spec, created_at: at(0), updated_at: at(0), revision: 1, check_version: 1 };
    TargetRecord { target, health: HealthState::new(1) }
}

fn rule(notifiers: &[Uuid], tags: &[&str], trigger_after_s: u32) -> AlertRuleRecord {
    let spec = AlertRuleSpec {
        name: "on-call".to_owned(),
        notifiers: notifiers.to_vec(),
        selector: Selector { tags: tags.iter().map(|tag| (*tag).to_owned()).collect(), targets: vec![] },
        trigger_after_s,
        send_on_resolved: true,
        remind_every_s: 0,
        enabled: true,
    };
    AlertRuleRecord { id: Uuid::new_v4(), spec, created_at: at(0), updated_at: at(0) }
}

fn became(seq: i64, target: &TargetRecord, from: HealthStatus, to: HealthStatus, when: i64) -> TransitionRecord {
    TransitionRecord { seq, target_id: target.target.id, from, to, at: at(when), reason: format!("now {to}") }
}

fn input(
    now: i64,
    targets: Vec<TargetRecord>,
    rules: Vec<AlertRuleRecord>,
    transitions: Vec<TransitionRecord>,
) -> TurnInput {
    TurnInput { now: at(now), cursor: 0, transitions, incidents: vec![], rules, windows: vec![], targets }
}

fn open_incident(rule: &AlertRuleRecord, target: &TargetRecord, told: bool) -> IncidentRecord {
    let incident = Incident {
        id: Uuid::new_v4(),
        phase: IncidentPhase::Open,
        status: HealthStatus::Unhealthy,
        reason: "down".to_owned(),
        since: at(0),
        triggered_at: Some(at(0)),
        told,
        due_at: None,
        notified: vec![],
    };
    IncidentRecord { rule_id: rule.id, target_id: target.target.id, incident }
}

#[test]
fn given_a_matched_target_turning_unhealthy_then_each_notifier_gets_one_pending_trigger() {
    let (web, other) = (target("web", &["prod"]), target("batch", &["dev"]));
    let notifiers = [Uuid::new_v4(), Uuid::new_v4()];
    let rule = rule(&notifiers, &["prod"], 0);
    let turn = input(
        10,
        vec![web.clone(), other.clone()],
        vec![rule.clone()],
        vec![
            became(7, &web, HealthStatus::Healthy, HealthStatus::Unhealthy, 9),
            became(8, &other, HealthStatus::Healthy, HealthStatus::Unhealthy, 9),
        ],
    );

    let output = decide(&turn, &policy());

    assert_eq!(output.cursor, 8, "the cursor passes every transition handed");
    let sent: Vec<(Uuid, NotificationEvent, DeliveryStatus)> =
        output.deliveries.iter().map(|d| (d.notifier_id, d.context.event, d.status)).collect();
    assert_eq!(
        sent,
        notifiers.map(|id| (id, NotificationEvent::Triggered, DeliveryStatus::Pending)),
        "only the target the selector matches is told of"
    );
    assert!(output.deliveries.iter().all(|d| d.target_id == Some(web.target.id) && d.alert_id == Some(rule.id)));
    assert_ne!(output.deliveries[0].id, output.deliveries[1].id);
    assert_eq!(output.deliveries[0].give_up_at, at(10) + Duration::hours(1));
    assert_eq!(output.upserted.len(), 1);
    assert_eq!(output.events.len(), 1, "one alert event per notice, not per notifier");
    assert_eq!(output.events[0].rule_id, rule.id);
}

#[test]
fn given_the_same_input_twice_then_the_same_ids_are_decided() {
    let web = target("web", &[]);
    let rule = rule(&[Uuid::new_v4()], &[], 0);
    let turn =
        input(10, vec![web.clone()], vec![rule], vec![became(1, &web, HealthStatus::Unknown, HealthStatus::Stale, 10)]);
    let (first, second) = (decide(&turn, &policy()), decide(&turn, &policy()));
    assert_eq!(first, second);
    assert_eq!(first.deliveries.len(), 1);
}

#[test]
fn given_a_disabled_rule_then_no_trigger_is_sent_and_its_told_incident_ends_with_a_resolve() {
    let (web, batch) = (target("web", &[]), target("batch", &[]));
    let mut disabled = rule(&[Uuid::new_v4()], &[], 0);
    disabled.spec.enabled = false;
    let mut turn = input(
        10,
        vec![web.clone(), batch.clone()],
        vec![disabled.clone()],
        vec![became(3, &batch, HealthStatus::Healthy, HealthStatus::Unhealthy, 9)],
    );
    turn.incidents.push(open_incident(&disabled, &web, true));

    let output = decide(&turn, &policy());

    let events: Vec<NotificationEvent> = output.deliveries.iter().map(|d| d.context.event).collect();
    assert_eq!(events, [NotificationEvent::Resolved], "no trigger for batch; web's receivers hear the end");
    assert_eq!(output.deliveries[0].target_id, Some(web.target.id));
    assert_eq!(output.closed, [(disabled.id, web.target.id)]);
    assert_eq!(output.cursor, 3);
}

#[test]
fn given_an_open_incident_when_the_target_recovers_then_the_resolve_is_queued_and_the_incident_ends() {
    let web = target("web", &[]);
    let notifier = Uuid::new_v4();
    let rule = rule(&[notifier], &[], 0);
    let mut turn = input(
        20,
        vec![web.clone()],
        vec![rule.clone()],
        vec![became(5, &web, HealthStatus::Unhealthy, HealthStatus::Healthy, 19)],
    );
    let open = open_incident(&rule, &web, true);
    turn.incidents.push(open.clone());

    let output = decide(&turn, &policy());

    assert_eq!(output.deliveries.len(), 1);
    let resolve = &output.deliveries[0];
    assert_eq!((resolve.context.event, resolve.status), (NotificationEvent::Resolved, DeliveryStatus::Pending));
    assert_eq!(resolve.incident_id, open.incident.id, "the resolve belongs to the incident it ends");
    assert_eq!(resolve.context.health.to, HealthStatus::Healthy);
    assert_eq!(output.closed, [(rule.id, web.target.id)]);
}

#[test]
fn given_a_maintenance_window_then_the_trigger_is_recorded_suppressed() {
    let web = target("web", &["db"]);
    let rule = rule(&[Uuid::new_v4()], &[], 0);
    let mut turn = input(
        100,
        vec![web.clone()],
        vec![rule],
        vec![became(1, &web, HealthStatus::Healthy, HealthStatus::Unhealthy, 99)],
    );
    turn.windows.push(MaintenanceRecord {
        id: Uuid::new_v4(),
        spec: MaintenanceSpec {
            name: "upgrade".to_owned(),
            selector: Selector { tags: vec!["db".to_owned()], targets: vec![] },
            schedule: WindowSchedule::Once { starts_at: at(50), ends_at: at(500) },
        },
        created_at: at(0),
        updated_at: at(0),
    });

    let output = decide(&turn, &policy());

    assert_eq!(output.deliveries.len(), 1);
    assert_eq!(output.deliveries[0].status, DeliveryStatus::Suppressed);
    assert_eq!(output.upserted[0].incident.due_at, Some(at(500)), "due again when the window ends");
}

#[test]
fn given_a_deleted_target_then_its_incident_ends_without_a_word() {
    let gone = target("gone", &[]);
    let rule = rule(&[Uuid::new_v4()], &[], 0);
    let mut turn = input(10, vec![], vec![rule.clone()], vec![]);
    turn.incidents.push(open_incident(&rule, &gone, true));

    let output = decide(&turn, &policy());

    assert!(output.deliveries.is_empty() && output.events.is_empty());
    assert_eq!(output.closed, [(rule.id, gone.target.id)]);
}

#[test]
fn given_a_pending_incident_past_its_delay_then_the_tick_triggers_it() {
    let web = target("web", &[]);
    let rule = rule(&[Uuid::new_v4()], &[], 30);
    let first = decide(
        &input(
            10,
            vec![web.clone()],
            vec![rule.clone()],
            vec![became(1, &web, HealthStatus::Healthy, HealthStatus::Unhealthy, 10)],
        ),
        &policy(),
    );
    assert!(first.deliveries.is_empty(), "not yet: trigger_after_s has not passed");
    let pending = first.upserted[0].clone();
    assert_eq!(pending.incident.due_at, Some(at(40)));

    let mut later = input(41, vec![web.clone()], vec![rule], vec![]);
    later.cursor = first.cursor;
    later.incidents.push(pending);
    let second = decide(&later, &policy());

    assert_eq!(second.deliveries.len(), 1);
    assert_eq!(second.deliveries[0].context.event, NotificationEvent::Triggered);
    assert_eq!(second.cursor, 1, "no transition handed: the cursor stays");
}

#[test]
fn given_the_rules_notifiers_changed_mid_incident_then_the_resolve_goes_to_those_that_heard_the_trigger() {
    let web = target("web", &[]);
    let (first, added) = (Uuid::new_v4(), Uuid::new_v4());
    let mut rule = rule(&[first], &[], 0);
    let triggered = decide(
        &input(
            10,
            vec![web.clone()],
            vec![rule.clone()],
            vec![became(1, &web, HealthStatus::Healthy, HealthStatus::Unhealthy, 10)],
        ),
        &policy(),
    );
    assert_eq!(triggered.upserted[0].incident.notified, [first], "the incident remembers who heard the trigger");

    rule.spec.notifiers = vec![added];
    let mut later = input(
        20,
        vec![web.clone()],
        vec![rule],
        vec![became(2, &web, HealthStatus::Unhealthy, HealthStatus::Healthy, 20)],
    );
    later.incidents.push(triggered.upserted[0].clone());
    let resolved = decide(&later, &policy());

    let told: Vec<Uuid> = resolved.deliveries.iter().map(|delivery| delivery.notifier_id).collect();
    assert_eq!(told, [first], "not the notifier added since, which never heard the trigger");
}

#[test]
fn given_a_selector_that_no_longer_matches_then_a_told_incident_ends_with_a_resolve() {
    let web = target("web", &["prod"]);
    let notifier = Uuid::new_v4();
    let mut rule = rule(&[notifier], &["prod"], 0);
    let mut open = open_incident(&rule, &web, true);
    open.incident.notified = vec![notifier];
    rule.spec.selector.tags = vec!["other".to_owned()];
    let mut turn = input(
        30,
        vec![web.clone()],
        vec![rule.clone()],
        vec![became(4, &web, HealthStatus::Unhealthy, HealthStatus::Healthy, 29)],
    );
    turn.incidents.push(open.clone());

    let output = decide(&turn, &policy());

    assert_eq!(output.closed, [(rule.id, web.target.id)]);
    assert_eq!(output.deliveries.len(), 1);
    assert_eq!(output.deliveries[0].context.event, NotificationEvent::Resolved);
    assert_eq!(output.deliveries[0].incident_id, open.incident.id);
}
