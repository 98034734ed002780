//! The `Store` contract: every test here runs against both Postgres and SQLite, so the backends
//! cannot drift apart.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use healthmon_domain::events::{self, TargetChanged};
use healthmon_domain::sample::sample_id;
use healthmon_domain::target::parse_spec;
use healthmon_domain::{HealthState, HealthStatus, Sample, Target};
use healthmon_store::{
    OutboxEvent, OutboxSink, OutboxStream, SampleQuery, Store, TargetFilter, TargetRecord, WriteOutcome,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use uuid::Uuid;

mod support;

use support::Backend;

const SOURCE: &str = "/healthmon/test/contract";

contract_tests!(
    a_created_target_reads_back_exactly,
    listing_filters_by_status_tag_kind_and_name,
    listing_pages_without_gaps_or_repeats,
    updates_check_the_revision,
    a_check_change_resets_health_and_a_rename_does_not,
    deleting_removes_the_history_unless_kept,
    five_successes_make_a_target_healthy_once,
    replaying_a_batch_changes_nothing,
    samples_of_unknown_targets_are_not_stored,
    samples_within_a_batch_apply_in_slot_order,
    samples_page_newest_first_within_from_and_to,
    transitions_page_newest_first,
    the_relay_delivers_every_event_once_in_order,
    the_relay_stops_at_the_first_failed_delivery,
    concurrent_relays_never_deliver_an_event_twice,
    concurrent_overlapping_ingests_both_commit,
    republishing_queues_the_stored_word_on_each_target_once_the_outbox_is_relayed,
);

// ---------------------------------------------------------------------------------------------
// Fixtures

fn spec(document: Value) -> healthmon_domain::TargetSpec {
    parse_spec(&document).expect("valid target document")
}

fn http_target(name: &str, tags: &[&str]) -> Target {
    // Nanosecond timestamps prove the definition is kept verbatim, not rebuilt from columns.
    Target::create(
        spec(json!({"name": name, "kind": "http", "url": "http://127.0.0.1:9/health", "tags": tags})),
        Utc::now(),
    )
}

async fn create(backend: &Backend, target: &Target) {
    backend.store.create_target(target, SOURCE).await.expect("create target");
}

fn at(slot: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_700_000_000_000 + slot * 1000).expect("valid time")
}

fn sample(target: &Target, slot: i64, success: bool) -> Sample {
    Sample {
        id: sample_id(target.id, slot),
        target_id: target.id,
        slot,
        at: at(slot),
        success,
        status_code: success.then_some(200),
        latency_ms: 12.25,
        error: (!success).then(|| "connection refused".to_owned()),
        prober: "prober-1".to_owned(),
        check_version: target.check_version,
        pin_host_key: None,
    }
}

fn successes(target: &Target, slots: std::ops::RangeInclusive<i64>) -> Vec<Sample> {
    slots.map(|slot| sample(target, slot, true)).collect()
}

async fn record(backend: &Backend, id: Uuid) -> TargetRecord {
    backend.store.get_target(id).await.expect("get target").expect("target exists")
}

fn filter() -> TargetFilter {
    TargetFilter { limit: 100, ..TargetFilter::default() }
}

async fn names(backend: &Backend, filter: TargetFilter) -> Vec<String> {
    let page = backend.store.list_targets(&filter).await.expect("list targets");
    page.items.into_iter().map(|record| record.target.spec.name).collect()
}

/// Records every delivered event; optionally fails the n-th delivery attempt (1-based).
#[derive(Default)]
struct RecordingSink {
    delivered: Mutex<Vec<OutboxEvent>>,
    attempts: AtomicUsize,
    fail_attempt: Option<usize>,
}

impl RecordingSink {
    fn failing_at(attempt: usize) -> Self {
        Self { fail_attempt: Some(attempt), ..Self::default() }
    }

    fn events(&self) -> Vec<OutboxEvent> {
        self.delivered.lock().expect("sink lock").clone()
    }
}

#[async_trait]
impl OutboxSink for RecordingSink {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        if self.fail_attempt == Some(attempt) {
            anyhow::bail!("the bus is down");
        }
        self.delivered.lock().expect("sink lock").push(event.clone());
        Ok(())
    }
}

