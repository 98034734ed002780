//! The `Alerting` contract, run against both Postgres and SQLite: configuration round trips and
//! the foreign keys between rules and notifiers, the notifier's turn over the transitions, and the
//! delivery queue's claims, attempts and listing. Postgres alone is shared by several processes,
//! so the concurrency checks run there only.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use healthmon_domain::alerting::notifier::{WebhookDestination, WebhookMethod};
use healthmon_domain::alerting::{
    AlertRef, AlertRuleSpec, Destination, HealthSummary, Incident, IncidentPhase, MaintenanceSpec, NotificationContext,
    NotificationEvent, NotifierSpec, Selector, TargetSummary, WindowSchedule,
};
use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{Credential, HealthStatus, Sample, Target};
use healthmon_store::alerting::{
    AlertEvent, AttemptOutcome, ConfigWrite, DeliveryFilter, DeliveryRecord, DeliveryStatus, IncidentRecord,
    NewDelivery, TurnInput, TurnOutput,
};
use healthmon_store::{OutboxEvent, OutboxSink, OutboxStream, Store};
use serde_json::json;
use support::Backend;
use uuid::Uuid;

contract_tests!(
    notifiers_round_trip_and_a_plain_credential_is_refused,
    rules_and_windows_round_trip,
    a_rule_naming_an_unknown_notifier_is_refused,
    a_named_notifier_is_deleted_only_after_its_rule,
    the_first_turn_starts_at_the_newest_transition_and_later_turns_follow_the_cursor,
    a_turn_writes_incidents_deliveries_and_alert_events,
    a_deleted_rule_takes_its_incidents_along,
    a_resolve_waits_for_its_trigger_and_a_lease_holds_until_it_runs_out,
    an_unreadable_delivery_fails_alone_and_holds_up_no_other,
    a_batch_of_attempts_records_only_the_holders_pending_ones,
    attempts_retry_deliver_and_fail,
    deliveries_list_newest_first_filtered_and_paged_without_gaps,
);

const SOURCE: &str = "/healthmon/test/alerting";

// ---------------------------------------------------------------------------------------------
// Fixtures

fn webhook(name: &str, header: Credential) -> NotifierSpec {
    NotifierSpec {
        name: name.to_owned(),
        destination: Destination::Webhook(WebhookDestination {
            url: "https://hooks.example.com/in".to_owned(),
            method: WebhookMethod::Post,
            headers: BTreeMap::from([("X-Token".to_owned(), header)]),
            body: None,
            secret: Some(Credential::Sealed("hm1.secret".to_owned())),
        }),
    }
}

fn sealed_webhook(name: &str) -> NotifierSpec {
    webhook(name, Credential::Sealed("hm1.header".to_owned()))
}

fn rule(name: &str, notifiers: &[Uuid]) -> AlertRuleSpec {
    AlertRuleSpec {
        name: name.to_owned(),
        notifiers: notifiers.to_vec(),
        selector: Selector::default(),
        trigger_after_s: 0,
        send_on_resolved: true,
        remind_every_s: 0,
        enabled: true,
    }
}

fn window(name: &str) -> MaintenanceSpec {
    let starts_at = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
    MaintenanceSpec {
        name: name.to_owned(),
        selector: Selector { tags: vec!["db".to_owned()], targets: vec![] },
        schedule: WindowSchedule::Once { starts_at, ends_at: starts_at + Duration::hours(2) },
    }
}

async fn notifier(backend: &Backend, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    backend.store.create_notifier(id, &sealed_webhook(name)).await.expect("create notifier");
    id
}

async fn alert_rule(backend: &Backend, name: &str, notifiers: &[Uuid]) -> Uuid {
    let id = Uuid::now_v7();
    let written = backend.store.create_alert_rule(id, &rule(name, notifiers)).await.expect("create rule");
    assert!(matches!(written, ConfigWrite::Done(_)), "{written:?}");
    id
}

/// A target that turns unhealthy on one failure and healthy on one success.
async fn flippy_target(backend: &Backend, name: &str) -> Target {
    let document = json!({"name": name, "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 60,
        "healthy_threshold": 1, "unhealthy_threshold": 1});
    let target = Target::create(parse_spec(&document).expect("spec"), healthmon_store::now());
    backend.store.create_target(&target, SOURCE).await.expect("create target");
    target
}

async fn probe(backend: &Backend, target: &Target, slot: i64, success: bool) {
    let sample = Sample {
        id: sample_id(target.id, slot),
        target_id: target.id,
        slot,
        at: DateTime::from_timestamp(1_700_000_000 + slot, 0).expect("time"),
        success,
        status_code: success.then_some(200),
        latency_ms: 1.0,
        error: (!success).then(|| "refused".to_owned()),
        prober: "p".to_owned(),
        check_version: target.check_version,
        pin_host_key: None,
    };
    backend.store.ingest(&[sample], SOURCE).await.expect("ingest");
}

