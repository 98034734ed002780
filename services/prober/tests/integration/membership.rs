//! Prober membership against the real NATS at `HEALTHMON_TEST_NATS_URL` (default
//! nats://127.0.0.1:4222): members find each other, leave on shutdown or by falling silent, and
//! split the targets so each is probed by exactly one live prober.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::Utc;
use healthmon_bus::{EventBus, Naming, NatsBus, Stream};
use healthmon_domain::Target;
use healthmon_domain::address_policy::AddressPolicy;
use healthmon_domain::events::{TargetChanged, decode_sample, encode_target};
use healthmon_domain::target::parse_spec;
use healthmon_prober::membership::{Members, Membership, owner};
use healthmon_prober::{MembershipConfig, ProberConfig};
use tokio::sync::watch;
use tokio::time::{Instant, timeout_at};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const TEST_TTL: Duration = Duration::from_secs(2);

fn nats_url() -> String {
    std::env::var("HEALTHMON_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A connection under a prefix of the test's own, so tests never see each other's members.
async fn connect(naming: &Naming) -> NatsBus {
    NatsBus::connect(&nats_url(), naming.clone(), Default::default()).await.expect("connect to NATS")
}

fn unique_naming() -> Naming {
    Naming::new(format!("t{}", Uuid::new_v4().simple()))
}

async fn clean_up(nats: &NatsBus) {
    let jetstream = nats.jetstream();
    let _ = jetstream.delete_key_value(nats.naming().durable_name("probers")).await;
    for stream in Stream::ALL {
        let _ = jetstream.delete_stream(nats.naming().stream_name(stream)).await;
    }
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|name| name.to_string()).collect()
}

/// Waits until the view satisfies `wanted`, failing after `within`; returns how long it took.
async fn wait_for_members(
    members: &mut watch::Receiver<Members>,
    within: Duration,
    wanted: impl Fn(&BTreeSet<String>) -> bool,
) -> Duration {
    let started = Instant::now();
    let reached =
        timeout_at(started + within, members.wait_for(|current| wanted(current))).await.is_ok_and(|r| r.is_ok());
    let last = members.borrow().clone();
    assert!(reached, "members still {last:?} after {within:?}");
    started.elapsed()
}

async fn join(nats: &NatsBus, instance: &str, ttl: Duration, shutdown: &CancellationToken) -> Membership {
    Membership::join_nats_kv(nats, instance, ttl, shutdown.clone()).await.expect("join")
}

#[tokio::test]
async fn members_see_each_other() {
    let naming = unique_naming();
    let nats = connect(&naming).await;
    let shutdown = CancellationToken::new();
    let mut memberships = Vec::new();
    for instance in ["prober-a", "prober-b", "prober-c"] {
        memberships.push(join(&nats, instance, TEST_TTL, &shutdown).await);
    }
    let all = names(&["prober-a", "prober-b", "prober-c"]);
    for membership in &memberships {
        wait_for_members(&mut membership.members(), Duration::from_secs(5), |current| *current == all).await;
    }
    shutdown.cancel();
    for membership in memberships {
        membership.left().await;
    }
    clean_up(&nats).await;
}

#[tokio::test]
async fn a_silent_member_leaves_within_the_ttl() {
    let naming = unique_naming();
    let nats = connect(&naming).await;
    let shutdown = CancellationToken::new();
    let survivor = join(&nats, "survivor", TEST_TTL, &shutdown).await;
    let crashing = join(&nats, "crashing", TEST_TTL, &shutdown).await;
    let mut members = survivor.members();
    wait_for_members(&mut members, Duration::from_secs(5), |current| current.len() == 2).await;

    // Dropped without leaving: the heartbeats just stop, as in a crash.
    drop(crashing);
    let margin = Duration::from_millis(1500);
    let took = wait_for_members(&mut members, TEST_TTL + margin, |current| *current == names(&["survivor"])).await;
    assert!(took > TEST_TTL / 3, "a silent member must not vanish before its heartbeat runs out ({took:?})");

    // Still alive itself, the survivor keeps heartbeating past its own TTL.
    let stays = timeout_at(Instant::now() + TEST_TTL * 2, members.wait_for(|current| !current.contains("survivor")));
    assert!(stays.await.is_err(), "the survivor dropped out of its own view");
    shutdown.cancel();
    survivor.left().await;
    clean_up(&nats).await;
}

#[tokio::test]
async fn a_graceful_leave_is_seen_at_once() {
    let naming = unique_naming();
    let nats = connect(&naming).await;
    let long_ttl = Duration::from_secs(30);
    let (staying_shutdown, leaving_shutdown) = (CancellationToken::new(), CancellationToken::new());
    let staying = join(&nats, "staying", long_ttl, &staying_shutdown).await;
    let leaving = join(&nats, "leaving", long_ttl, &leaving_shutdown).await;
    let mut members = staying.members();
    wait_for_members(&mut members, Duration::from_secs(5), |current| current.len() == 2).await;

    leaving_shutdown.cancel();
    leaving.left().await;
    wait_for_members(&mut members, Duration::from_secs(2), |current| *current == names(&["staying"])).await;
    staying_shutdown.cancel();
    staying.left().await;
    clean_up(&nats).await;
}

/// Publishes a created event for an enabled TCP target probed every second.
async fn publish_target(bus: &NatsBus, port: u16) -> Arc<Target> {
    let spec = parse_spec(&serde_json::json!({
        "name": format!("port {port}"), "kind": "tcp", "host": "127.0.0.1", "port": port, "interval_s": 1
    }))
    .expect("a valid spec");
    let target = Target::create(spec, Utc::now());
    let event_id = Uuid::new_v4();
    let payload = encode_target(&TargetChanged::Created { target: target.clone() }, event_id, "test", Utc::now());
    bus.publish(Stream::Targets, &target.id.to_string(), &event_id.to_string(), Bytes::from(payload))
        .await
        .expect("publish target");
    Arc::new(target)
}

fn start_prober(nats: NatsBus, instance: &str, keys: &tempfile::TempDir) -> tokio::task::JoinHandle<()> {
    let config = ProberConfig {
        instance: instance.to_string(),
        address_policy: AddressPolicy::default(),
        keys_dir: keys.path().to_path_buf(),
        membership: MembershipConfig::NatsKv { nats: nats.clone(), heartbeat_ttl: TEST_TTL },
        buffer_bound: 1000,
    };
    tokio::spawn(async move {
        healthmon_prober::run(Arc::new(nats), config, CancellationToken::new()).await.expect("prober runs");
    })
}

/// Reads samples until `done` says the record so far is enough, failing after `within`.
async fn read_samples_until(
    consumer: &mut Box<dyn healthmon_bus::DurableConsumer>,
    record: &mut HashMap<Uuid, Vec<String>>,
    within: Duration,
    done: impl Fn(&HashMap<Uuid, Vec<String>>) -> bool,
) {
    let deadline = Instant::now() + within;
    while !done(record) {
        assert!(Instant::now() < deadline, "samples so far: {record:?}");
        for delivery in consumer.fetch(100, Duration::from_millis(500)).await.expect("fetch samples") {
            let sample = decode_sample(&delivery.message.payload).expect("a sample");
            record.entry(sample.target_id).or_default().push(sample.prober);
            delivery.ack().await.expect("ack");
        }
    }
}

async fn with_timeout<F: Future>(future: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), future).await.expect("test finished in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_probers_split_the_targets_and_take_over_a_dead_one_s() {
    with_timeout(async {
        let naming = unique_naming();
        let nats = connect(&naming).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move { while listener.accept().await.is_ok() {} });
        let mut targets = Vec::new();
        for _ in 0..12 {
            targets.push(publish_target(&nats, port).await);
        }
        let mut consumer =
            nats.durable_consumer(Stream::Samples, "test", Duration::from_secs(30)).await.expect("consumer");
        let keys = [tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir")];
        let first = start_prober(connect(&naming).await, "prober-1", &keys[0]);
        let second = start_prober(connect(&naming).await, "prober-2", &keys[1]);

        // Steady state: every target's last three samples come from its rendezvous owner alone.
        let both = names(&["prober-1", "prober-2"]);
        let expected: HashMap<Uuid, String> =
            targets.iter().map(|target| (target.id, owner(target.id, &both).expect("an owner").to_string())).collect();
        assert!(expected.values().any(|name| name == "prober-1") && expected.values().any(|name| name == "prober-2"));
        let mut record = HashMap::new();
        let settled = |record: &HashMap<Uuid, Vec<String>>| {
            expected.iter().all(|(id, owner)| {
                record
                    .get(id)
                    .is_some_and(|probers| probers.len() >= 3 && probers.iter().rev().take(3).all(|p| p == owner))
            })
        };
        read_samples_until(&mut consumer, &mut record, Duration::from_secs(20), settled).await;
        let mut after_settling = HashMap::new();
        read_samples_until(&mut consumer, &mut after_settling, Duration::from_secs(10), |seen| {
            expected.keys().all(|id| seen.get(id).is_some_and(|probers| probers.len() >= 3))
        })
        .await;
        for (id, probers) in &after_settling {
            assert!(probers.iter().all(|p| *p == expected[id]), "{id} probed by {probers:?}, owner {}", expected[id]);
        }

        // prober-2 dies: its targets go to prober-1 within the TTL plus an interval (and some slack).
        second.abort();
        let died = Instant::now();
        let mut after_death = HashMap::new();
        read_samples_until(&mut consumer, &mut after_death, TEST_TTL + Duration::from_secs(4), |seen| {
            expected.keys().all(|id| seen.get(id).is_some_and(|probers| probers.iter().any(|p| p == "prober-1")))
        })
        .await;
        let took = died.elapsed();
        assert!(took <= TEST_TTL + Duration::from_secs(4), "hand-over took {took:?}");

        first.abort();
        clean_up(&nats).await;
    })
    .await;
}