async fn drain(store: &dyn Store) -> Vec<OutboxEvent> {
    let sink = RecordingSink::default();
    store.relay_outbox(&sink, 10_000).await.expect("relay outbox").expect("no other relay runs");
    sink.events()
}

fn event_type(event: &OutboxEvent) -> String {
    events::decode(&event.payload).expect("a CloudEvent").0
}

// ---------------------------------------------------------------------------------------------
// Targets

async fn a_created_target_reads_back_exactly(backend: &Backend) {
    backend.store.check().await.expect("the database answers");
    let mut target = http_target("orders-api", &["payments", "eu"]);
    target.spec.interval_s = 17;
    target.spec.enabled = false;
    create(backend, &target).await;

    let stored = record(backend, target.id).await;
    assert_eq!(stored.target, target);
    assert_eq!(stored.health, HealthState::new(target.check_version));
    assert_eq!(stored.visible_status(), HealthStatus::Paused);
    assert!(backend.store.get_target(Uuid::now_v7()).await.expect("get").is_none());
    assert_eq!(backend.store.all_targets().await.expect("all targets"), vec![stored]);
    assert!(backend.store.create_target(&target, SOURCE).await.is_err(), "a duplicate id is refused");
}

async fn listing_filters_by_status_tag_kind_and_name(backend: &Backend) {
    let orders = http_target("Orders-API", &["payments"]);
    let billing = http_target("billing", &["payments", "eu"]);
    let mut odd = http_target("search_50%", &["eu"]);
    odd.spec.enabled = false;
    let catalog = http_target("catalog", &[]);
    for target in [&orders, &billing, &odd, &catalog] {
        create(backend, target).await;
    }
    backend.store.ingest(&successes(&billing, 1..=5), SOURCE).await.expect("ingest");

    let by_status = |status| TargetFilter { status: Some(status), ..filter() };
    assert_eq!(names(backend, by_status(HealthStatus::Healthy)).await, ["billing"]);
    assert_eq!(names(backend, by_status(HealthStatus::Paused)).await, ["search_50%"]);
    assert_eq!(names(backend, by_status(HealthStatus::Unknown)).await, ["Orders-API", "catalog"]);
    assert!(names(backend, by_status(HealthStatus::Unhealthy)).await.is_empty());

    let by_tag = |tag: &str| TargetFilter { tag: Some(tag.to_owned()), ..filter() };
    assert_eq!(names(backend, by_tag("payments")).await, ["Orders-API", "billing"]);
    assert_eq!(names(backend, by_tag("eu")).await, ["billing", "search_50%"]);
    assert!(names(backend, by_tag("pay")).await.is_empty(), "tags match whole");

    let by_kind = |kind: &str| TargetFilter { kind: Some(kind.to_owned()), ..filter() };
    assert_eq!(names(backend, by_kind("http")).await.len(), 4);
    assert!(names(backend, by_kind("tcp")).await.is_empty());

    let by_name = |q: &str| TargetFilter { q: Some(q.to_owned()), ..filter() };
    assert_eq!(names(backend, by_name("api")).await, ["Orders-API"]);
    assert_eq!(names(backend, by_name("ORDERS")).await, ["Orders-API"]);
    assert_eq!(names(backend, by_name("_")).await, ["search_50%"], "_ is not a wildcard");
    assert_eq!(names(backend, by_name("%")).await, ["search_50%"], "% is not a wildcard");
    assert_eq!(names(backend, by_name("a")).await, ["Orders-API", "search_50%", "catalog"]);

    let combined = TargetFilter { tag: Some("payments".into()), q: Some("bill".into()), ..filter() };
    assert_eq!(names(backend, combined).await, ["billing"]);
}

