//! Scenario 2: three probers share the targets, one prober each; one is killed with SIGKILL and
//! the others take its targets within the heartbeat TTL plus one interval; started again, it gets
//! its share back.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;
use uuid::Uuid;

use crate::cluster::{Cluster, Role, full_size, target_server};
use healthmon_testing::{test_nats_url, wait_until};

use crate::{history, report};

const PROBERS: [&str; 3] = ["prober-1", "prober-2", "prober-3"];
/// Samples finished in this trailing window show who probes what now (two probes at 1 s).
const WINDOW: chrono::Duration = chrono::Duration::milliseconds(2_500);

/// Who probed each target in the window ending half a second ago (probes still in flight aside).
async fn owners_now(pool: &sqlx::PgPool) -> (DateTime<Utc>, BTreeMap<Uuid, BTreeSet<String>>) {
    let to = Utc::now() - chrono::Duration::milliseconds(500);
    (to, history::probers_between(pool, to - WINDOW, to).await)
}

/// Each of `total` targets probed by exactly one prober in the window: the targets per prober.
fn single_owners(owners: &BTreeMap<Uuid, BTreeSet<String>>, total: usize) -> Option<BTreeMap<String, Vec<Uuid>>> {
    if owners.len() != total || owners.values().any(|probers| probers.len() != 1) {
        return None;
    }
    let mut by_prober: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
    for (target, probers) in owners {
        let prober = probers.iter().next()?;
        by_prober.entry(prober.clone()).or_default().push(*target);
    }
    Some(by_prober)
}

fn shares(by_prober: &BTreeMap<String, Vec<Uuid>>) -> String {
    by_prober.iter().map(|(prober, targets)| format!("{prober}={}", targets.len())).collect::<Vec<_>>().join(" ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn probers_share_the_targets_and_take_over_a_killed_one_s() {
    let (target_count, ttl_s) = if full_size() { (300, 10) } else { (60, 3) };
    let server = target_server().await;
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let mut cluster =
        Cluster::new(database_url.clone(), test_nats_url(), &[("HEALTHMON_HEARTBEAT_TTL_S", ttl_s.to_string())]);
    cluster.start(Role::Api, "api-1");
    cluster.start(Role::Projector, "projector-1");
    for prober in PROBERS {
        cluster.start(Role::Prober, prober);
    }
    let client = cluster.client().await;
    let total = client.create_targets(target_count, &server, 1).await.len();
    let pool = cluster.pool().await;

    let settle = Duration::from_secs(ttl_s) * 3 + Duration::from_secs(20);
    let steady = wait_until("every target probed by exactly one of three probers", settle, || {
        let pool = &pool;
        async move {
            let (_, owners) = owners_now(pool).await;
            single_owners(&owners, total).filter(|by_prober| by_prober.len() == PROBERS.len())
        }
    })
    .await;
    let steady_shares = shares(&steady);

    let victim = PROBERS[1];
    let orphans: BTreeSet<Uuid> =
        steady.get(victim).map(|targets| targets.iter().copied().collect()).unwrap_or_default();
    let killed_at = Utc::now();
    let killed = Instant::now();
    cluster.kill(victim);
    let limit = Duration::from_secs(ttl_s + 1) + Duration::from_millis(1_500);
    let taken_over = wait_until("the others to probe every orphaned target", limit + Duration::from_secs(5), || {
        let (pool, orphans) = (&pool, &orphans);
        async move {
            let first = history::first_sample_after(pool, killed_at, victim).await;
            let taken: Vec<Duration> = orphans
                .iter()
                .filter_map(|target| first.get(target))
                .map(|at| (*at - killed_at).to_std().unwrap_or_default())
                .collect();
            (taken.len() == orphans.len()).then_some(taken)
        }
    })
    .await;
    let slowest = taken_over.iter().max().copied().unwrap_or_default();
    let mut sorted = taken_over.clone();
    sorted.sort();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    let after_kill = wait_until("two probers sharing every target", Duration::from_secs(10), || {
        let pool = &pool;
        async move {
            let (to, owners) = owners_now(pool).await;
            (to - WINDOW > killed_at + chrono::Duration::seconds(i64::try_from(ttl_s).unwrap_or(0)))
                .then(|| single_owners(&owners, total))
                .flatten()
                .filter(|by_prober| !by_prober.contains_key(victim))
        }
    })
    .await;
    let down_for = killed.elapsed();

    let restarted_at = Utc::now();
    let restarted = Instant::now();
    cluster.start(Role::Prober, victim);
    let rebalanced = wait_until("the restarted prober to get its share back", settle, || {
        let pool = &pool;
        async move {
            let (to, owners) = owners_now(pool).await;
            (to - WINDOW > restarted_at)
                .then(|| single_owners(&owners, total))
                .flatten()
                .filter(|by_prober| by_prober.len() == PROBERS.len())
        }
    })
    .await;
    let rebalance_time = restarted.elapsed();

    report(
        "2. three probers, one killed and started again",
        &[
            ("targets at 1 s", target_count.to_string()),
            ("heartbeat TTL", format!("{ttl_s} s")),
            ("steady state (one prober per target)", steady_shares),
            ("orphaned by kill -9", orphans.len().to_string()),
            ("take-over, first probe by another (median)", format!("{median:.2?}")),
            ("take-over, first probe by another (max)", format!("{slowest:.2?}")),
            ("limit (TTL + interval + 1.5 s)", format!("{limit:.2?}")),
            ("while it was down", shares(&after_kill)),
            ("after restart (one prober per target)", shares(&rebalanced)),
            ("rebalanced within", format!("{rebalance_time:.2?} (down {down_for:.2?})")),
        ],
    );
    assert!(slowest <= limit, "a target waited {slowest:?} for another prober");
    assert_eq!(rebalanced.get(victim).map(Vec::len), Some(orphans.len()), "it gets back the same targets");
    cluster.finish().await;
    let _ = healthmon_testing::drop_postgres_database(&database_url).await;
}
