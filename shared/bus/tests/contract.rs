//! One contract suite for every `EventBus`: each test runs against the in-process bus and against
//! NATS JetStream (at `HEALTHMON_TEST_NATS_URL`, default nats://127.0.0.1:4222), each with its
//! own prefix so tests stay independent and can run in parallel.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use healthmon_bus::nats::NatsOptions;
use healthmon_bus::{
    ConsumerStats, Delivery, DurableConsumer, EventBus, MemoryBus, Message, Naming, NatsBus, StartAt, Stream,
};
use tokio::time::Instant;

const ACK_WAIT: Duration = Duration::from_secs(1);
/// For tests that count deliveries and must not see a redelivery while they wait.
const LONG_ACK_WAIT: Duration = Duration::from_secs(60);
/// Long enough that anything due would have come; bounded so a broken bus fails instead of hanging.
const QUIET: Duration = Duration::from_millis(1500);
const PATIENCE: Duration = Duration::from_secs(10);

#[derive(Clone, Copy)]
enum Backend {
    Memory,
    Nats,
}

struct Harness {
    backend: Backend,
    nats_buses: Mutex<Vec<NatsBus>>,
}

impl Harness {
    /// A bus with a fresh, unique prefix.
    async fn bus(&self) -> Arc<dyn EventBus> {
        let naming = Naming::new(format!("t{}", uuid::Uuid::new_v4().simple()));
        match self.backend {
            Backend::Memory => Arc::new(MemoryBus::new(naming)),
            Backend::Nats => {
                let url = std::env::var("HEALTHMON_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
                let bus = NatsBus::connect(&url, naming, NatsOptions::default()).await.expect("NATS is reachable");
                self.nats_buses.lock().unwrap().push(bus.clone());
                Arc::new(bus)
            }
        }
    }

    async fn delete_nats_streams(&self) {
        let buses = std::mem::take(&mut *self.nats_buses.lock().unwrap());
        for bus in buses {
            for stream in Stream::ALL {
                let _ = bus.jetstream().delete_stream(bus.naming().stream_name(stream)).await;
            }
        }
    }
}

/// Runs the test in its own task so its streams are deleted even when it panics.
async fn run<Test, Fut>(backend: Backend, test: Test)
where
    Test: FnOnce(Arc<Harness>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let harness = Arc::new(Harness { backend, nats_buses: Mutex::new(Vec::new()) });
    let outcome = tokio::spawn(test(harness.clone())).await;
    harness.delete_nats_streams().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test] async fn $test() { crate::run(crate::Backend::Memory, crate::$test).await })*
        }
        mod nats {
            $(#[tokio::test] async fn $test() { crate::run(crate::Backend::Nats, crate::$test).await })*
        }
    };
}

contract!(
    check_is_ok,
    acked_messages_are_not_redelivered,
    unacked_message_is_redelivered_after_ack_wait,
    nak_redelivers_after_its_delay,
    term_never_redelivers,
    same_msg_id_is_stored_once,
    fetch_waits_for_a_publish_and_times_out_empty,
    handles_with_one_name_split_the_messages,
    dropped_handle_messages_go_to_a_new_handle,
    reclaimed_unacked_messages_come_at_once_before_newer_ones,
    a_second_reclaim_before_any_ack_redelivers_only_the_unacked,
    follow_from_beginning_yields_history_then_live,
    follow_new_yields_only_later_messages,
    targets_keep_only_the_newest_message_per_key,
    keys_are_those_the_stream_holds_each_once,
    prefixes_and_streams_are_isolated,
    stats_count_the_undelivered_the_unacked_and_the_redelivered,
);

async fn stats_count_the_undelivered_the_unacked_and_the_redelivered(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    publish(&bus, Stream::Samples, "a", "one").await;
    let mut consumer = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    assert_eq!(consumer.stats().await.unwrap(), ConsumerStats { pending: 1, ack_pending: 0, redelivered: 0 });

    let first = fetch_up_to(&mut consumer, 1, PATIENCE).await;
    assert_eq!(first.len(), 1);
    assert_eq!(consumer.stats().await.unwrap(), ConsumerStats { pending: 0, ack_pending: 1, redelivered: 0 });
    drop(first);

    let again = fetch_up_to(&mut consumer, 1, PATIENCE).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].delivered, 2);
    assert_eq!(consumer.stats().await.unwrap(), ConsumerStats { pending: 0, ack_pending: 1, redelivered: 1 });

    publish(&bus, Stream::Samples, "a", "two").await;
    publish(&bus, Stream::Samples, "a", "three").await;
    assert_eq!(consumer.stats().await.unwrap(), ConsumerStats { pending: 2, ack_pending: 1, redelivered: 1 });
    ack_all(again).await;
    let settled = wait_for_stats(&mut consumer, ConsumerStats { pending: 2, ack_pending: 0, redelivered: 0 }).await;
    assert_eq!(settled, ConsumerStats { pending: 2, ack_pending: 0, redelivered: 0 });
}