async fn listing_pages_without_gaps_or_repeats(backend: &Backend) {
    let mut all = Vec::new();
    for index in 0..7 {
        let tags: &[&str] = if index % 2 == 0 { &["even"] } else { &[] };
        let target = http_target(&format!("target-{index}"), tags);
        create(backend, &target).await;
        all.push(target.id);
    }
    all.sort();

    for (page_filter, expected) in [
        (TargetFilter { limit: 3, ..TargetFilter::default() }, all.clone()),
        (TargetFilter { limit: 2, tag: Some("even".into()), ..TargetFilter::default() }, {
            let mut even = Vec::new();
            for record in backend.store.all_targets().await.expect("all") {
                if record.target.spec.tags.contains(&"even".to_owned()) {
                    even.push(record.target.id);
                }
            }
            even
        }),
    ] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = backend.store.list_targets(&TargetFilter { cursor, ..page_filter.clone() }).await.expect("list");
            pages += 1;
            assert!(page.items.len() <= page_filter.limit as usize);
            seen.extend(page.items.iter().map(|record| record.target.id));
            match page.next_cursor {
                Some(next) => {
                    assert_eq!(next, seen.last().expect("a page with a cursor has items").to_string());
                    cursor = Some(next.parse().expect("the cursor is an id"));
                }
                None => break,
            }
        }
        assert_eq!(seen, expected);
        assert_eq!(pages, expected.len().div_ceil(page_filter.limit as usize));
    }
}

async fn updates_check_the_revision(backend: &Backend) {
    let original = http_target("orders", &[]);
    create(backend, &original).await;

    let mut renamed_spec = original.spec.clone();
    renamed_spec.name = "orders-v2".into();
    let renamed = original.replaced(renamed_spec, Utc::now());
    assert_eq!(backend.store.update_target(&renamed, SOURCE).await.expect("update"), WriteOutcome::Done);
    assert_eq!(record(backend, original.id).await.target, renamed);

    let mut stale_spec = original.spec.clone();
    stale_spec.name = "lost-update".into();
    let stale = original.replaced(stale_spec, Utc::now());
    assert_eq!(backend.store.update_target(&stale, SOURCE).await.expect("update"), WriteOutcome::Conflict);
    assert_eq!(record(backend, original.id).await.target, renamed, "a conflicting write changes nothing");

    let stranger = http_target("nobody", &[]).replaced(original.spec.clone(), Utc::now());
    assert_eq!(backend.store.update_target(&stranger, SOURCE).await.expect("update"), WriteOutcome::NotFound);
}

async fn a_check_change_resets_health_and_a_rename_does_not(backend: &Backend) {
    let target = http_target("orders", &[]);
    create(backend, &target).await;
    backend.store.ingest(&successes(&target, 1..=5), SOURCE).await.expect("ingest");
    assert_eq!(record(backend, target.id).await.health.status, HealthStatus::Healthy);
    drain(&*backend.store).await;

    let mut renamed_spec = target.spec.clone();
    renamed_spec.name = "orders-renamed".into();
    let renamed = target.replaced(renamed_spec, Utc::now());
    assert_eq!(renamed.check_version, target.check_version);
    assert_eq!(backend.store.update_target(&renamed, SOURCE).await.expect("rename"), WriteOutcome::Done);
    let after_rename = record(backend, target.id).await.health;
    assert_eq!(after_rename.status, HealthStatus::Healthy);
    assert_eq!(after_rename.consecutive_successes, 5);
    let rename_events = drain(&*backend.store).await;
    assert_eq!(rename_events.iter().map(event_type).collect::<Vec<_>>(), [events::TARGET_UPDATED]);

    let mut moved_spec = renamed.spec.clone();
    let healthmon_domain::Check::Http(check) = &mut moved_spec.check else { panic!("an http target") };
    check.url = "http://127.0.0.1:9/other".into();
    let moved = renamed.replaced(moved_spec, Utc::now());
    assert_eq!(moved.check_version, target.check_version + 1);
    assert_eq!(backend.store.update_target(&moved, SOURCE).await.expect("move"), WriteOutcome::Done);

    let health = record(backend, target.id).await.health;
    assert_eq!(health.status, HealthStatus::Unknown);
    assert_eq!(health.check_version, moved.check_version);
    assert_eq!((health.consecutive_successes, health.last_slot), (0, None));
    assert_eq!(health.reason.as_deref(), Some("the check changed"));

    let transitions = backend.store.transitions(target.id, 10, None).await.expect("transitions").items;
    let steps: Vec<_> = transitions.iter().map(|record| (record.from, record.to)).collect();
    assert_eq!(steps, [(HealthStatus::Healthy, HealthStatus::Unknown), (HealthStatus::Unknown, HealthStatus::Healthy)]);

    let move_events = drain(&*backend.store).await;
    assert_eq!(
        move_events.iter().map(event_type).collect::<Vec<_>>(),
        [events::TARGET_UPDATED, events::HEALTH_CHANGED]
    );
    let change = events::decode_health(&move_events[1].payload).expect("health event");
    assert_eq!(
        (change.from, change.to, change.name.as_str()),
        (HealthStatus::Healthy, HealthStatus::Unknown, "orders-renamed")
    );
    assert_eq!(move_events[1].msg_id, change.event_id());
    assert_eq!(move_events[1].stream, OutboxStream::Health);
    assert_eq!(move_events[1].key, target.id);

    // A second check change from unknown records no transition: nothing visible changed.
    let mut again_spec = moved.spec.clone();
    again_spec.timeout_s = 5;
    let again = moved.replaced(again_spec, Utc::now());
    assert_eq!(backend.store.update_target(&again, SOURCE).await.expect("update"), WriteOutcome::Done);
    assert_eq!(backend.store.transitions(target.id, 10, None).await.expect("transitions").items.len(), 2);
    assert_eq!(record(backend, target.id).await.health.check_version, again.check_version);
}

