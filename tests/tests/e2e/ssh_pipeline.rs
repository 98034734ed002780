//! SSH targets through the whole pipeline against a real sshd on loopback, in both modes: the
//! thresholds move as the host's command fails and recovers, and a trust-on-first-use target gets
//! its host key pinned for good.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use healthmon_testing::sshd;
use healthmon_tests::{Mode, TestApp, both_modes, wait_until};
use serde_json::json;

both_modes!(an_ssh_target_follows_its_host_and_pins_its_key_on_first_use, a_tcp_target_follows_its_port);

async fn an_ssh_target_follows_its_host_and_pins_its_key_on_first_use(mode: Mode) {
    let server = sshd::Sshd::start();
    let flags = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(flags.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let flag = flags.path().join("healthy");
    std::fs::write(&flag, "").expect("flag");

    let app = TestApp::spawn(mode).await;
    let created = app
        .create_target(json!({
            "name": "file-server", "kind": "ssh", "host": "127.0.0.1", "port": server.port,
            "username": sshd::TEST_USER, "password": sshd::TEST_PASSWORD,
            "command": format!("test -f {}", flag.display()), "trust_on_first_use": true,
            "interval_s": 1, "timeout_s": 5,
        }))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(created["host_key_sha256"].is_null());

    let pinned = wait_until("the host key to be pinned", Duration::from_secs(20), || async {
        let target = app.target(&id).await;
        target["host_key_sha256"].as_str().map(str::to_owned)
    })
    .await;
    assert_eq!(pinned, server.host_key_fingerprint(), "pinned what ssh-keygen -l -E sha256 shows");

    app.wait_for_status(&id, "healthy", Duration::from_secs(20)).await;
    let healthy_at = app.last_transition(&id, "unknown", "healthy").await;
    let run = app.outcomes_between(&id, None, healthy_at).await;
    assert_eq!(run.iter().rev().take_while(|ok| **ok).count(), 5, "{run:?}");

    std::fs::remove_file(&flag).expect("remove flag");
    let target = app.wait_for_status(&id, "unhealthy", Duration::from_secs(20)).await;
    assert!(target["health"]["reason"].as_str().unwrap_or_default().contains("exit status 1"), "{target}");
    let unhealthy_at = app.last_transition(&id, "healthy", "unhealthy").await;
    let run = app.outcomes_between(&id, Some(healthy_at), unhealthy_at).await;
    assert_eq!(run.iter().rev().take_while(|ok| !**ok).count(), 3, "{run:?}");

    std::fs::write(&flag, "").expect("flag");
    app.wait_for_status(&id, "healthy", Duration::from_secs(20)).await;
    let healthy_again_at = app.last_transition(&id, "unhealthy", "healthy").await;
    let run = app.outcomes_between(&id, Some(unhealthy_at), healthy_again_at).await;
    assert_eq!(run.iter().rev().take_while(|ok| **ok).count(), 5, "{run:?}");
    assert_eq!(app.target(&id).await["host_key_sha256"], pinned.as_str(), "the pin stays");
    app.stop().await;
}

async fn a_tcp_target_follows_its_port(mode: Mode) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = TestApp::spawn(mode).await;
    let created = app
        .create_target(json!({"name": "db-port", "kind": "tcp", "host": "127.0.0.1", "port": port, "interval_s": 1,
                              "healthy_threshold": 1, "unhealthy_threshold": 1}))
        .await;
    let id = created["id"].as_str().expect("id").to_owned();
    app.wait_for_status(&id, "healthy", Duration::from_secs(10)).await;
    drop(listener);
    let target = app.wait_for_status(&id, "unhealthy", Duration::from_secs(10)).await;
    assert!(target["health"]["reason"].as_str().unwrap_or_default().contains("refused"), "{target}");
    app.stop().await;
}