/// Acks travel asynchronously on NATS, so the server may count one a moment after it was sent.
async fn wait_for_stats(consumer: &mut Box<dyn DurableConsumer>, expected: ConsumerStats) -> ConsumerStats {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let stats = consumer.stats().await.unwrap();
        if stats == expected || Instant::now() >= deadline {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn publish(bus: &Arc<dyn EventBus>, stream: Stream, key: &str, payload: &str) {
    let msg_id = uuid::Uuid::new_v4().to_string();
    bus.publish(stream, key, &msg_id, Bytes::from(payload.to_owned())).await.expect("publish");
}

/// Fetches until `count` deliveries arrived or `patience` ran out.
async fn fetch_up_to(consumer: &mut Box<dyn DurableConsumer>, count: usize, patience: Duration) -> Vec<Delivery> {
    let give_up_at = Instant::now() + patience;
    let mut deliveries = Vec::new();
    while deliveries.len() < count {
        let left = give_up_at.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        deliveries
            .extend(consumer.fetch(count - deliveries.len(), left.min(Duration::from_secs(2))).await.expect("fetch"));
    }
    deliveries
}

/// Whatever arrives within `quiet`; callers expect nothing.
async fn fetch_during(consumer: &mut Box<dyn DurableConsumer>, quiet: Duration) -> Vec<Delivery> {
    consumer.fetch(100, quiet).await.expect("fetch")
}

async fn follow_up_to(follower: &mut BoxStream<'static, anyhow::Result<Message>>, count: usize) -> Vec<Message> {
    let mut messages = Vec::new();
    let give_up_at = Instant::now() + PATIENCE;
    while messages.len() < count {
        match tokio::time::timeout_at(give_up_at, follower.next()).await {
            Ok(Some(item)) => messages.push(item.expect("follow item")),
            Ok(None) | Err(_) => break,
        }
    }
    messages
}

async fn next_within(follower: &mut BoxStream<'static, anyhow::Result<Message>>, quiet: Duration) -> Option<Message> {
    tokio::time::timeout(quiet, follower.next()).await.ok().flatten().map(|item| item.expect("follow item"))
}

fn payloads(messages: impl IntoIterator<Item = Message>) -> Vec<String> {
    messages.into_iter().map(|message| String::from_utf8_lossy(&message.payload).into_owned()).collect()
}

fn delivered_payloads(deliveries: &[Delivery]) -> Vec<String> {
    payloads(deliveries.iter().map(|delivery| delivery.message.clone()))
}

async fn ack_all(deliveries: Vec<Delivery>) {
    for delivery in deliveries {
        delivery.ack().await.expect("ack");
    }
}

async fn check_is_ok(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    bus.check().await.expect("a freshly connected bus is healthy");
}

async fn acked_messages_are_not_redelivered(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    for payload in ["1", "2", "3"] {
        publish(&bus, Stream::Samples, "target-a", payload).await;
    }
    let mut consumer = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    let deliveries = fetch_up_to(&mut consumer, 3, PATIENCE).await;
    assert_eq!(delivered_payloads(&deliveries), ["1", "2", "3"]);
    assert!(deliveries.iter().all(|delivery| delivery.delivered == 1));
    assert!(
        deliveries.iter().all(|delivery| delivery.message.subject == bus.naming().subject(Stream::Samples, "target-a"))
    );
    assert!(deliveries.windows(2).all(|pair| pair[0].message.sequence < pair[1].message.sequence));
    ack_all(deliveries).await;
    assert!(fetch_during(&mut consumer, QUIET).await.is_empty(), "acked messages came back");
}

async fn unacked_message_is_redelivered_after_ack_wait(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    publish(&bus, Stream::Samples, "a", "once").await;
    let mut consumer = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    let first = fetch_up_to(&mut consumer, 1, PATIENCE).await;
    assert_eq!(first.len(), 1);
    let fetched_at = Instant::now();
    let sequence = first[0].message.sequence;
    drop(first);

    let again = fetch_up_to(&mut consumer, 1, PATIENCE).await;
    assert_eq!(again.len(), 1, "unacked message was not redelivered");
    assert!(fetched_at.elapsed() >= ACK_WAIT / 2, "redelivered long before its ack wait");
    assert_eq!(again[0].message.sequence, sequence);
    assert_eq!(again[0].delivered, 2);
    ack_all(again).await;
}

async fn nak_redelivers_after_its_delay(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    publish(&bus, Stream::Samples, "a", "retry me").await;
    // An ack wait far beyond the patience shows the redelivery comes from the nak.
    let mut consumer = bus.durable_consumer(Stream::Samples, "projector", LONG_ACK_WAIT).await.unwrap();
    let mut first = fetch_up_to(&mut consumer, 1, PATIENCE).await;
    let delivery = first.pop().expect("one delivery");
    let sequence = delivery.message.sequence;
    delivery.nak(Duration::from_millis(200)).await.unwrap();

    let again = fetch_up_to(&mut consumer, 1, PATIENCE).await;
    assert_eq!(again.len(), 1, "nak'ed message was not redelivered");
    assert_eq!(again[0].message.sequence, sequence);
    assert_eq!(again[0].delivered, 2);
    ack_all(again).await;
}

async fn term_never_redelivers(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    publish(&bus, Stream::Samples, "a", "poison").await;
    let mut consumer = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    let mut first = fetch_up_to(&mut consumer, 1, PATIENCE).await;
    first.pop().expect("one delivery").term().await.unwrap();

    publish(&bus, Stream::Samples, "a", "fine").await;
    let next = fetch_up_to(&mut consumer, 1, PATIENCE).await;
    assert_eq!(delivered_payloads(&next), ["fine"]);
    ack_all(next).await;
    assert!(fetch_during(&mut consumer, QUIET).await.is_empty(), "terminated message came back");
}

async fn same_msg_id_is_stored_once(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    bus.publish(Stream::Health, "a", "id-1", Bytes::from("first")).await.unwrap();
    bus.publish(Stream::Health, "a", "id-1", Bytes::from("retry")).await.unwrap();
    bus.publish(Stream::Health, "a", "id-2", Bytes::from("second")).await.unwrap();

    let mut follower = bus.follow(Stream::Health, StartAt::Beginning).await.unwrap();
    assert_eq!(payloads(follow_up_to(&mut follower, 2).await), ["first", "second"]);
    assert!(next_within(&mut follower, Duration::from_millis(500)).await.is_none(), "duplicate was stored");

    let mut consumer = bus.durable_consumer(Stream::Health, "api", LONG_ACK_WAIT).await.unwrap();
    let deliveries = fetch_up_to(&mut consumer, 3, Duration::from_secs(1)).await;
    assert_eq!(delivered_payloads(&deliveries), ["first", "second"]);
}

async fn fetch_waits_for_a_publish_and_times_out_empty(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    let mut consumer = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    let started = Instant::now();
    assert!(consumer.fetch(10, Duration::from_millis(300)).await.unwrap().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(250), "fetch returned without waiting");

    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        (consumer.fetch(10, Duration::from_secs(20)).await.unwrap(), started.elapsed())
    });
    publish(&bus, Stream::Samples, "a", "wake up").await;
    let (deliveries, waited) = waiting.await.unwrap();
    assert_eq!(delivered_payloads(&deliveries), ["wake up"]);
    assert!(waited < Duration::from_secs(10), "fetch slept through the publish ({waited:?})");
}

