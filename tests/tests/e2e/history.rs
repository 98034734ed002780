//! Probe history: every probe recorded once, newest first, paged without gaps or repeats, on a
//! schedule that does not drift.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use healthmon_tests::{Mode, TargetServer, TestApp, both_modes, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

both_modes!(history_matches_the_probes_and_pages_cleanly);

fn at(sample: &Value) -> DateTime<Utc> {
    sample["at"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc)).expect("at")
}

async fn history_matches_the_probes_and_pages_cleanly(mode: Mode) {
    let app = TestApp::spawn(mode).await;
    let server = TargetServer::start().await;
    let created = app
        .create_target(json!({"name": "history", "kind": "http", "url": server.url(), "interval_s": 1, "timeout_s": 1}))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/targets/{id}");
    wait_until("12 samples", Duration::from_secs(25), || async {
        (app.all_samples(&id).await.len() >= 12).then_some(())
    })
    .await;

    let target = app.target(&id).await;
    let recent = target["recent_samples"].as_array().expect("recent_samples");
    assert_eq!(recent.len(), 10);
    assert!(recent.windows(2).all(|pair| at(&pair[0]) > at(&pair[1])), "recent samples are newest first");
    for sample in recent {
        for field in ["id", "at", "success", "status_code", "latency_ms", "error", "prober"] {
            assert!(sample.get(field).is_some(), "sample lacks {field}: {sample}");
        }
    }

    let (status, paused) = app.call(Method::PATCH, &path, Some(&json!({"enabled": false}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(paused["health"]["status"], "paused");
    let all = wait_until("history to match the requests the target received", Duration::from_secs(10), || async {
        let samples = app.all_samples(&id).await;
        ((samples.len() as i64 - server.hits() as i64).abs() <= 1).then_some(samples)
    })
    .await;

    // 1 s interval: 9 to 11 probes in any 10 s window.
    let mut times: Vec<DateTime<Utc>> = all.iter().map(at).collect();
    times.sort();
    let window_end = times[0] + chrono::Duration::seconds(10);
    let in_window = times.iter().filter(|t| **t < window_end).count();
    assert!((9..=11).contains(&in_window), "{in_window} probes in the first 10 s");

    let mut paged: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_ref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let (status, page) = app.call(Method::GET, &format!("{path}/samples?limit=3{query}"), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 3);
        paged.extend(items.iter().map(|s| s["id"].as_str().expect("id").to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let expected: Vec<String> = all.iter().map(|s| s["id"].as_str().expect("id").to_owned()).collect();
    assert_eq!(paged, expected, "paging yields every sample once, in order");
    assert_eq!(paged.iter().collect::<HashSet<_>>().len(), paged.len());

    let middle = at(&all[all.len() / 2]);
    let from = (middle - chrono::Duration::milliseconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let (status, page) = app.call(Method::GET, &format!("{path}/samples?to={}", urlencode(&from)), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page["items"].as_array().expect("items").iter().all(|s| at(s) < middle), "`to` is exclusive");
    let (status, page) = app
        .call(
            Method::GET,
            &format!("{path}/samples?from={}", urlencode(&middle.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let items = page["items"].as_array().expect("items");
    assert!(items.iter().all(|s| at(s) >= middle) && !items.is_empty(), "`from` is inclusive");
    app.stop().await;
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}
