//! The status page in a real headless Chromium: it lists public targets only, applies a health
//! change within 5 s without a reload, loads nothing from another origin, and fits a phone's
//! 390 px without scrolling sideways. Its screenshots are the README's.

use std::time::{Duration, Instant};

use chrono::Utc;
use healthmon_domain::Sample;
use healthmon_domain::sample::sample_id;
use healthmon_tests::browser::{Browser, Screen};
use healthmon_tests::{Mode, TargetServer, TestApp, wait_until};
use serde_json::{Value, json};
use uuid::Uuid;

const HISTORY_DAYS: i64 = 90;
const SEEDED_EVERY_MS: i64 = 30 * 60_000;

/// Ninety days of half-hourly samples before now: mostly successes with latencies around
/// `latency_ms`, and on every `bad_day`-th day a run of failures, so the bar has something to show.
fn history(target_id: Uuid, latency_ms: f64, bad_day: i64) -> Vec<Sample> {
    let end = Utc::now().timestamp_millis() - 10 * 60_000;
    let start = end - HISTORY_DAYS * 86_400_000;
    (0..)
        .map(|n| start + n * SEEDED_EVERY_MS)
        .take_while(|slot| *slot < end)
        .enumerate()
        .map(|(n, slot)| {
            let day = (slot - start) / 86_400_000;
            let success = !(bad_day > 0 && day % bad_day == bad_day - 1 && n % 48 < 6);
            Sample {
                id: sample_id(target_id, slot),
                target_id,
                slot,
                at: chrono::DateTime::from_timestamp_millis(slot).unwrap_or_else(Utc::now),
                success,
                status_code: Some(if success { 200 } else { 503 }),
                latency_ms: latency_ms * (1.0 + ((n * 7919) % 100) as f64 / 200.0),
                error: (!success).then(|| "status 503".to_owned()),
                prober: "seeded".into(),
                check_version: 1,
                pin_host_key: None,
            }
        })
        .collect()
}

async fn seed(app: &TestApp, samples: Vec<Sample>) {
    let store = healthmon_store::connect(&app.settings.database_url).await.expect("a second store handle");
    for batch in samples.chunks(500) {
        store.ingest(batch, "/healthmon/test/seed").await.expect("ingest seeded history");
    }
}

fn id_of(created: &Value) -> String {
    created["id"].as_str().expect("id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_chromium_is_public_only_live_same_origin_and_fits_a_phone() {
    let app = TestApp::spawn(Mode::Embedded).await;
    let server = TargetServer::start().await;
    let probe = |name: &str, group: &str| {
        json!({"name": name, "group": group, "public": true, "kind": "http", "url": server.url(),
               "interval_s": 1, "healthy_threshold": 1, "unhealthy_threshold": 1})
    };
    let api = id_of(&app.create_target(probe("Orders API", "Core")).await);
    let website = id_of(&app.create_target(probe("Website", "Core")).await);
    let partner = id_of(
        &app.create_target(json!({"name": "Payments gateway", "group": "Partners", "public": true, "kind": "tcp",
                                  "host": "127.0.0.1", "port": 9, "enabled": false}))
            .await,
    );
    app.create_target(json!({"name": "internal-db", "kind": "http", "url": server.url(), "interval_s": 1})).await;
    let mut samples = history(api.parse().expect("uuid"), 40.0, 23);
    samples.extend(history(website.parse().expect("uuid"), 120.0, 0));
    samples.extend(history(partner.parse().expect("uuid"), 260.0, 9));
    seed(&app, samples).await;
    app.wait_for_status(&api, "healthy", Duration::from_secs(20)).await;
    app.wait_for_status(&website, "healthy", Duration::from_secs(20)).await;

    let desktop = Browser::start(Screen::Desktop).await;
    desktop.client.goto(&app.url("/status")).await.expect("open the status page");
    let text = desktop.eval("return document.body.innerText").await;
    let text = text.as_str().unwrap_or_default().to_owned();
    for shown in ["Orders API", "Website", "Payments gateway", "Core", "Partners", "All systems operational"] {
        assert!(text.contains(shown), "{shown} is on the page: {text}");
    }
    assert!(!text.contains("internal-db"), "{text}");
    // The stylesheet applied (a CSP refusal would leave the banner unstyled)…
    let banner =
        desktop.eval("return getComputedStyle(document.querySelector('[data-overall]')).backgroundColor").await;
    assert_ne!(banner, json!("rgba(0, 0, 0, 0)"), "the stylesheet is applied");
    let cells = desktop.eval("return document.querySelectorAll('[data-target] .bar i').length").await;
    assert_eq!(cells, json!(3 * 90), "a 90-day bar per public target");
    let failing_days =
        desktop.eval("return document.querySelectorAll('.bar i.d-b, .bar i.d-p, .bar i.d-f').length").await;
    assert!(failing_days.as_u64().unwrap_or(0) > 0, "the seeded bad days show: {failing_days}");
    desktop.screenshot("status-desktop").await;

    // …and the script runs: a failure shows within 5 s of the health change, without a reload.
    server.set_status(503);
    app.wait_for_status(&api, "unhealthy", Duration::from_secs(20)).await;
    let changed_at = Instant::now();
    let selector = format!("[data-target='{api}'] [data-status]");
    let script = format!("return document.querySelector(\"{selector}\").textContent");
    wait_until("the page to show the failure", Duration::from_secs(5), || async {
        (desktop.eval(&script).await == json!("unhealthy")).then_some(())
    })
    .await;
    assert!(changed_at.elapsed() < Duration::from_secs(5));
    let overall = desktop.eval("return document.querySelector('[data-overall]').textContent").await;
    assert_eq!(overall, json!("Some systems are down"));
    let listed = desktop.eval("return document.querySelector('[data-transitions] li').textContent").await;
    assert!(listed.as_str().unwrap_or_default().contains("unhealthy"), "{listed}");
    let reloaded = desktop.eval("return performance.getEntriesByType('navigation').length").await;
    assert_eq!(reloaded, json!(1), "one navigation: the page was not reloaded");

    // Nothing came from another origin.
    let origin = app.url("");
    let fetched = desktop
        .eval(
            "return performance.getEntriesByType('resource').map(e => e.name)
               .concat(Array.from(document.querySelectorAll('[src],[href]'), e => e.src || e.href))",
        )
        .await;
    let fetched: Vec<String> =
        fetched.as_array().expect("urls").iter().filter_map(|url| url.as_str().map(str::to_owned)).collect();
    assert!(fetched.len() >= 3, "the stylesheet, the script and the stream at least: {fetched:?}");
    assert!(fetched.iter().all(|url| url.starts_with(&origin)), "{origin}: {fetched:?}");
    desktop.stop().await;

    let phone = Browser::start(Screen::Phone).await;
    phone.client.goto(&app.url("/status")).await.expect("open the status page");
    let widths = phone.eval("return [document.documentElement.scrollWidth, window.innerWidth]").await;
    assert_eq!(widths[1], json!(390), "{widths}");
    assert!(widths[0].as_u64() <= widths[1].as_u64(), "no horizontal scroll: {widths}");
    phone.screenshot("status-phone").await;
    phone.stop().await;
    app.stop().await;
}