async fn newest_seq(backend: &Backend, target: &Target) -> i64 {
    backend.store.transitions(target.id, 1, None).await.expect("transitions").items[0].seq
}

/// Runs a turn whose decision is `output` (its cursor: the last handed transition's, else the
/// input's), returning what the turn was handed.
async fn turn(store: &dyn Store, now: DateTime<Utc>, limit: u32, output: TurnOutput) -> TurnInput {
    let seen = Mutex::new(None);
    let decide = |input: &TurnInput| {
        *seen.lock().expect("seen") = Some(input.clone());
        let cursor = input.transitions.last().map_or(input.cursor, |transition| transition.seq);
        TurnOutput { cursor, ..output.clone() }
    };
    let decided = store.alerting_turn(now, limit, &decide).await.expect("turn");
    assert!(decided.is_some(), "no other turn runs");
    seen.into_inner().expect("seen").expect("decide ran")
}

fn incident(due_at: Option<DateTime<Utc>>) -> Incident {
    Incident {
        id: Uuid::now_v7(),
        phase: IncidentPhase::Open,
        status: HealthStatus::Unhealthy,
        reason: "refused".to_owned(),
        since: healthmon_store::now(),
        triggered_at: Some(healthmon_store::now()),
        told: true,
        due_at,
        notified: vec![],
    }
}

fn context(event: NotificationEvent, incident_id: Uuid, rule: Uuid, target: Uuid) -> NotificationContext {
    NotificationContext {
        event,
        incident_id,
        alert: AlertRef { id: rule, name: "rule".to_owned() },
        target: TargetSummary {
            id: target,
            name: "api".to_owned(),
            kind: "http".to_owned(),
            group: None,
            tags: vec![],
            url: Some("http://127.0.0.1:9/".to_owned()),
            host: None,
        },
        health: HealthSummary {
            from: HealthStatus::Healthy,
            to: HealthStatus::Unhealthy,
            at: healthmon_store::now(),
            reason: "refused".to_owned(),
        },
    }
}

struct DeliveryKeys {
    incident: Uuid,
    rule: Uuid,
    notifier: Uuid,
    target: Uuid,
}

fn delivery(
    keys: &DeliveryKeys,
    event: NotificationEvent,
    status: DeliveryStatus,
    created_at: DateTime<Utc>,
) -> NewDelivery {
    NewDelivery {
        id: Uuid::now_v7(),
        incident_id: keys.incident,
        alert_id: Some(keys.rule),
        notifier_id: keys.notifier,
        target_id: Some(keys.target),
        status,
        created_at,
        give_up_at: created_at + Duration::days(1),
        context: context(event, keys.incident, keys.rule, keys.target),
    }
}

fn keys() -> DeliveryKeys {
    DeliveryKeys { incident: Uuid::now_v7(), rule: Uuid::now_v7(), notifier: Uuid::now_v7(), target: Uuid::now_v7() }
}

fn ids(deliveries: &[DeliveryRecord]) -> Vec<Uuid> {
    deliveries.iter().map(|delivery| delivery.id).collect()
}

#[derive(Default)]
struct RecordingSink(Mutex<Vec<OutboxEvent>>);

