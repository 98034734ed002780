//! Notifications survive the notifier's death and do not double with its replicas. The embedded
//! default (SQLite, in-process bus) SIGKILLed while its deliveries wait for a failing receiver,
//! and started again, delivers each exactly once; two notifier processes sharing Postgres deliver
//! each exactly once. No process logs a notifier's secret.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use healthmon_testing::receiver::{ReceivedRequest, Receiver};
use healthmon_testing::wait_until;
use serde_json::{Value, json};

use crate::cluster::{ApiClient, Cluster, Role};
use crate::report;

const SECRET: &str = "whsec_bm90aWZpZXItZmF1bHQtc2VjcmV0";

/// A notifier posting to `receiver` and a rule for every target.
async fn alert_everything(client: &ApiClient, receiver: &Receiver) {
    let notifier = client
        .create(
            "/api/v1/notifiers",
            &json!({"name": "hook", "kind": "webhook", "url": format!("{}/hook", receiver.url()), "secret": SECRET}),
        )
        .await;
    let rule = json!({"name": "all", "notifiers": [notifier["id"]], "send_on_resolved": false});
    client.create("/api/v1/alerts", &rule).await;
}

/// `count` targets that fail from their first probe: each opens one incident, one trigger.
async fn failing_targets(client: &ApiClient, count: usize) {
    for n in 0..count {
        let body = json!({
            "name": format!("down-{n}"), "kind": "http", "url": "http://127.0.0.1:9/", "interval_s": 1,
            "timeout_s": 1, "unhealthy_threshold": 1,
        });
        client.create_body(&body).await;
    }
}

/// The deliveries listing, every page.
async fn all_deliveries(client: &ApiClient) -> Vec<Value> {
    client.get("/api/v1/deliveries?limit=1000").await["items"].as_array().cloned().unwrap_or_default()
}

async fn wait_until_all_delivered(client: &ApiClient, count: usize, within: Duration) -> Vec<Value> {
    wait_until(&format!("{count} deliveries delivered"), within, || async {
        let deliveries = all_deliveries(client).await;
        let delivered = deliveries.iter().filter(|delivery| delivery["status"] == "delivered").count();
        (deliveries.len() == count && delivered == count).then_some(deliveries)
    })
    .await
}

/// How many requests each `webhook-id` got.
fn per_webhook_id(requests: &[ReceivedRequest]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in requests {
        *counts.entry(request.header("webhook-id").unwrap_or_default().to_owned()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_embedded_notifier_delivers_each_pending_notification_exactly_once_after_restart() {
    const TARGETS: usize = 3;
    const FAILURES: usize = 6;
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = format!("sqlite://{}", dir.path().join("healthmon.db").display());
    let mut cluster = Cluster::new(database_url, String::new(), &[]);
    cluster.start(Role::AllInOne, "healthmon-1");
    let client = cluster.client().await;
    let receiver = Receiver::start().await;
    receiver.respond_with([503; FAILURES]);
    alert_everything(&client, &receiver).await;
    failing_targets(&client, TARGETS).await;

    // Every trigger has been tried and refused at least once: all of them wait for a retry.
    wait_until("each trigger refused once", Duration::from_secs(20), || async {
        (per_webhook_id(&receiver.requests()).len() == TARGETS).then_some(())
    })
    .await;
    cluster.kill("healthmon-1");
    let refused_before_kill = receiver.requests().len();
    cluster.start(Role::AllInOne, "healthmon-2");
    let client = cluster.client().await;
    // A retry the killed process had claimed (and not sent) waits out its 60 s lease, as the
    // README says; then a few more seconds of backoff.
    let deliveries = wait_until_all_delivered(&client, TARGETS, Duration::from_secs(90)).await;

    let requests = receiver.requests();
    // The script answered 503 to the first FAILURES requests, 200 to every later one.
    let accepted = per_webhook_id(requests.get(FAILURES..).unwrap_or_default());
    let ids: BTreeSet<String> = deliveries.iter().filter_map(|d| d["id"].as_str().map(str::to_owned)).collect();
    assert_eq!(accepted.keys().cloned().collect::<BTreeSet<_>>(), ids, "each delivery accepted, none invented");
    assert!(accepted.values().all(|count| *count == 1), "each delivery accepted exactly once: {accepted:?}");
    assert!(!cluster.logs().contains(SECRET) && !cluster.logs().contains("bm90aWZpZXI"), "no secret in the logs");
    report(
        "notifier: embedded, SIGKILL with deliveries pending",
        &[
            ("deliveries", TARGETS.to_string()),
            ("requests before the kill (all refused)", refused_before_kill.to_string()),
            ("requests in all", requests.len().to_string()),
            ("accepted per delivery", format!("{:?}", accepted.values().collect::<Vec<_>>())),
        ],
    );
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_notifier_processes_deliver_each_notification_exactly_once() {
    let targets = if crate::cluster::full_size() { 200 } else { 20 };
    let database_url = healthmon_testing::fresh_postgres_database().await.expect("database");
    let mut cluster = Cluster::new(database_url, healthmon_testing::test_nats_url(), &[]);
    cluster.start(Role::Api, "api-1");
    cluster.start(Role::Projector, "projector-1");
    cluster.start(Role::Prober, "prober-1");
    cluster.start(Role::Notifier, "notifier-1");
    cluster.start(Role::Notifier, "notifier-2");
    let client = cluster.client().await;
    let receiver = Receiver::start().await;
    alert_everything(&client, &receiver).await;
    failing_targets(&client, targets).await;

    let deliveries = wait_until_all_delivered(&client, targets, Duration::from_secs(60)).await;

    let counts = per_webhook_id(&receiver.requests());
    let ids: BTreeSet<String> = deliveries.iter().filter_map(|d| d["id"].as_str().map(str::to_owned)).collect();
    assert_eq!(counts.keys().cloned().collect::<BTreeSet<_>>(), ids);
    let doubled: Vec<_> = counts.iter().filter(|(_, count)| **count > 1).collect();
    assert!(doubled.is_empty(), "sent more than once: {doubled:?}");
    assert!(!cluster.logs().contains(SECRET), "no secret in the logs");
    report(
        "notifier: two processes share the queue",
        &[("deliveries", targets.to_string()), ("requests", counts.values().sum::<usize>().to_string())],
    );
    cluster.finish().await;
}
