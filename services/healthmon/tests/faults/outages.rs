//! Scenarios 3 and 4: nats-server restarted, then Postgres stopped and started again, while
//! targets are probed every second. Probers buffer through the NATS outage and the projector
//! retries through the database outage: afterwards every target's slot grid has no gap.

use std::time::Duration;

use chrono::Utc;
use tokio::time::Instant;

use crate::cluster::{Cluster, Role, full_size, target_server};
use healthmon_testing::{PrivateNats, PrivatePostgres};
use healthmon_testing::{test_nats_url, wait_until};

use crate::{history, report};

const TARGETS: usize = 10;
const INTERVAL_MS: i64 = 1_000;

/// Long enough at full size that a publish outlives the NATS client's own retries.
fn outage() -> Duration {
    Duration::from_secs(if full_size() { 15 } else { 5 })
}

/// API, projector and prober over `database_url` and `nats_url`, probing ten local targets.
async fn probing_cluster(database_url: String, nats_url: String) -> Cluster {
    let mut cluster = Cluster::new(database_url, nats_url, &[]);
    cluster.start(Role::Api, "api-1");
    cluster.start(Role::Projector, "projector-1");
    cluster.start(Role::Prober, "prober-1");
    let client = cluster.client().await;
    client.create_targets(TARGETS, &target_server().await, 1).await;
    cluster
}

/// Waits until every target has a sample that finished after `after`.
async fn all_sampled_after(pool: &sqlx::PgPool, after: chrono::DateTime<Utc>, within: Duration, what: &str) {
    wait_until(
        what,
        within,
        || async move { (history::targets_sampled_after(pool, after).await == TARGETS).then_some(()) },
    )
    .await;
}

/// Waits until history has no gap; returns how long that took.
async fn gapless(pool: &sqlx::PgPool, within: Duration) -> Duration {
    let started = Instant::now();
    wait_until("history without gaps", within, || async move {
        (history::gaps(pool, INTERVAL_MS).await == 0).then_some(())
    })
    .await;
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nats_restart_loses_no_sample() {
    let mut nats = PrivateNats::start();
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let cluster = probing_cluster(database_url.clone(), nats.url()).await;
    let pool = cluster.pool().await;
    all_sampled_after(&pool, Utc::now() + chrono::Duration::seconds(1), Duration::from_secs(30), "probing to start")
        .await;

    let down_at = Utc::now();
    nats.stop();
    tokio::time::sleep(outage()).await;
    nats.resume();
    let up_at = Utc::now();
    let resumed = Instant::now();
    all_sampled_after(&pool, up_at, Duration::from_secs(30), "probing to resume after the restart").await;
    let resume_time = resumed.elapsed();
    let catch_up = gapless(&pool, Duration::from_secs(60)).await;
    let during = history::finished_between(&pool, down_at, up_at).await;
    let (rows, distinct) = history::counts(&pool).await;
    report(
        "3. nats-server restarted during probing",
        &[
            ("targets at 1 s", TARGETS.to_string()),
            ("NATS down for", format!("{:.2?}", (up_at - down_at).to_std().unwrap_or_default())),
            ("samples probed while NATS was down, stored", during.to_string()),
            ("probing resumed (every target) after", format!("{resume_time:.2?}")),
            ("history without gaps again after", format!("{catch_up:.2?}")),
            ("samples lost (gaps in the slot grid)", "0".into()),
            ("duplicates", (rows - distinct).to_string()),
        ],
    );
    assert_eq!(rows, distinct);
    assert!(during >= i64::try_from(TARGETS * 3).unwrap_or(0), "samples of the outage were buffered: {during}");
    cluster.finish().await;
    let _ = healthmon_testing::drop_postgres_database(&database_url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_outage_loses_no_sample() {
    let postgres = PrivatePostgres::start();
    let cluster = probing_cluster(postgres.url(), test_nats_url()).await;
    let pool = cluster.pool().await;
    all_sampled_after(&pool, Utc::now() + chrono::Duration::seconds(1), Duration::from_secs(30), "probing to start")
        .await;

    let down_at = Utc::now();
    postgres.stop();
    tokio::time::sleep(outage()).await;
    postgres.resume();
    let up_at = Utc::now();
    let caught_up = Instant::now();
    all_sampled_after(&pool, up_at, Duration::from_secs(60), "the projector to catch up").await;
    let catch_up = gapless(&pool, Duration::from_secs(60)).await.max(caught_up.elapsed());
    let during = history::finished_between(&pool, down_at, up_at).await;
    let (rows, distinct) = history::counts(&pool).await;
    report(
        "4. Postgres stopped and started during probing",
        &[
            ("targets at 1 s", TARGETS.to_string()),
            ("Postgres down for", format!("{:.2?}", (up_at - down_at).to_std().unwrap_or_default())),
            ("samples probed while Postgres was down, stored", during.to_string()),
            ("projector caught up (no gaps) after", format!("{catch_up:.2?}")),
            ("samples lost (gaps in the slot grid)", "0".into()),
            ("duplicates", (rows - distinct).to_string()),
        ],
    );
    assert_eq!(rows, distinct);
    assert!(during >= i64::try_from(TARGETS * 3).unwrap_or(0), "samples of the outage were stored: {during}");
    cluster.finish().await;
}
