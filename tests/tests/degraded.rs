//! With NATS down, the API keeps answering `/healthz` from its last snapshot and reads from the
//! database, reports `degraded` in `/readyz`, and is `ready` again when NATS returns.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use healthmon_tests::{Mode, TargetServer, TestApp, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::json;

/// A nats-server of this test's own, so stopping it disturbs nobody else.
struct PrivateNats {
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PrivateNats {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let mut nats = Self { port, dir: tempfile::tempdir().expect("temp dir"), child: None };
        nats.resume();
        nats
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port and store directory.
    fn resume(&mut self) {
        let child = Command::new("/usr/sbin/nats-server")
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateNats {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_nats_the_api_serves_its_snapshot_and_reports_degraded() {
    let mut nats = PrivateNats::start();
    let url = nats.url();
    let app = TestApp::spawn_with(Mode::Distributed, |settings| settings.nats_url = Some(url)).await;
    let server = TargetServer::start().await;
    let created = app
        .create_target(
            json!({"name": "steady", "kind": "http", "url": server.url(), "interval_s": 1, "healthy_threshold": 1}),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    app.wait_for_status(&id, "healthy", Duration::from_secs(15)).await;
    wait_until("/healthz to pass", Duration::from_secs(10), || async {
        (app.healthz("").await.0 == StatusCode::OK).then_some(())
    })
    .await;
    let (status, ready) = app.call(Method::GET, "/readyz", None).await;
    assert_eq!((status, ready["status"].as_str()), (StatusCode::OK, Some("ready")));

    nats.stop();
    let degraded = wait_until("/readyz to report degraded", Duration::from_secs(20), || async {
        let (status, body) = app.call(Method::GET, "/readyz", None).await;
        (body["status"] == "degraded").then_some((status, body))
    })
    .await;
    assert_eq!(degraded.0, StatusCode::OK, "a degraded API still serves: {}", degraded.1);
    assert_eq!(degraded.1["checks"]["bus"], "unavailable");
    assert_eq!(degraded.1["checks"]["database"], "ok");
    let (status, health) = app.healthz("").await;
    assert_eq!((status, health["counts"]["healthy"].as_u64()), (StatusCode::OK, Some(1)), "from the last snapshot");
    assert_eq!(app.target(&id).await["health"]["status"], "healthy", "reads come from the database");

    nats.resume();
    wait_until("/readyz to be ready again", Duration::from_secs(30), || async {
        let (_, body) = app.call(Method::GET, "/readyz", None).await;
        (body["status"] == "ready").then_some(())
    })
    .await;
    app.stop().await;
}