async fn handles_with_one_name_split_the_messages(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    let sent: Vec<String> = (0..6).map(|n| format!("m{n}")).collect();
    for payload in &sent {
        publish(&bus, Stream::Samples, "a", payload).await;
    }
    let mut first = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    let mut second = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    let from_first = fetch_up_to(&mut first, 3, PATIENCE).await;
    let from_second = fetch_up_to(&mut second, 3, PATIENCE).await;
    let first_payloads = delivered_payloads(&from_first);
    let second_payloads = delivered_payloads(&from_second);
    assert_eq!(first_payloads.len(), 3);
    assert_eq!(second_payloads.len(), 3);
    let mut all: Vec<String> = first_payloads.iter().chain(&second_payloads).cloned().collect();
    all.sort();
    assert_eq!(all, sent, "each message goes to exactly one handle");
    ack_all(from_first).await;
    ack_all(from_second).await;
    let (left_first, left_second) = tokio::join!(fetch_during(&mut first, QUIET), fetch_during(&mut second, QUIET));
    assert!(left_first.is_empty() && left_second.is_empty(), "acked messages came back");
}

async fn dropped_handle_messages_go_to_a_new_handle(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    for payload in ["1", "2", "3", "4"] {
        publish(&bus, Stream::Samples, "a", payload).await;
    }
    let mut old = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    let mut deliveries = fetch_up_to(&mut old, 4, PATIENCE).await;
    assert_eq!(deliveries.len(), 4);
    let unacked = deliveries.split_off(2);
    ack_all(deliveries).await;
    drop(unacked);
    drop(old);

    let mut new = bus.durable_consumer(Stream::Samples, "projector", ACK_WAIT).await.unwrap();
    let redelivered = fetch_up_to(&mut new, 2, PATIENCE).await;
    assert_eq!(delivered_payloads(&redelivered), ["3", "4"]);
    assert!(redelivered.iter().all(|delivery| delivery.delivered == 2));
    ack_all(redelivered).await;
    assert!(fetch_during(&mut new, QUIET).await.is_empty(), "acked messages came back");
}

