//! A restart must not stop probing. The all-in-one on its embedded default (SQLite and the
//! in-process bus, whose targets stream dies with the process) and distributed (Postgres and
//! NATS), stopped with SIGTERM or killed with SIGKILL and started again; a prober alone restarted;
//! a NATS server that comes back without its data. Each time, every enabled target must be probed
//! again within one interval + 5 s of the restart (a SIGKILLed prober's membership must first
//! expire: heartbeat TTL + one interval + 5 s), with no manual resync, and its samples stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::cluster::{ApiClient, Cluster, Role};
use healthmon_testing::PrivateNats;
use healthmon_testing::wait_until;

use crate::report;

const TARGETS: usize = 4;
const INTERVAL_S: i64 = 1;
/// Short, so a SIGKILLed member's expiry fits in a quick test.
const HEARTBEAT_TTL_S: i64 = 3;

/// A local HTTP server recording when each path was requested: one path per target.
#[derive(Clone)]
struct HitLog {
    base: String,
    hits: Arc<Mutex<HashMap<String, Vec<DateTime<Utc>>>>>,
}

impl HitLog {
    async fn start() -> Self {
        let hits: Arc<Mutex<HashMap<String, Vec<DateTime<Utc>>>>> = Arc::default();
        let recorded = hits.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let recorded = recorded.clone();
            async move {
                let mut hits = recorded.lock().unwrap_or_else(PoisonError::into_inner);
                hits.entry(uri.path().to_owned()).or_default().push(Utc::now());
                "ok"
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the hit log");
        let addr = listener.local_addr().expect("hit log address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { base: format!("http://{addr}"), hits }
    }

    fn url(&self, n: usize) -> String {
        format!("{}/t{n}", self.base)
    }

    /// When each of the first `count` paths was first requested after `after`, if every one was.
    fn first_hits_after(&self, count: usize, after: DateTime<Utc>) -> Option<Vec<DateTime<Utc>>> {
        let hits = self.hits.lock().unwrap_or_else(PoisonError::into_inner);
        (0..count).map(|n| hits.get(&format!("/t{n}"))?.iter().copied().find(|at| *at > after)).collect()
    }
}

/// The targets, created through the cluster's API, probed every second.
async fn create_targets(client: &ApiClient, hits: &HitLog) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for n in 0..TARGETS {
        ids.push(client.create_target(&format!("restart-{n}"), &hits.url(n), INTERVAL_S as u64).await);
    }
    ids
}

/// Waits until the API shows every target with a sample that began after `after`; returns the
/// latest of their first such samples.
async fn stored_after(client: &ApiClient, ids: &[Uuid], after: DateTime<Utc>, within: Duration) -> DateTime<Utc> {
    wait_until("a stored sample of every target after the restart", within, || async move {
        let mut latest = after;
        for id in ids {
            let target = client.target(*id).await;
            let newest = target["recent_samples"][0]["at"].as_str()?;
            let newest: DateTime<Utc> = newest.parse().ok()?;
            if newest <= after {
                return None;
            }
            latest = latest.max(newest);
        }
        Some(latest)
    })
    .await
}

/// Waits until every target is probed after `after`; fails beyond `budget`. Returns the slowest
/// target's wait.
async fn probed_again(hits: &HitLog, after: DateTime<Utc>, budget: Duration) -> Duration {
    let firsts = wait_until("every target probed again after the restart", budget, || async move {
        hits.first_hits_after(TARGETS, after)
    })
    .await;
    let slowest = firsts.into_iter().max().expect("targets");
    (slowest - after).to_std().unwrap_or_default()
}

fn budget(ttl_first: bool) -> Duration {
    let seconds = if ttl_first { HEARTBEAT_TTL_S + INTERVAL_S + 5 } else { INTERVAL_S + 5 };
    Duration::from_secs(seconds as u64)
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Term,
    Kill,
}

impl Stop {
    fn apply(self, cluster: &mut Cluster, instance: &str) {
        match self {
            Stop::Term => cluster.stop(instance),
            Stop::Kill => cluster.kill(instance),
        }
    }
}

fn quick_settings() -> Vec<(&'static str, String)> {
    vec![
        ("HEALTHMON_HEARTBEAT_TTL_S", HEARTBEAT_TTL_S.to_string()),
        ("HEALTHMON_PROJECTOR_LEASE_TTL_S", HEARTBEAT_TTL_S.to_string()),
    ]
}

/// Stops `old` as `stop` says, starts `new` in `role`, and checks that every target is probed
/// again within the budget and its samples stored; reports both times.
async fn restart(
    cluster: &mut Cluster,
    hits: &HitLog,
    ids: &[Uuid],
    (role, old, new): (Role, &str, &str),
    stop: Stop,
    ttl_first: bool,
    scenario: &str,
) {
    stop.apply(cluster, old);
    cluster.start(role, new);
    let restarted = Utc::now();
    let probing = probed_again(hits, restarted, budget(ttl_first)).await;
    let client = cluster.client().await;
    let stored = stored_after(&client, ids, restarted, budget(true) + Duration::from_secs(10)).await;
    report(
        scenario,
        &[
            ("targets at 1 s", TARGETS.to_string()),
            ("limit", format!("{:?}", budget(ttl_first))),
            ("every target probed again within", format!("{probing:.2?}")),
            ("and stored within", format!("{:.2?}", (stored - restarted).to_std().unwrap_or_default())),
        ],
    );
}

/// Starts the all-in-one, creates the targets and waits until they are probed and stored; then
/// stops it as `stop` says, starts it again, and checks that probing resumes in time.
async fn all_in_one_restart(scenario: &str, database_url: String, nats_url: String, stop: Stop, ttl_first: bool) {
    let hits = HitLog::start().await;
    let mut cluster = Cluster::new(database_url, nats_url, &quick_settings());
    cluster.start(Role::AllInOne, "healthmon-1");
    let client = cluster.client().await;
    let ids = create_targets(&client, &hits).await;
    stored_after(&client, &ids, Utc::now(), Duration::from_secs(20)).await;

    restart(&mut cluster, &hits, &ids, (Role::AllInOne, "healthmon-1", "healthmon-2"), stop, ttl_first, scenario).await;
    cluster.finish().await;
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("healthmon.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_embedded_default_probes_again_after_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    all_in_one_restart("restart: embedded, SIGTERM", sqlite_url(&dir), String::new(), Stop::Term, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_embedded_default_probes_again_after_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    all_in_one_restart("restart: embedded, SIGKILL", sqlite_url(&dir), String::new(), Stop::Kill, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_distributed_all_in_one_probes_again_after_sigterm() {
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let nats = PrivateNats::start();
    all_in_one_restart("restart: distributed all-in-one, SIGTERM", database_url.clone(), nats.url(), Stop::Term, false)
        .await;
    healthmon_testing::drop_postgres_database(&database_url).await.expect("drop database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_distributed_all_in_one_probes_again_after_sigkill() {
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let nats = PrivateNats::start();
    all_in_one_restart("restart: distributed all-in-one, SIGKILL", database_url.clone(), nats.url(), Stop::Kill, true)
        .await;
    healthmon_testing::drop_postgres_database(&database_url).await.expect("drop database");
}

/// API, projector and prober as processes of their own on Postgres and a private NATS.
async fn distributed(database_url: String, nats: &PrivateNats, hits: &HitLog) -> (Cluster, Vec<Uuid>) {
    let mut cluster = Cluster::new(database_url, nats.url(), &quick_settings());
    cluster.start(Role::Api, "api-1");
    cluster.start(Role::Projector, "projector-1");
    cluster.start(Role::Prober, "prober-1");
    let client = cluster.client().await;
    let ids = create_targets(&client, hits).await;
    stored_after(&client, &ids, Utc::now(), Duration::from_secs(20)).await;
    (cluster, ids)
}

async fn prober_restart(scenario: &str, stop: Stop, ttl_first: bool) {
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let nats = PrivateNats::start();
    let hits = HitLog::start().await;
    let (mut cluster, ids) = distributed(database_url.clone(), &nats, &hits).await;

    restart(&mut cluster, &hits, &ids, (Role::Prober, "prober-1", "prober-2"), stop, ttl_first, scenario).await;
    cluster.finish().await;
    healthmon_testing::drop_postgres_database(&database_url).await.expect("drop database");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_prober_alone_probes_again_after_sigterm() {
    prober_restart("restart: prober alone, SIGTERM", Stop::Term, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_prober_alone_probes_again_after_sigkill() {
    prober_restart("restart: prober alone, SIGKILL", Stop::Kill, true).await;
}

/// NATS comes back empty: no streams, no consumers, no buckets. Probing and storing resume, and
/// the targets stream is whole again, so a prober started afterwards finds its plan there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nats_server_that_lost_its_data_is_refilled_from_the_store() {
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let mut nats = PrivateNats::start();
    let hits = HitLog::start().await;
    let (mut cluster, ids) = distributed(database_url.clone(), &nats, &hits).await;

    nats.restart_wiped();
    let back = Utc::now();
    let probing = probed_again(&hits, back, budget(false)).await;
    let client = cluster.client().await;
    let stored = stored_after(&client, &ids, back, budget(true) + Duration::from_secs(10)).await;

    // A prober that starts now has nothing but the refilled stream to plan from.
    cluster.stop("prober-1");
    cluster.start(Role::Prober, "prober-2");
    let restarted = Utc::now();
    let replanned = probed_again(&hits, restarted, budget(false)).await;
    report(
        "restart: NATS without its data",
        &[
            ("limit", format!("{:?}", budget(false))),
            ("every target probed after NATS came back within", format!("{probing:.2?}")),
            ("and stored within", format!("{:.2?}", (stored - back).to_std().unwrap_or_default())),
            ("a new prober probed every target within", format!("{replanned:.2?}")),
        ],
    );
    cluster.finish().await;
    healthmon_testing::drop_postgres_database(&database_url).await.expect("drop database");
}