async fn deleting_removes_the_history_unless_kept(backend: &Backend) {
    let gone = http_target("gone", &[]);
    let kept = http_target("kept", &[]);
    for target in [&gone, &kept] {
        create(backend, target).await;
        backend.store.ingest(&successes(target, 1..=5), SOURCE).await.expect("ingest");
    }
    let history = |id| SampleQuery { target_id: id, limit: 100, ..Default::default() };

    assert!(backend.store.delete_target(gone.id, false, SOURCE).await.expect("delete"));
    assert!(backend.store.get_target(gone.id).await.expect("get").is_none());
    assert!(backend.store.samples(&history(gone.id)).await.expect("samples").items.is_empty());
    assert!(backend.store.transitions(gone.id, 10, None).await.expect("transitions").items.is_empty());
    assert!(!backend.store.delete_target(gone.id, false, SOURCE).await.expect("delete again"));

    assert!(backend.store.delete_target(kept.id, true, SOURCE).await.expect("delete"));
    assert!(backend.store.get_target(kept.id).await.expect("get").is_none());
    assert_eq!(backend.store.samples(&history(kept.id)).await.expect("samples").items.len(), 5);
    assert_eq!(backend.store.transitions(kept.id, 10, None).await.expect("transitions").items.len(), 1);

    let deletions: Vec<TargetChanged> = drain(&*backend.store)
        .await
        .iter()
        .filter(|event| event_type(event) == events::TARGET_DELETED)
        .map(|event| events::decode_target(&event.payload).expect("target event"))
        .collect();
    assert_eq!(
        deletions,
        [
            TargetChanged::Deleted { id: gone.id, revision: 2, keep_history: false },
            TargetChanged::Deleted { id: kept.id, revision: 2, keep_history: true },
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Ingest

async fn five_successes_make_a_target_healthy_once(backend: &Backend) {
    let target = http_target("orders", &[]);
    create(backend, &target).await;

    let first = backend.store.ingest(&successes(&target, 1..=4), SOURCE).await.expect("ingest");
    assert_eq!((first.stored, first.changes.len()), (4, 0));
    assert_eq!(record(backend, target.id).await.health.consecutive_successes, 4);

    let outcome = backend.store.ingest(&successes(&target, 5..=9), SOURCE).await.expect("ingest");
    assert_eq!(outcome.stored, 5);
    assert_eq!(outcome.changes.len(), 1);
    let change = &outcome.changes[0];
    assert_eq!((change.from, change.to, change.slot), (HealthStatus::Unknown, HealthStatus::Healthy, 5));
    assert_eq!((change.consecutive_successes, change.consecutive_failures), (5, 0));
    assert_eq!(change.name, "orders");

    let health = record(backend, target.id).await.health;
    assert_eq!(health.status, HealthStatus::Healthy);
    assert_eq!(health.since, Some(at(5)));
    // `last_sample_at` is when the newest probe finished: its start plus its latency.
    let finished = at(9) + chrono::Duration::microseconds(12_250);
    assert_eq!((health.consecutive_successes, health.last_slot, health.last_sample_at), (9, Some(9), Some(finished)));

    let health_events: Vec<_> =
        drain(&*backend.store).await.into_iter().filter(|event| event.stream == OutboxStream::Health).collect();
    assert_eq!(health_events.len(), 1);
    assert_eq!(events::decode_health(&health_events[0].payload).expect("health event"), *change);
    assert_eq!(health_events[0].msg_id, change.event_id());
}

async fn replaying_a_batch_changes_nothing(backend: &Backend) {
    let target = http_target("orders", &[]);
    create(backend, &target).await;
    let mut batch = successes(&target, 1..=5);
    batch.push(batch[2].clone());
    let first = backend.store.ingest(&batch, SOURCE).await.expect("ingest");
    assert_eq!((first.stored, first.changes.len()), (5, 1), "a duplicate within a batch is stored once");
    let before = record(backend, target.id).await;
    drain(&*backend.store).await;

    let replay = backend.store.ingest(&batch, SOURCE).await.expect("replay");
    assert_eq!((replay.stored, replay.changes.len()), (0, 0));
    assert_eq!(record(backend, target.id).await, before);
    assert!(drain(&*backend.store).await.is_empty(), "a replay publishes nothing");
    assert_eq!(backend.store.transitions(target.id, 10, None).await.expect("transitions").items.len(), 1);
}

async fn samples_of_unknown_targets_are_not_stored(backend: &Backend) {
    let known = http_target("known", &[]);
    let unknown = http_target("never-created", &[]);
    create(backend, &known).await;
    let mut batch = successes(&unknown, 1..=3);
    batch.extend(successes(&known, 1..=2));
    let outcome = backend.store.ingest(&batch, SOURCE).await.expect("ingest");
    assert_eq!(outcome.stored, 2);
    let query = |id| SampleQuery { target_id: id, limit: 10, ..Default::default() };
    assert!(backend.store.samples(&query(unknown.id)).await.expect("samples").items.is_empty());
    assert_eq!(backend.store.samples(&query(known.id)).await.expect("samples").items.len(), 2);
    assert!(backend.store.get_target(unknown.id).await.expect("get").is_none());
    assert_eq!(backend.store.ingest(&[], SOURCE).await.expect("empty batch").stored, 0);
}

async fn samples_within_a_batch_apply_in_slot_order(backend: &Backend) {
    let target = http_target("orders", &[]);
    create(backend, &target).await;
    // In slot order: three failures (unhealthy at slot 3), then two successes.
    let batch = vec![
        sample(&target, 5, true),
        sample(&target, 2, false),
        sample(&target, 4, true),
        sample(&target, 1, false),
        sample(&target, 3, false),
    ];
    let outcome = backend.store.ingest(&batch, SOURCE).await.expect("ingest");
    assert_eq!(outcome.stored, 5);
    let steps: Vec<_> = outcome.changes.iter().map(|change| (change.from, change.to, change.slot)).collect();
    assert_eq!(steps, [(HealthStatus::Unknown, HealthStatus::Unhealthy, 3)]);
    assert_eq!(outcome.changes[0].consecutive_failures, 3);
    let health = record(backend, target.id).await.health;
    assert_eq!(health.status, HealthStatus::Unhealthy);
    assert_eq!((health.consecutive_successes, health.consecutive_failures, health.last_slot), (2, 0, Some(5)));
    assert!(health.reason.as_deref().is_some_and(|reason| reason.contains("connection refused")));

    // A late sample older than what was counted is kept as history but moves nothing.
    let late = backend.store.ingest(&[sample(&target, 0, false)], SOURCE).await.expect("ingest");
    assert_eq!((late.stored, late.changes.len()), (1, 0));
    assert_eq!(record(backend, target.id).await.health, health);
}

async fn samples_page_newest_first_within_from_and_to(backend: &Backend) {
    let target = http_target("orders", &[]);
    create(backend, &target).await;
    let batch: Vec<Sample> = (1..=10).map(|slot| sample(&target, slot, slot % 3 != 0)).collect();
    backend.store.ingest(&batch, SOURCE).await.expect("ingest");

    let mut query = SampleQuery { target_id: target.id, limit: 4, ..Default::default() };
    let mut pages = Vec::new();
    loop {
        let page = backend.store.samples(&query).await.expect("samples");
        pages.push(page.items.iter().map(|sample| sample.slot).collect::<Vec<_>>());
        match page.next_cursor {
            Some(cursor) => query.before_slot = Some(cursor.parse().expect("a slot")),
            None => break,
        }
    }
    assert_eq!(pages, [vec![10, 9, 8, 7], vec![6, 5, 4, 3], vec![2, 1]]);

    let window = SampleQuery {
        target_id: target.id,
        limit: 100,
        before_slot: None,
        from: Some(at(3)),
        to: Some(at(8)),
        ..Default::default()
    };
    let items = backend.store.samples(&window).await.expect("samples").items;
    let expected: Vec<Sample> = batch[2..7].iter().rev().cloned().collect();
    assert_eq!(items, expected, "from is inclusive, to exclusive, and samples read back exactly");
}

async fn transitions_page_newest_first(backend: &Backend) {
    let mut target = http_target("flappy", &[]);
    target.spec.healthy_threshold = 1;
    target.spec.unhealthy_threshold = 1;
    create(backend, &target).await;
    let batch: Vec<Sample> = (1..=5).map(|slot| sample(&target, slot, slot % 2 == 1)).collect();
    let outcome = backend.store.ingest(&batch, SOURCE).await.expect("ingest");
    assert_eq!(outcome.changes.len(), 5);

    let first = backend.store.transitions(target.id, 3, None).await.expect("transitions");
    let targets: Vec<_> = first.items.iter().map(|record| record.to).collect();
    assert_eq!(targets, [HealthStatus::Healthy, HealthStatus::Unhealthy, HealthStatus::Healthy]);
    assert_eq!(first.items[0].at, at(5));
    assert!(first.items.windows(2).all(|pair| pair[0].seq > pair[1].seq));
    let cursor: i64 = first.next_cursor.expect("more follow").parse().expect("a seq");
    let second = backend.store.transitions(target.id, 3, Some(cursor)).await.expect("transitions");
    let steps: Vec<_> = second.items.iter().map(|record| (record.from, record.to)).collect();
    assert_eq!(
        steps,
        [(HealthStatus::Healthy, HealthStatus::Unhealthy), (HealthStatus::Unknown, HealthStatus::Healthy)]
    );
    assert_eq!(second.next_cursor, None);
}

async fn concurrent_overlapping_ingests_both_commit(backend: &Backend) {
    let mut targets = Vec::new();
    for index in 0..20 {
        let target = http_target(&format!("target-{index}"), &[]);
        create(backend, &target).await;
        targets.push(target);
    }
    // Two projectors whose batches cover the same targets, in opposite orders.
    let forward: Vec<Sample> = targets.iter().flat_map(|target| successes(target, 1..=3)).collect();
    let backward: Vec<Sample> = targets.iter().rev().flat_map(|target| successes(target, 4..=6)).collect();
    let other = backend.another_handle().await;
    let (a, b) = tokio::join!(backend.store.ingest(&forward, SOURCE), other.ingest(&backward, SOURCE));
    assert_eq!(a.expect("first batch").stored + b.expect("second batch").stored, 120);
    // Whichever order they committed in, every target has seen slots up to 6.
    for target in &targets {
        assert_eq!(record(backend, target.id).await.health.last_slot, Some(6));
    }
}

// ---------------------------------------------------------------------------------------------
// Outbox

async fn the_relay_delivers_every_event_once_in_order(backend: &Backend) {
    let target = http_target("orders", &[]);
    create(backend, &target).await;
    let mut renamed_spec = target.spec.clone();
    renamed_spec.name = "orders-v2".into();
    let renamed = target.replaced(renamed_spec, Utc::now());
    assert_eq!(backend.store.update_target(&renamed, SOURCE).await.expect("update"), WriteOutcome::Done);
    backend.store.ingest(&successes(&renamed, 1..=5), SOURCE).await.expect("ingest");
    assert!(backend.store.delete_target(target.id, false, SOURCE).await.expect("delete"));

    let sink = RecordingSink::default();
    assert_eq!(backend.store.relay_outbox(&sink, 100).await.expect("relay"), Some(4));
    let delivered = sink.events();
    assert_eq!(
        delivered.iter().map(event_type).collect::<Vec<_>>(),
        [events::TARGET_CREATED, events::TARGET_UPDATED, events::HEALTH_CHANGED, events::TARGET_DELETED]
    );
    assert!(delivered.windows(2).all(|pair| pair[0].seq < pair[1].seq));
    assert!(delivered.iter().all(|event| event.key == target.id));
    let streams: Vec<_> = delivered.iter().map(|event| event.stream).collect();
    assert_eq!(streams, [OutboxStream::Targets, OutboxStream::Targets, OutboxStream::Health, OutboxStream::Targets]);
    let ids: BTreeSet<Uuid> = delivered.iter().map(|event| event.msg_id).collect();
    assert_eq!(ids.len(), 4);
    for event in &delivered {
        let envelope: Value = serde_json::from_slice(&event.payload).expect("JSON");
        assert_eq!(envelope["id"], event.msg_id.to_string(), "the bus de-duplicates on the CloudEvent id");
        assert_eq!(envelope["source"], SOURCE);
    }
    assert_eq!(
        events::decode_target(&delivered[0].payload).expect("created"),
        TargetChanged::Created { target: target.clone() }
    );
    assert_eq!(
        events::decode_target(&delivered[1].payload).expect("updated"),
        TargetChanged::Updated { target: renamed.clone() }
    );

    let again = RecordingSink::default();
    assert_eq!(backend.store.relay_outbox(&again, 100).await.expect("relay"), Some(0));
    assert!(again.events().is_empty(), "the outbox is empty once delivered");
}

async fn the_relay_stops_at_the_first_failed_delivery(backend: &Backend) {
    let targets: Vec<Target> = (0..3).map(|index| http_target(&format!("t{index}"), &[])).collect();
    for target in &targets {
        create(backend, target).await;
    }
    let flaky = RecordingSink::failing_at(2);
    assert!(backend.store.relay_outbox(&flaky, 100).await.is_err(), "the failure is reported");
    let first = flaky.events();
    assert_eq!(first.iter().map(|event| event.key).collect::<Vec<_>>(), [targets[0].id]);

    let sink = RecordingSink::default();
    assert_eq!(backend.store.relay_outbox(&sink, 100).await.expect("relay"), Some(2));
    assert_eq!(sink.events().iter().map(|event| event.key).collect::<Vec<_>>(), [targets[1].id, targets[2].id]);
    assert!(drain(&*backend.store).await.is_empty());

    // A limit is honoured, oldest first.
    for target in &targets {
        assert!(backend.store.delete_target(target.id, false, SOURCE).await.expect("delete"));
    }
    let limited = RecordingSink::default();
    assert_eq!(backend.store.relay_outbox(&limited, 2).await.expect("relay"), Some(2));
    assert_eq!(limited.events().iter().map(|event| event.key).collect::<Vec<_>>(), [targets[0].id, targets[1].id]);
    assert_eq!(drain(&*backend.store).await.len(), 1);
}

/// Holds its first delivery until released, so a relay pass can be kept in flight.
struct GateSink {
    entered: Mutex<Option<oneshot::Sender<()>>>,
    release: Mutex<Option<oneshot::Receiver<()>>>,
    inner: RecordingSink,
}

#[async_trait]
impl OutboxSink for GateSink {
    async fn deliver(&self, event: &OutboxEvent) -> anyhow::Result<()> {
        let entered = self.entered.lock().expect("gate lock").take();
        if let Some(entered) = entered {
            let _ = entered.send(());
        }
        let release = self.release.lock().expect("gate lock").take();
        if let Some(release) = release {
            release.await?;
        }
        self.inner.deliver(event).await
    }
}

async fn concurrent_relays_never_deliver_an_event_twice(backend: &Backend) {
    const EVENTS: usize = 30;
    for index in 0..EVENTS {
        create(backend, &http_target(&format!("t{index}"), &[])).await;
    }
    let other = backend.another_handle().await;

    // While one relay is mid-delivery, another cannot take a turn.
    let (entered_tx, entered_rx) = oneshot::channel();
    let (release_tx, release_rx) = oneshot::channel();
    let gate = Arc::new(GateSink {
        entered: Mutex::new(Some(entered_tx)),
        release: Mutex::new(Some(release_rx)),
        inner: RecordingSink::default(),
    });
    let holder = tokio::spawn({
        let store = backend.store.clone();
        let gate = gate.clone();
        async move { store.relay_outbox(&*gate, 5).await }
    });
    entered_rx.await.expect("the first relay started delivering");
    let blocked = RecordingSink::default();
    assert_eq!(other.relay_outbox(&blocked, 100).await.expect("relay"), None, "the turn is taken");
    assert!(blocked.events().is_empty());
    release_tx.send(()).expect("release the first relay");
    assert_eq!(holder.await.expect("join").expect("relay"), Some(5));

    // Two relays racing until everything is out: each event arrives exactly once.
    let shared = Arc::new(RecordingSink::default());
    let race = |store: Arc<dyn Store>, sink: Arc<RecordingSink>| async move {
        while sink.events().len() < EVENTS - 5 {
            store.relay_outbox(&*sink, 2).await.expect("relay");
            tokio::task::yield_now().await;
        }
    };
    let racing = tokio::time::timeout(
        Duration::from_secs(60),
        futures::future::join(
            tokio::spawn(race(backend.store.clone(), shared.clone())),
            tokio::spawn(race(other.clone(), shared.clone())),
        ),
    )
    .await
    .expect("the relays drain the outbox");
    racing.0.expect("first racer");
    racing.1.expect("second racer");

    let mut counts: HashMap<Uuid, usize> = HashMap::new();
    for event in gate.inner.events().into_iter().chain(shared.events()) {
        *counts.entry(event.msg_id).or_default() += 1;
    }
    assert_eq!(counts.len(), EVENTS);
    assert!(counts.values().all(|&count| count == 1), "an event was delivered twice");
    assert!(drain(&*backend.store).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// SQLite specifics

#[tokio::test]
async fn sqlite_accepts_every_url_form() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("plain.db");
    let plain = healthmon_store::connect(&format!("sqlite:{}", path.display())).await.expect("sqlite:path");
    let target = http_target("orders", &[]);
    plain.create_target(&target, SOURCE).await.expect("create");
    assert!(path.exists(), "the file is created when missing");

    let memory = healthmon_store::connect("sqlite::memory:").await.expect("in memory");
    memory.create_target(&target, SOURCE).await.expect("create");
    memory.ingest(&successes(&target, 1..=5), SOURCE).await.expect("ingest");
    let stored = memory.get_target(target.id).await.expect("get").expect("present");
    assert_eq!(stored.health.status, HealthStatus::Healthy, "every call sees the same in-memory database");

    assert!(healthmon_store::connect("mysql://localhost/db").await.is_err());
}

// ---------------------------------------------------------------------------------------------
// Republishing the plan

async fn republishing_queues_the_stored_word_on_each_target_once_the_outbox_is_relayed(backend: &Backend) {
    let (kept, renamed, gone) = (http_target("kept", &[]), http_target("renamed", &[]), http_target("gone", &[]));
    for target in [&kept, &renamed, &gone] {
        create(backend, target).await;
    }
    let mut renamed_spec = renamed.spec.clone();
    renamed_spec.name = "renamed-v2".into();
    let renamed_now = renamed.replaced(renamed_spec, Utc::now());
    assert_eq!(backend.store.update_target(&renamed_now, SOURCE).await.expect("update"), WriteOutcome::Done);
    assert!(backend.store.delete_target(gone.id, false, SOURCE).await.expect("delete"));
    let mut expected_ids = vec![kept.id, renamed.id];
    expected_ids.sort();
    assert_eq!(backend.store.target_ids().await.expect("ids"), expected_ids);

    assert!(backend.store.target_events_pending().await.expect("pending"), "created, not relayed yet");
    drain(backend.store.as_ref()).await;
    assert!(!backend.store.target_events_pending().await.expect("pending"), "relayed");

    let asked = [kept.id, renamed.id, gone.id, Uuid::now_v7()];
    assert_eq!(backend.store.republish_targets(&asked, SOURCE).await.expect("republish"), 2, "absent ids skipped");

    let republished = drain(backend.store.as_ref()).await;
    assert_eq!(republished.len(), 2);
    let mut stated: Vec<Target> = republished
        .iter()
        .map(|event| match events::decode_target(&event.payload).expect("a target event") {
            TargetChanged::Resynced { target: Some(target), .. } => target,
            other => panic!("expected a resync stating the target, got {other:?}"),
        })
        .collect();
    stated.sort_by_key(|target| target.id);
    let mut expected = vec![kept.clone(), renamed_now.clone()];
    expected.sort_by_key(|target| target.id);
    assert_eq!(stated, expected, "each as stored now");
}
