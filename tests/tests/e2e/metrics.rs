//! Every process serves its Prometheus metrics at `GET /metrics`, without a token: the API and a
//! prober-only process alike.

use std::time::Duration;

use healthmon_tests::{Mode, TargetServer, TestApp, prometheus, wait_until};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_a_prober_only_process_serve_prometheus_text() {
    let app = TestApp::spawn(Mode::Distributed).await;
    let server = TargetServer::start().await;
    app.create_target(json!({"name": "counted", "kind": "http", "url": server.url(), "interval_s": 1})).await;
    let prober = app.prober_addr().expect("a prober of its own");
    let metrics = wait_until("a published sample to be counted", Duration::from_secs(15), || async {
        let (status, content_type, body) = prometheus::scrape(prober).await;
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        let published = prometheus::value(&body, "healthmon_prober_samples_published_total")?;
        (published >= 1.0).then_some(body)
    })
    .await;
    assert!(metrics.contains("# TYPE healthmon_prober_samples_dropped_total counter"), "{metrics}");
    assert!(prometheus::value(&metrics, "healthmon_prober_buffered_samples").is_some(), "{metrics}");

    let (status, content_type, body) = prometheus::scrape(app.addr).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    assert!(body.contains("healthmon_prober_samples_published_total"), "one registry per process: {body}");
    app.stop().await;
}