#[async_trait]
impl OutboxSink for RecordingSink {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        self.0.lock().expect("sink").push(event.clone());
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

async fn notifiers_round_trip_and_a_plain_credential_is_refused(backend: &Backend) {
    let store = &backend.store;
    let id = Uuid::now_v7();
    let created = store.create_notifier(id, &sealed_webhook("pager")).await.unwrap();
    assert_eq!(created.spec, sealed_webhook("pager"));
    assert_eq!(store.get_notifier(id).await.unwrap(), Some(created.clone()));
    let other = notifier(backend, "alpha").await;
    let listed: Vec<Uuid> = store.list_notifiers().await.unwrap().iter().map(|n| n.id).collect();
    assert_eq!(listed, [other, id], "ordered by name");

    let renamed = sealed_webhook("zulu");
    let ConfigWrite::Done(updated) = store.update_notifier(id, &renamed).await.unwrap() else {
        panic!("update an existing notifier");
    };
    assert_eq!((updated.spec.clone(), updated.created_at), (renamed.clone(), created.created_at));
    assert!(updated.updated_at >= created.updated_at);
    assert_eq!(store.get_notifier(id).await.unwrap(), Some(updated));
    assert_eq!(store.update_notifier(Uuid::now_v7(), &renamed).await.unwrap(), ConfigWrite::NotFound);

    let plain = webhook("leaky", Credential::Plain("hunter2-plain".to_owned()));
    let refused = store.create_notifier(Uuid::now_v7(), &plain).await.expect_err("a plain credential is not stored");
    assert!(!format!("{refused:#}").contains("hunter2"), "{refused:#}");
    assert!(store.update_notifier(id, &plain).await.is_err());
    assert_eq!(store.list_notifiers().await.unwrap().len(), 2);

    assert_eq!(store.delete_notifier(id).await.unwrap(), ConfigWrite::Done(()));
    assert_eq!(store.delete_notifier(id).await.unwrap(), ConfigWrite::NotFound);
    assert_eq!(store.get_notifier(id).await.unwrap(), None);
}

async fn rules_and_windows_round_trip(backend: &Backend) {
    let store = &backend.store;
    let (first, second) = (notifier(backend, "one").await, notifier(backend, "two").await);
    let id = Uuid::now_v7();
    let ConfigWrite::Done(created) = store.create_alert_rule(id, &rule("b rule", &[first])).await.unwrap() else {
        panic!("create a rule");
    };
    assert_eq!(store.get_alert_rule(id).await.unwrap(), Some(created));
    let earlier = alert_rule(backend, "a rule", &[]).await;
    let listed: Vec<Uuid> = store.list_alert_rules().await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(listed, [earlier, id]);
    let mut changed = rule("b rule", &[second, second]);
    changed.selector = Selector { tags: vec!["web".to_owned()], targets: vec![Uuid::now_v7()] };
    changed.remind_every_s = 300;
    let ConfigWrite::Done(updated) = store.update_alert_rule(id, &changed).await.unwrap() else {
        panic!("update a rule");
    };
    assert_eq!(store.get_alert_rule(id).await.unwrap().map(|r| r.spec), Some(updated.spec));
    assert_eq!(store.update_alert_rule(Uuid::now_v7(), &changed).await.unwrap(), ConfigWrite::NotFound);
    // The rule no longer names the first notifier, which may go now; the second may not.
    assert_eq!(store.delete_notifier(first).await.unwrap(), ConfigWrite::Done(()));
    assert_eq!(store.delete_notifier(second).await.unwrap(), ConfigWrite::InUse(vec![id]));
    assert!(store.delete_alert_rule(id).await.unwrap());
    assert!(!store.delete_alert_rule(id).await.unwrap());

    let window_id = Uuid::now_v7();
    let created = store.create_maintenance(window_id, &window("nightly")).await.unwrap();
    assert_eq!(store.get_maintenance(window_id).await.unwrap(), Some(created));
    let recurring = MaintenanceSpec {
        schedule: WindowSchedule::Recurring {
            cron: "0 2 * * sun".to_owned(),
            duration_s: 3600,
            timezone: "Europe/Berlin".to_owned(),
        },
        ..window("nightly")
    };
    let updated = store.update_maintenance(window_id, &recurring).await.unwrap().expect("exists");
    assert_eq!(updated.spec, recurring);
    assert_eq!(store.list_maintenance().await.unwrap(), vec![updated]);
    assert_eq!(store.update_maintenance(Uuid::now_v7(), &recurring).await.unwrap(), None);
    assert!(store.delete_maintenance(window_id).await.unwrap());
    assert!(!store.delete_maintenance(window_id).await.unwrap());
    assert!(store.list_maintenance().await.unwrap().is_empty());
}

async fn a_rule_naming_an_unknown_notifier_is_refused(backend: &Backend) {
    let store = &backend.store;
    let known = notifier(backend, "known").await;
    let unknown = Uuid::now_v7();
    let id = Uuid::now_v7();
    let refused = store.create_alert_rule(id, &rule("r", &[known, unknown])).await.unwrap();
    assert_eq!(refused, ConfigWrite::UnknownNotifiers(vec![unknown]));
    assert_eq!(store.get_alert_rule(id).await.unwrap(), None, "nothing stored");

    let id = alert_rule(backend, "r", &[known]).await;
    let refused = store.update_alert_rule(id, &rule("renamed", &[unknown])).await.unwrap();
    assert_eq!(refused, ConfigWrite::UnknownNotifiers(vec![unknown]));
    assert_eq!(store.get_alert_rule(id).await.unwrap().map(|r| r.spec), Some(rule("r", &[known])), "unchanged");
}

async fn a_named_notifier_is_deleted_only_after_its_rule(backend: &Backend) {
    let store = &backend.store;
    let named = notifier(backend, "named").await;
    let first = alert_rule(backend, "first", &[named]).await;
    let second = alert_rule(backend, "second", &[named]).await;
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(store.delete_notifier(named).await.unwrap(), ConfigWrite::InUse(expected));
    assert!(store.get_notifier(named).await.unwrap().is_some(), "still stored");
    assert!(store.delete_alert_rule(first).await.unwrap());
    assert_eq!(store.delete_notifier(named).await.unwrap(), ConfigWrite::InUse(vec![second]));
    assert!(store.delete_alert_rule(second).await.unwrap());
    assert_eq!(store.delete_notifier(named).await.unwrap(), ConfigWrite::Done(()));
}

// ---------------------------------------------------------------------------------------------
// The turn

async fn the_first_turn_starts_at_the_newest_transition_and_later_turns_follow_the_cursor(backend: &Backend) {
    let store = backend.store.as_ref();
    let target = flippy_target(backend, "api").await;
    probe(backend, &target, 1, false).await;
    probe(backend, &target, 2, true).await;
    let before_alerting = newest_seq(backend, &target).await;

    let first = turn(store, healthmon_store::now(), 100, TurnOutput::default()).await;
    assert_eq!(first.cursor, before_alerting, "starts at the newest transition");
    assert!(first.transitions.is_empty(), "history from before alerting is not replayed");

    probe(backend, &target, 3, false).await;
    probe(backend, &target, 4, true).await;
    let second = turn(store, healthmon_store::now(), 1, TurnOutput::default()).await;
    assert_eq!(second.cursor, before_alerting);
    assert_eq!(second.transitions.len(), 1, "at most the limit");
    assert!(second.transitions[0].seq > before_alerting);
    assert_eq!(
        (second.transitions[0].from, second.transitions[0].to),
        (HealthStatus::Healthy, HealthStatus::Unhealthy)
    );
    assert_eq!(second.targets.iter().map(|t| t.target.id).collect::<Vec<_>>(), [target.id]);

    let third = turn(store, healthmon_store::now(), 100, TurnOutput::default()).await;
    assert_eq!(third.cursor, second.transitions[0].seq);
    assert_eq!(third.transitions.len(), 1);
    assert_eq!(third.transitions[0].to, HealthStatus::Healthy);
    let fourth = turn(store, healthmon_store::now(), 100, TurnOutput::default()).await;
    assert_eq!(fourth.cursor, newest_seq(backend, &target).await);
    assert!(fourth.transitions.is_empty(), "a transition is handed once");
}

async fn a_turn_writes_incidents_deliveries_and_alert_events(backend: &Backend) {
    let store = backend.store.as_ref();
    let notifier_id = notifier(backend, "hook").await;
    let rule_id = alert_rule(backend, "down", &[notifier_id]).await;
    let (due, waiting, quiet) = (
        flippy_target(backend, "due").await,
        flippy_target(backend, "waiting").await,
        flippy_target(backend, "quiet").await,
    );
    let now = healthmon_store::now();
    let _ = turn(store, now, 100, TurnOutput::default()).await;

    let due_incident = incident(Some(now - Duration::seconds(1)));
    let waiting_incident = incident(Some(now + Duration::hours(1)));
    let quiet_incident = incident(None);
    let record = |target: &Target, incident: &Incident| IncidentRecord {
        rule_id,
        target_id: target.id,
        incident: incident.clone(),
    };
    let keys = DeliveryKeys { incident: due_incident.id, rule: rule_id, notifier: notifier_id, target: due.id };
    let sent = delivery(&keys, NotificationEvent::Triggered, DeliveryStatus::Pending, now);
    let hushed = delivery(&keys, NotificationEvent::Reminder, DeliveryStatus::Suppressed, now);
    let event = AlertEvent { rule_id, msg_id: Uuid::now_v7(), payload: b"{\"incident\":1}".to_vec() };
    let output = TurnOutput {
        upserted: vec![
            record(&due, &due_incident),
            record(&waiting, &waiting_incident),
            record(&quiet, &quiet_incident),
        ],
        deliveries: vec![sent.clone(), hushed.clone()],
        events: vec![event.clone()],
        ..TurnOutput::default()
    };
    let _ = turn(store, now, 100, output).await;

    // Only the due incident is handed without a transition of its target.
    let next = turn(store, now, 100, TurnOutput::default()).await;
    assert_eq!(next.incidents, vec![record(&due, &due_incident)]);
    assert_eq!(next.rules.iter().map(|r| r.id).collect::<Vec<_>>(), [rule_id]);
    assert_eq!(next.targets.iter().map(|t| t.target.id).collect::<Vec<_>>(), [due.id], "the targets involved");
    // A transition of the quiet target hands its incident too.
    probe(backend, &quiet, 1, false).await;
    let changed = turn(store, now, 100, TurnOutput { closed: vec![(rule_id, due.id)], ..TurnOutput::default() }).await;
    let mut handed: Vec<Uuid> = changed.incidents.iter().map(|i| i.target_id).collect();
    handed.sort();
    let mut expected = vec![due.id, quiet.id];
    expected.sort();
    assert_eq!(handed, expected);
    // Closed: no longer handed; an upsert replaces the state.
    let mut moved = quiet_incident.clone();
    moved.due_at = Some(now - Duration::seconds(5));
    moved.phase = IncidentPhase::Pending;
    let _ = turn(store, now, 100, TurnOutput { upserted: vec![record(&quiet, &moved)], ..TurnOutput::default() }).await;
    let after = turn(store, now, 100, TurnOutput::default()).await;
    assert_eq!(after.incidents, vec![record(&quiet, &moved)]);

    let listed = store.list_deliveries(&DeliveryFilter { limit: 10, ..DeliveryFilter::default() }).await.unwrap();
    assert_eq!(ids(&listed.items), [hushed.id, sent.id], "newest first");
    let stored_sent = store.get_delivery(sent.id).await.unwrap().expect("stored");
    assert_eq!(
        (stored_sent.status, stored_sent.next_attempt_at, stored_sent.attempts),
        (DeliveryStatus::Pending, Some(now), 0)
    );
    assert_eq!((stored_sent.event, &stored_sent.context), (NotificationEvent::Triggered, &sent.context));
    let stored_hushed = store.get_delivery(hushed.id).await.unwrap().expect("stored");
    assert_eq!((stored_hushed.status, stored_hushed.next_attempt_at), (DeliveryStatus::Suppressed, None));
    let stats = store.queue_stats().await.unwrap();
    assert_eq!((stats.pending, stats.oldest_pending_at), (1, Some(now)));

    let sink = RecordingSink::default();
    while store.relay_outbox(&sink, 100).await.unwrap().is_some_and(|relayed| relayed > 0) {}
    let alerts: Vec<OutboxEvent> =
        sink.0.into_inner().unwrap().into_iter().filter(|e| e.stream == OutboxStream::Alerts).collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!((alerts[0].key, alerts[0].msg_id, &alerts[0].payload), (rule_id, event.msg_id, &event.payload));
}

async fn a_deleted_rule_takes_its_incidents_along(backend: &Backend) {
    let store = backend.store.as_ref();
    let rule_id = alert_rule(backend, "gone soon", &[]).await;
    let target = flippy_target(backend, "api").await;
    let now = healthmon_store::now();
    let stored = IncidentRecord { rule_id, target_id: target.id, incident: incident(Some(now)) };
    let _ = turn(store, now, 100, TurnOutput { upserted: vec![stored.clone()], ..TurnOutput::default() }).await;
    assert_eq!(turn(store, now, 100, TurnOutput::default()).await.incidents, vec![stored]);
    assert!(store.delete_alert_rule(rule_id).await.unwrap());
    assert!(turn(store, now, 100, TurnOutput::default()).await.incidents.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Deliveries

async fn a_resolve_waits_for_its_trigger_and_a_lease_holds_until_it_runs_out(backend: &Backend) {
    let store = &backend.store;
    let t0 = healthmon_store::now();
    let incident = keys();
    let trigger = delivery(&incident, NotificationEvent::Triggered, DeliveryStatus::Pending, t0);
    let resolve = delivery(&incident, NotificationEvent::Resolved, DeliveryStatus::Pending, t0 + Duration::seconds(1));
    let later = delivery(&keys(), NotificationEvent::Triggered, DeliveryStatus::Pending, t0 + Duration::minutes(10));
    for new in [&trigger, &resolve, &later] {
        store.enqueue_delivery(new).await.unwrap();
    }
    let now = t0 + Duration::seconds(5);
    let lease = now + Duration::seconds(30);
    let claimed = store.claim_deliveries("a", now, lease, 10).await.unwrap();
    assert_eq!(ids(&claimed), [trigger.id], "the resolve waits for its trigger; the later one is not due");
    assert!(store.claim_deliveries("b", now, lease, 10).await.unwrap().is_empty(), "leased, and still blocking");
    let reclaimed =
        store.claim_deliveries("b", lease + Duration::seconds(1), lease + Duration::seconds(60), 1).await.unwrap();
    assert_eq!(ids(&reclaimed), [trigger.id], "a lease that ran out is claimed again");

    let delivered = AttemptOutcome::Delivered { status_code: Some(200), at: now };
    assert!(!store.record_attempt(trigger.id, "a", &delivered).await.unwrap(), "a's lease was taken over");
    assert!(store.record_attempt(trigger.id, "b", &delivered).await.unwrap());
    let claimed = store.claim_deliveries("a", now, lease, 10).await.unwrap();
    assert_eq!(ids(&claimed), [resolve.id], "the trigger is done, so the resolve may go");
}

async fn an_unreadable_delivery_fails_alone_and_holds_up_no_other(backend: &Backend) {
    let store = &backend.store;
    let t0 = healthmon_store::now();
    let (good, bad) = (
        delivery(&keys(), NotificationEvent::Triggered, DeliveryStatus::Pending, t0),
        delivery(&keys(), NotificationEvent::Triggered, DeliveryStatus::Pending, t0),
    );
    for new in [&good, &bad] {
        store.enqueue_delivery(new).await.unwrap();
    }
    // A context this version cannot read, as a newer one might have written it.
    let garbled = r#"{"not": "a notification context"}"#;
    let status_of_bad = match backend.kind {
        "postgres" => {
            let pool = sqlx::PgPool::connect(&backend.url).await.unwrap();
            sqlx::query("UPDATE deliveries SET context = $2::jsonb WHERE id = $1")
                .bind(bad.id)
                .bind(garbled)
                .execute(&pool)
                .await
                .unwrap();
            let now = t0 + Duration::seconds(1);
            let claimed = store.claim_deliveries("a", now, now + Duration::seconds(30), 10).await.unwrap();
            assert_eq!(ids(&claimed), [good.id], "the readable one is claimed, the batch not failed");
            sqlx::query_scalar::<_, String>("SELECT status FROM deliveries WHERE id = $1")
                .bind(bad.id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
        _ => {
            let options: sqlx::sqlite::SqliteConnectOptions = backend.url.parse().unwrap();
            let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
            let id = bad.id.hyphenated().to_string();
            sqlx::query("UPDATE deliveries SET context = ?2 WHERE id = ?1")
                .bind(&id)
                .bind(garbled)
                .execute(&pool)
                .await
                .unwrap();
            let now = t0 + Duration::seconds(1);
            let claimed = store.claim_deliveries("a", now, now + Duration::seconds(30), 10).await.unwrap();
            assert_eq!(ids(&claimed), [good.id], "the readable one is claimed, the batch not failed");
            sqlx::query_scalar::<_, String>("SELECT status FROM deliveries WHERE id = ?1")
                .bind(&id)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(status_of_bad, "failed", "the unreadable one is failed, not claimed again and again");
    assert_eq!(store.queue_stats().await.unwrap().pending, 1, "only the readable one is still pending");
}

async fn attempts_retry_deliver_and_fail(backend: &Backend) {
    let store = &backend.store;
    let t0 = healthmon_store::now();
    let first = delivery(&keys(), NotificationEvent::Triggered, DeliveryStatus::Pending, t0);
    let second = delivery(&keys(), NotificationEvent::Triggered, DeliveryStatus::Pending, t0);
    store.enqueue_delivery(&first).await.unwrap();
    store.enqueue_delivery(&second).await.unwrap();
    let lease = t0 + Duration::seconds(30);
    assert_eq!(store.claim_deliveries("w", t0, lease, 10).await.unwrap().len(), 2);

    let retry_at = t0 + Duration::seconds(2);
    let retry = AttemptOutcome::Retry { status_code: Some(503), error: "busy".to_owned(), next_attempt_at: retry_at };
    assert!(store.record_attempt(first.id, "w", &retry).await.unwrap());
    let stored = store.get_delivery(first.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.attempts, stored.last_status_code, stored.last_error.as_deref(), stored.next_attempt_at),
        (DeliveryStatus::Pending, 1, Some(503), Some("busy"), Some(retry_at))
    );
    assert!(!store.record_attempt(first.id, "w", &retry).await.unwrap(), "the lease was released");
    assert!(store.claim_deliveries("w", t0 + Duration::seconds(1), lease, 10).await.unwrap().is_empty(), "not yet due");
    assert_eq!(ids(&store.claim_deliveries("w", retry_at, lease, 10).await.unwrap()), [first.id]);
    let at = t0 + Duration::seconds(3);
    assert!(
        store.record_attempt(first.id, "w", &AttemptOutcome::Delivered { status_code: Some(204), at }).await.unwrap()
    );
    let stored = store.get_delivery(first.id).await.unwrap().unwrap();
    assert_eq!(
        (
            stored.status,
            stored.attempts,
            stored.last_status_code,
            stored.last_error,
            stored.delivered_at,
            stored.next_attempt_at
        ),
        (DeliveryStatus::Delivered, 2, Some(204), None, Some(at), None)
    );

    let failed = AttemptOutcome::Failed { status_code: None, error: "timed out".to_owned(), at };
    assert!(store.record_attempt(second.id, "w", &failed).await.unwrap());
    let stored = store.get_delivery(second.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.attempts, stored.last_error.as_deref(), stored.next_attempt_at, stored.delivered_at),
        (DeliveryStatus::Failed, 1, Some("timed out"), None, None)
    );
    assert!(!store.record_attempt(second.id, "w", &failed).await.unwrap(), "no longer pending");
    assert!(
        store.claim_deliveries("w", at + Duration::hours(1), at + Duration::hours(2), 10).await.unwrap().is_empty()
    );
    assert_eq!(store.queue_stats().await.unwrap().pending, 0);
    assert_eq!(store.get_delivery(Uuid::now_v7()).await.unwrap(), None);
}

async fn a_batch_of_attempts_records_only_the_holders_pending_ones(backend: &Backend) {
    let store = &backend.store;
    let t0 = healthmon_store::now();
    let [mine, also_mine, theirs] =
        [0, 1, 2].map(|_| delivery(&keys(), NotificationEvent::Triggered, DeliveryStatus::Pending, t0));
    for new in [&mine, &also_mine] {
        store.enqueue_delivery(new).await.unwrap();
    }
    let lease = t0 + Duration::seconds(30);
    assert_eq!(store.claim_deliveries("w", t0, lease, 10).await.unwrap().len(), 2);
    store.enqueue_delivery(&theirs).await.unwrap();
    assert_eq!(ids(&store.claim_deliveries("x", t0, lease, 10).await.unwrap()), [theirs.id]);

    let at = t0 + Duration::seconds(1);
    let retry_at = t0 + Duration::seconds(2);
    let batch = [
        (mine.id, AttemptOutcome::Delivered { status_code: Some(200), at }),
        // A receiver's answer quoted with a NUL in it: Postgres takes no NUL in text.
        (
            also_mine.id,
            AttemptOutcome::Retry { status_code: None, error: "refused\0".to_owned(), next_attempt_at: retry_at },
        ),
        (theirs.id, AttemptOutcome::Delivered { status_code: Some(200), at }),
        (Uuid::now_v7(), AttemptOutcome::Delivered { status_code: Some(200), at }),
    ];
    let mut recorded = store.record_attempts("w", &batch).await.unwrap();
    recorded.sort();
    let mut expected = vec![mine.id, also_mine.id];
    expected.sort();
    assert_eq!(recorded, expected, "only the deliveries w holds, and only once each");
    let status = async |id| {
        let stored = store.get_delivery(id).await.unwrap().unwrap();
        (stored.status, stored.attempts, stored.next_attempt_at)
    };
    assert_eq!(status(mine.id).await, (DeliveryStatus::Delivered, 1, None));
    assert_eq!(status(also_mine.id).await, (DeliveryStatus::Pending, 1, Some(retry_at)));
    assert_eq!(status(theirs.id).await.1, 0, "x's lease is x's to record");
    let quoted = store.get_delivery(also_mine.id).await.unwrap().unwrap().last_error;
    assert_eq!(quoted.as_deref(), Some("refused\\0"), "the NUL kept visibly, and the batch stored");
    assert!(store.record_attempts("w", &batch).await.unwrap().is_empty(), "the leases were released");
    assert!(store.record_attempts("w", &[]).await.unwrap().is_empty());
}

async fn deliveries_list_newest_first_filtered_and_paged_without_gaps(backend: &Backend) {
    let store = &backend.store;
    let (a, b) = (keys(), keys());
    let t0 = healthmon_store::now();
    let mut written = Vec::new();
    for n in 0..7 {
        let (which, status) = match n % 3 {
            0 => (&a, DeliveryStatus::Pending),
            1 => (&b, DeliveryStatus::Suppressed),
            _ => (&a, DeliveryStatus::Suppressed),
        };
        let new = delivery(which, NotificationEvent::Reminder, status, t0 + Duration::seconds(n));
        store.enqueue_delivery(&new).await.unwrap();
        written.push(new);
    }
    let newest_first: Vec<Uuid> = written.iter().rev().map(|d| d.id).collect();

    let mut seen = Vec::new();
    let mut before_seq = None;
    loop {
        let page =
            store.list_deliveries(&DeliveryFilter { limit: 3, before_seq, ..DeliveryFilter::default() }).await.unwrap();
        assert!(page.items.len() <= 3);
        seen.extend(ids(&page.items));
        match page.next_cursor {
            Some(cursor) => before_seq = Some(cursor.parse().expect("a seq")),
            None => break,
        }
    }
    assert_eq!(seen, newest_first, "every delivery once, newest first");

    let only = |filter: DeliveryFilter| async move {
        let page = store.list_deliveries(&DeliveryFilter { limit: 100, ..filter }).await.unwrap();
        assert_eq!(page.next_cursor, None);
        page.items.iter().map(|d| d.id).collect::<BTreeSet<_>>()
    };
    let of =
        |pick: &dyn Fn(&NewDelivery) -> bool| written.iter().filter(|d| pick(d)).map(|d| d.id).collect::<BTreeSet<_>>();
    assert_eq!(
        only(DeliveryFilter { alert: Some(b.rule), ..DeliveryFilter::default() }).await,
        of(&|d| d.alert_id == Some(b.rule))
    );
    assert_eq!(
        only(DeliveryFilter { notifier: Some(a.notifier), ..DeliveryFilter::default() }).await,
        of(&|d| d.notifier_id == a.notifier)
    );
    assert_eq!(
        only(DeliveryFilter { target: Some(b.target), ..DeliveryFilter::default() }).await,
        of(&|d| d.target_id == Some(b.target))
    );
    assert_eq!(
        only(DeliveryFilter { status: Some(DeliveryStatus::Pending), ..DeliveryFilter::default() }).await,
        of(&|d| d.status == DeliveryStatus::Pending)
    );
    assert_eq!(
        only(DeliveryFilter {
            alert: Some(a.rule),
            status: Some(DeliveryStatus::Suppressed),
            ..DeliveryFilter::default()
        })
        .await
        .len(),
        2
    );
    assert!(only(DeliveryFilter { alert: Some(Uuid::now_v7()), ..DeliveryFilter::default() }).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Postgres only: several processes share one database.

mod shared_database {
    use std::sync::mpsc;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_claims_get_disjoint_sets_covering_every_delivery() {
        let backend = Backend::postgres().await;
        let other = backend.another_handle().await;
        let t0 = healthmon_store::now();
        let mut all = BTreeSet::new();
        for _ in 0..60 {
            let new = delivery(&keys(), NotificationEvent::Triggered, DeliveryStatus::Pending, t0);
            backend.store.enqueue_delivery(&new).await.unwrap();
            all.insert(new.id);
        }
        let lease = t0 + Duration::minutes(5);
        let mut claimed: Vec<Uuid> = Vec::new();
        for _ in 0..10 {
            let (one, two) = tokio::join!(
                backend.store.claim_deliveries("one", t0, lease, 7),
                other.claim_deliveries("two", t0, lease, 7)
            );
            let (one, two) = (one.unwrap(), two.unwrap());
            if one.is_empty() && two.is_empty() {
                break;
            }
            claimed.extend(ids(&one));
            claimed.extend(ids(&two));
        }
        let distinct: BTreeSet<Uuid> = claimed.iter().copied().collect();
        assert_eq!(distinct.len(), claimed.len(), "no delivery leased twice");
        assert_eq!(distinct, all, "every delivery leased");
        drop(other);
        backend.finish().await;
    }

    /// A transition whose transaction commits after a later one's: the turn hands what comes
    /// before it without waiting, and it is handed in its place once committed, never skipped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_transition_committed_late_is_waited_for_not_skipped() {
        let backend = Backend::postgres().await;
        let target = flippy_target(&backend, "api").await;
        let first = turn(backend.store.as_ref(), healthmon_store::now(), 100, TurnOutput::default()).await;
        let cursor = first.cursor;
        probe(&backend, &target, 1, false).await;
        let pool = sqlx::PgPool::connect(&backend.url).await.unwrap();
        let mut late = pool.begin().await.unwrap();
        let late_seq: i64 = sqlx::query_scalar(
            "INSERT INTO transitions (target_id, from_status, to_status, at, reason, slot) \
             VALUES ($1, 'unhealthy', 'healthy', now(), 'late', 2) RETURNING seq",
        )
        .bind(target.id)
        .fetch_one(&mut *late)
        .await
        .unwrap();
        probe(&backend, &target, 3, true).await;

        let bounded = std::time::Duration::from_secs(20);
        let handed = tokio::time::timeout(
            bounded,
            turn(backend.store.as_ref(), healthmon_store::now(), 100, TurnOutput::default()),
        )
        .await
        .expect("a turn with settled transitions first does not wait");
        let seqs = |input: &TurnInput| input.transitions.iter().map(|t| t.seq).collect::<Vec<_>>();
        assert_eq!(seqs(&handed), [cursor + 1], "only what comes before the seq still being written");
        assert_eq!(late_seq, cursor + 2);

        let store = backend.store.clone();
        let waiting =
            tokio::spawn(async move { turn(store.as_ref(), healthmon_store::now(), 100, TurnOutput::default()).await });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "the next turn waits for the transaction writing seq {late_seq}");
        late.commit().await.unwrap();
        let handed = tokio::time::timeout(bounded, waiting).await.expect("the turn goes on once it commits").unwrap();
        assert_eq!(seqs(&handed), [cursor + 2, cursor + 3], "the late one in its place");
        pool.close().await;
        backend.finish().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_turn_running_elsewhere_is_skipped_not_repeated() {
        let backend = Backend::postgres().await;
        let other = backend.another_handle().await;
        let target = flippy_target(&backend, "api").await;
        let _ = turn(backend.store.as_ref(), healthmon_store::now(), 100, TurnOutput::default()).await;
        probe(&backend, &target, 1, false).await;

        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        // The first turn blocks inside its decision: on a runtime and a connection of its own, so
        // that nothing the rest of the test needs waits behind it.
        let url = backend.url.clone();
        let first = std::thread::spawn(move || -> anyhow::Result<Option<i64>> {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let store = healthmon_store::connect(&url).await?;
                let decide = |input: &TurnInput| {
                    entered_tx.send(()).expect("signal");
                    // Holds the turn until the other process has tried to take it.
                    let _ = release_rx.lock().expect("release").recv_timeout(std::time::Duration::from_secs(30));
                    TurnOutput {
                        cursor: input.transitions.last().map_or(input.cursor, |t| t.seq),
                        ..TurnOutput::default()
                    }
                };
                let output = store.alerting_turn(healthmon_store::now(), 100, &decide).await?;
                Ok(output.map(|output| output.cursor))
            })
        });
        tokio::task::spawn_blocking(move || entered_rx.recv_timeout(std::time::Duration::from_secs(30)))
            .await
            .unwrap()
            .expect("the first turn decides");
        let never = |_: &TurnInput| -> TurnOutput { panic!("a second turn must not decide while the first runs") };
        let skipped = other.alerting_turn(healthmon_store::now(), 100, &never).await.unwrap();
        assert_eq!(skipped, None, "the turn is taken");
        release_tx.send(()).unwrap();
        let first = tokio::task::spawn_blocking(move || first.join().expect("the first turn's thread")).await.unwrap();
        let cursor = first.expect("the first turn").expect("the first turn ran");
        assert_eq!(cursor, newest_seq(&backend, &target).await);

        let after = turn(other.as_ref(), healthmon_store::now(), 100, TurnOutput::default()).await;
        assert!(after.transitions.is_empty(), "what the first turn handled is not handed again");
        drop(other);
        backend.finish().await;
    }
}