async fn reclaimed_unacked_messages_come_at_once_before_newer_ones(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    for payload in ["1", "2", "3", "4"] {
        publish(&bus, Stream::Samples, "a", payload).await;
    }
    let mut crashed = bus.durable_consumer(Stream::Samples, "projector", LONG_ACK_WAIT).await.unwrap();
    let mut deliveries = fetch_up_to(&mut crashed, 4, PATIENCE).await;
    assert_eq!(deliveries.len(), 4);
    let _held_unacked = deliveries.split_off(2);
    ack_all(deliveries).await;
    for payload in ["5", "6"] {
        publish(&bus, Stream::Samples, "a", payload).await;
    }

    let started = tokio::time::Instant::now();
    let mut successor = bus.durable_consumer(Stream::Samples, "projector", LONG_ACK_WAIT).await.unwrap();
    successor.reclaim_unacked().await.unwrap();
    let reclaimed = fetch_up_to(&mut successor, 4, PATIENCE).await;
    assert_eq!(delivered_payloads(&reclaimed), ["3", "4", "5", "6"], "in order, the unacked ones first");
    assert!(started.elapsed() < PATIENCE, "without waiting for the ack wait: {:?}", started.elapsed());
    ack_all(reclaimed).await;
    let mut reopened = bus.durable_consumer(Stream::Samples, "projector", LONG_ACK_WAIT).await.unwrap();
    assert!(fetch_during(&mut reopened, QUIET).await.is_empty(), "a reclaimed consumer opens again as it was");
}

/// Two take-overs in a row, the first successor crashing before it acks anything: the second
/// gets the same unacked messages, not the whole stream again.
async fn a_second_reclaim_before_any_ack_redelivers_only_the_unacked(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    for payload in ["1", "2", "3", "4"] {
        publish(&bus, Stream::Samples, "a", payload).await;
    }
    let mut crashed = bus.durable_consumer(Stream::Samples, "projector", LONG_ACK_WAIT).await.unwrap();
    let mut deliveries = fetch_up_to(&mut crashed, 4, PATIENCE).await;
    let _first_held = deliveries.split_off(2);
    ack_all(deliveries).await;

    let mut first = bus.durable_consumer(Stream::Samples, "projector", LONG_ACK_WAIT).await.unwrap();
    first.reclaim_unacked().await.unwrap();
    let _second_held = fetch_up_to(&mut first, 2, PATIENCE).await;

    let mut second = bus.durable_consumer(Stream::Samples, "projector", LONG_ACK_WAIT).await.unwrap();
    second.reclaim_unacked().await.unwrap();
    let reclaimed = fetch_up_to(&mut second, 2, PATIENCE).await;
    assert_eq!(delivered_payloads(&reclaimed), ["3", "4"], "only the unacked ones, in order");
    ack_all(reclaimed).await;
    assert!(fetch_during(&mut second, QUIET).await.is_empty(), "acked messages came back");
}

async fn follow_from_beginning_yields_history_then_live(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    for payload in ["1", "2", "3"] {
        publish(&bus, Stream::Health, "a", payload).await;
    }
    let mut follower = bus.follow(Stream::Health, StartAt::Beginning).await.unwrap();
    let history = follow_up_to(&mut follower, 3).await;
    for payload in ["4", "5"] {
        publish(&bus, Stream::Health, "b", payload).await;
    }
    let live = follow_up_to(&mut follower, 2).await;
    let all: Vec<Message> = history.into_iter().chain(live).collect();
    assert!(all.windows(2).all(|pair| pair[0].sequence < pair[1].sequence), "out of order");
    assert_eq!(payloads(all), ["1", "2", "3", "4", "5"]);
    assert!(next_within(&mut follower, Duration::from_millis(500)).await.is_none(), "a message was repeated");
}

