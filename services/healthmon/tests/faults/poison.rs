//! Scenario 6: one SSH host whose command writes a NUL byte and invalid UTF-8 on stderr while 50
//! HTTP targets are probed every second. Its samples are stored (the text cleaned where the
//! prober made them), and no other target loses a sample: before, Postgres refused the batch
//! (`invalid byte sequence for encoding "UTF8": 0x00`) and the projector retried it for ever.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sqlx::Row;

use crate::cluster::{Cluster, Role, full_size, target_server};
use healthmon_testing::sshd::{Sshd, TEST_PASSWORD, TEST_USER};
use healthmon_testing::{test_nats_url, wait_until};

use crate::report;

const HTTP_TARGETS: usize = 50;

fn probing_for() -> Duration {
    Duration::from_secs(if full_size() { 30 } else { 8 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_writing_nul_and_invalid_utf8_holds_up_no_other_target() {
    let sshd = Sshd::start();
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let mut cluster = Cluster::new(database_url.clone(), test_nats_url(), &[]);
    cluster.start(Role::Api, "api-1");
    cluster.start(Role::Projector, "projector-1");
    cluster.start(Role::Prober, "prober-1");
    let client = cluster.client().await;
    let http_ids = client.create_targets(HTTP_TARGETS, &target_server().await, 1).await;
    let poisoner = client
        .create_body(&json!({
            "name": "poisoner", "kind": "ssh", "host": "127.0.0.1", "port": sshd.port,
            "username": TEST_USER, "password": TEST_PASSWORD, "trust_on_first_use": true, "interval_s": 1,
            "command": r"printf 'bad\000byte \377\376 here\n' >&2; exit 1"
        }))
        .await;
    let pool = cluster.pool().await;
    // The scenario is the probing itself: let it run for its time.
    tokio::time::sleep(probing_for()).await;

    // Everything probed up to now must be stored: wait for the projector to catch up with it.
    let cutoff = Utc::now();
    wait_until("every target's samples up to the cut-off", Duration::from_secs(30), || {
        let pool = pool.clone();
        async move {
            let fresh: i64 = sqlx::query_scalar("SELECT count(DISTINCT target_id) FROM samples WHERE at >= $1")
                .bind(cutoff - chrono::Duration::seconds(2))
                .fetch_one(&pool)
                .await
                .expect("count fresh targets");
            (fresh == HTTP_TARGETS as i64 + 1).then_some(())
        }
    })
    .await;
    let gaps: i64 = sqlx::query_scalar(
        "SELECT COALESCE(sum(missing), 0)::int8 FROM (SELECT (max(slot) - min(slot)) / 1000 + 1 - count(*) AS missing \
         FROM samples WHERE target_id <> $1 GROUP BY target_id) g",
    )
    .bind(poisoner)
    .fetch_one(&pool)
    .await
    .expect("gaps");
    let http_rows: i64 = sqlx::query_scalar("SELECT count(*) FROM samples WHERE target_id <> $1")
        .bind(poisoner)
        .fetch_one(&pool)
        .await
        .expect("count");
    let poisoned = sqlx::query("SELECT count(*) AS n, max(error) AS error FROM samples WHERE target_id = $1")
        .bind(poisoner)
        .fetch_one(&pool)
        .await
        .expect("poisoner's samples");
    let (poisoned_rows, error): (i64, Option<String>) = (poisoned.get("n"), poisoned.get("error"));
    let error = error.unwrap_or_default();
    let sampled_http: i64 =
        sqlx::query_scalar("SELECT count(DISTINCT target_id) FROM samples WHERE target_id = ANY($1)")
            .bind(&http_ids)
            .fetch_one(&pool)
            .await
            .expect("sampled targets");
    report(
        "6. a host writing NUL and invalid UTF-8",
        &[
            ("HTTP targets at 1 s", HTTP_TARGETS.to_string()),
            ("probed for", format!("{:?}", probing_for())),
            ("HTTP samples stored", http_rows.to_string()),
            ("gaps in the HTTP targets' slot grids", gaps.to_string()),
            ("samples of the SSH host stored", poisoned_rows.to_string()),
            ("its error as stored", format!("{error:?}")),
        ],
    );
    assert_eq!(sampled_http, HTTP_TARGETS as i64);
    assert_eq!(gaps, 0, "no HTTP target lost a sample");
    assert!(http_rows >= HTTP_TARGETS as i64 * (probing_for().as_secs() as i64 - 2), "{http_rows} HTTP samples");
    assert!(poisoned_rows >= 2, "the SSH host's own samples are stored too");
    assert!(error.contains("bad\\0byte \u{fffd}\u{fffd} here"), "its stderr, cleaned: {error:?}");
    cluster.finish().await;
    healthmon_testing::drop_postgres_database(&database_url).await.expect("drop database");
}
