//! Uptime and series over real probes: they count every sample the target answered, keep
//! counting them after raw retention hid them from `/samples`, leave maintenance out, and name
//! each bad parameter in a 422.

use std::time::Duration;

use chrono::Utc;
use healthmon_runtime::settings::RetentionSetting;
use healthmon_tests::{Mode, TargetServer, TestApp, both_modes, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_modes!(uptime_and_series_count_every_probe_beyond_raw_retention, bad_spans_and_steps_name_the_parameter);

/// Raw samples expire after this, so that a test sees them leave `/samples`.
const RAW_RETENTION: &str = "6s";

fn count(value: &Value) -> u64 {
    value.as_u64().unwrap_or_else(|| panic!("a count: {value}"))
}

async fn uptime_and_series_count_every_probe_beyond_raw_retention(mode: Mode) {
    let app = TestApp::spawn_with(mode, |settings| {
        settings.raw_retention = RAW_RETENTION.parse::<RetentionSetting>().expect("retention");
    })
    .await;
    let server = TargetServer::start().await;
    let created = app
        .create_target(json!({"name": "counted", "kind": "http", "url": server.url(), "interval_s": 1,
                              "timeout_s": 1, "unhealthy_threshold": 2}))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/targets/{id}");
    wait_until("6 probes", Duration::from_secs(20), || async { (server.hits() >= 6).then_some(()) }).await;
    server.set_status(500);
    app.wait_for_status(&id, "unhealthy", Duration::from_secs(20)).await;
    let failing_from = server.hits();
    wait_until("3 failing probes", Duration::from_secs(20), || async {
        (server.hits() >= failing_from + 3).then_some(())
    })
    .await;
    server.set_status(200);
    let recovered_at = server.hits();
    wait_until("12 probes after the recovery", Duration::from_secs(30), || async {
        (server.hits() >= recovered_at + 12).then_some(())
    })
    .await;
    let (status, _) = app.call(Method::PATCH, &path, Some(&json!({"enabled": false}))).await;
    assert_eq!(status, StatusCode::OK);

    let uptime = wait_until("uptime to count every probe", Duration::from_secs(10), || async {
        let (status, uptime) = app.call(Method::GET, &format!("{path}/uptime?window=1h"), None).await;
        assert_eq!(status, StatusCode::OK, "{uptime}");
        (count(&uptime["samples"]).abs_diff(server.hits()) <= 1).then_some(uptime)
    })
    .await;
    let (samples, successes, failures) =
        (count(&uptime["samples"]), count(&uptime["successes"]), count(&uptime["failures"]));
    assert_eq!(samples, successes + failures, "{uptime}");
    assert!(failures >= 3 && successes >= 17, "{uptime}");
    let ratio = uptime["uptime"].as_f64().expect("uptime");
    assert!((ratio - successes as f64 / samples as f64).abs() < 1e-9, "{uptime}");
    let downtime = uptime["downtime_s"].as_f64().expect("downtime_s");
    assert!((1.0..=60.0).contains(&downtime), "it was unhealthy for a few seconds: {uptime}");
    assert_eq!(uptime["maintenance_s"], json!(0.0));
    for field in ["mean", "min", "max", "p95", "p99"] {
        assert!(uptime["latency_ms"][field].as_f64().is_some(), "{field}: {uptime}");
    }

    // Raw samples older than the retention are gone from /samples, and only they.
    let kept = wait_until("expired samples to leave /samples", Duration::from_secs(15), || async {
        let kept = app.all_samples(&id).await;
        (kept.len() as u64 + 8 < samples).then_some(kept)
    })
    .await;
    let horizon = Utc::now() - chrono::Duration::seconds(7);
    assert!(kept.iter().all(|sample| healthmon_tests::app::time(&sample["at"]) > horizon), "{kept:?}");
    // …while uptime and series still count every one of them, from rollups.
    let (_, later) = app.call(Method::GET, &format!("{path}/uptime?window=24h"), None).await;
    assert_eq!((count(&later["samples"]), count(&later["successes"])), (samples, successes), "{later}");
    let (status, series) = app.call(Method::GET, &format!("{path}/series?window=24h&step_s=300"), None).await;
    assert_eq!(status, StatusCode::OK, "{series}");
    assert_eq!(series["step_s"], json!(300));
    let items = series["items"].as_array().expect("items");
    assert_eq!(items.iter().map(|item| count(&item["samples"])).sum::<u64>(), samples, "{series}");
    assert_eq!(items.iter().map(|item| count(&item["successes"])).sum::<u64>(), successes, "{series}");
    let (_, chosen) = app.call(Method::GET, &format!("{path}/series?window=24h"), None).await;
    assert_eq!(chosen["step_s"], json!(300), "the narrowest step within 500 buckets: {chosen}");

    let (_, every) = app.call(Method::GET, "/api/v1/uptime?window=1h", None).await;
    let item = every["items"].as_array().expect("items").iter().find(|item| item["id"] == json!(id)).cloned();
    let item = item.unwrap_or_else(|| panic!("the target is listed: {every}"));
    assert_eq!((count(&item["samples"]), &item["name"], &item["group"]), (samples, &json!("counted"), &Value::Null));
    let (_, none) = app.call(Method::GET, "/api/v1/uptime?window=1h&tag=nothing-has-it", None).await;
    assert_eq!(none["items"], json!([]));

    // A maintenance window over the whole hour leaves every sample out.
    let (start, end) = (Utc::now() - chrono::Duration::hours(2), Utc::now() + chrono::Duration::hours(1));
    let window = json!({"name": "planned", "selector": {"targets": [id]}, "starts_at": start, "ends_at": end});
    let (status, body) = app.call(Method::POST, "/api/v1/maintenance", Some(&window)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, maintained) = app.call(Method::GET, &format!("{path}/uptime?window=1h"), None).await;
    assert_eq!((count(&maintained["samples"]), &maintained["uptime"]), (0, &Value::Null), "{maintained}");
    assert_eq!(maintained["maintenance_s"], json!(3600.0), "{maintained}");
    let (_, every) = app.call(Method::GET, "/api/v1/uptime?window=1h", None).await;
    assert_eq!(every["items"][0]["samples"], json!(0), "{every}");
    app.stop().await;
}

async fn bad_spans_and_steps_name_the_parameter(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let created = app
        .create_target(json!({"name": "quiet", "kind": "http", "url": "http://127.0.0.1:9/", "enabled": false}))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let cases = [
        (format!("/api/v1/targets/{id}/uptime?window=2h"), "window"),
        (format!("/api/v1/targets/{id}/uptime?window=24h&from=2026-01-01T00:00:00Z"), "window"),
        (format!("/api/v1/targets/{id}/uptime?from=yesterday"), "from"),
        (format!("/api/v1/targets/{id}/uptime?to=2026-01-01T00:00:00Z"), "from"),
        (format!("/api/v1/targets/{id}/uptime?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"), "from"),
        (format!("/api/v1/targets/{id}/uptime?from=2026-01-01T00:00:00Z&to=noon"), "to"),
        (format!("/api/v1/targets/{id}/series?step_s=7"), "step_s"),
        (format!("/api/v1/targets/{id}/series?window=365d&step_s=60"), "step_s"),
        ("/api/v1/uptime?window=forever".to_owned(), "window"),
    ];
    for (path, field) in cases {
        let (status, body) = app.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert!(body.to_string().contains(&format!("\"{field}\"")), "{path} names {field}: {body}");
    }
    let (status, empty) = app.call(Method::GET, &format!("/api/v1/targets/{id}/uptime?window=7d"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((&empty["samples"], &empty["uptime"], &empty["downtime_s"]), (&json!(0), &Value::Null, &json!(0.0)));
    let unknown = uuid::Uuid::new_v4();
    let (status, _) = app.call(Method::GET, &format!("/api/v1/targets/{unknown}/uptime"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.call(Method::GET, &format!("/api/v1/targets/{unknown}/series"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}