async fn follow_new_yields_only_later_messages(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    for payload in ["old 1", "old 2"] {
        publish(&bus, Stream::Health, "a", payload).await;
    }
    let mut follower = bus.follow(Stream::Health, StartAt::New).await.unwrap();
    for payload in ["new 1", "new 2"] {
        publish(&bus, Stream::Health, "a", payload).await;
    }
    assert_eq!(payloads(follow_up_to(&mut follower, 2).await), ["new 1", "new 2"]);
}

async fn targets_keep_only_the_newest_message_per_key(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    publish(&bus, Stream::Targets, "a", "a v1").await;
    publish(&bus, Stream::Targets, "b", "b v1").await;
    publish(&bus, Stream::Targets, "a", "a v2").await;

    let mut follower = bus.follow(Stream::Targets, StartAt::Beginning).await.unwrap();
    let current = follow_up_to(&mut follower, 2).await;
    let by_subject: HashMap<String, String> = current
        .iter()
        .map(|message| (message.subject.clone(), String::from_utf8_lossy(&message.payload).into_owned()))
        .collect();
    let naming = bus.naming();
    assert_eq!(by_subject.len(), 2);
    assert_eq!(by_subject[&naming.subject(Stream::Targets, "a")], "a v2");
    assert_eq!(by_subject[&naming.subject(Stream::Targets, "b")], "b v1");
    assert!(next_within(&mut follower, Duration::from_millis(500)).await.is_none(), "superseded message kept");
}

async fn keys_are_those_the_stream_holds_each_once(harness: Arc<Harness>) {
    let bus = harness.bus().await;
    let other_prefix = harness.bus().await;
    assert!(bus.keys(Stream::Targets).await.expect("keys of an empty stream").is_empty());
    publish(&bus, Stream::Targets, "b", "b v1").await;
    publish(&bus, Stream::Targets, "a", "a v1").await;
    publish(&bus, Stream::Targets, "a", "a v2").await;
    publish(&bus, Stream::Samples, "c", "sample").await;
    publish(&other_prefix, Stream::Targets, "d", "elsewhere").await;

    assert_eq!(bus.keys(Stream::Targets).await.expect("keys"), ["a", "b"]);
    assert_eq!(bus.keys(Stream::Samples).await.expect("keys"), ["c"]);
    assert!(bus.keys(Stream::Health).await.expect("keys").is_empty());
    assert_eq!(other_prefix.keys(Stream::Targets).await.expect("keys"), ["d"]);
    assert_eq!(bus.key_count(Stream::Targets).await.expect("key count"), 2);
    assert_eq!(bus.key_count(Stream::Health).await.expect("key count"), 0);
}

async fn prefixes_and_streams_are_isolated(harness: Arc<Harness>) {
    let one = harness.bus().await;
    let other = harness.bus().await;
    publish(&one, Stream::Samples, "a", "one").await;
    publish(&other, Stream::Samples, "a", "other").await;
    publish(&one, Stream::Health, "a", "one's health").await;

    let mut follower = one.follow(Stream::Samples, StartAt::Beginning).await.unwrap();
    assert_eq!(payloads(follow_up_to(&mut follower, 1).await), ["one"]);
    assert!(next_within(&mut follower, Duration::from_millis(500)).await.is_none(), "saw another stream or prefix");

    let mut consumer = other.durable_consumer(Stream::Samples, "projector", LONG_ACK_WAIT).await.unwrap();
    let deliveries = fetch_up_to(&mut consumer, 5, Duration::from_secs(1)).await;
    assert_eq!(delivered_payloads(&deliveries), ["other"]);
}

/// Only NATS has a connection to lose: the first connect must fail fast, not retry forever.
#[tokio::test]
async fn nats_connect_fails_fast_with_the_url_in_the_error() {
    let started = Instant::now();
    let unreachable = "nats://127.0.0.1:1";
    let outcome = NatsBus::connect(unreachable, Naming::new("unused"), NatsOptions::default()).await;
    let error = outcome.err().expect("connecting to a closed port fails");
    assert!(format!("{error:#}").contains(unreachable), "error lacks the URL: {error:#}");
    assert!(started.elapsed() < Duration::from_secs(10), "first connect retried for {:?}", started.elapsed());
}
