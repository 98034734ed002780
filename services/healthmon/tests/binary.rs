//! The real `healthmon` binary, black-box: it starts on the embedded defaults, answers, stops on
//! SIGTERM, and documents exactly the settings the README lists.

mod support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use support::{BINARY, spawn, stop};

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin_password = "Adm1n-pa55word-for-logs";
    let (child, addr, logs) =
        spawn(dir.path(), &[("HEALTHMON_ADMIN_PASSWORD", admin_password), ("HEALTHMON_LOG", "debug")]);
    let client = reqwest::Client::new();
    let login = |password: &'static str| {
        client
            .post(format!("http://{addr}/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "admin", "password": password}))
            .send()
    };
    assert_eq!(login("Wr0ng-guess-for-logs").await.expect("login").status(), 401);
    let token: serde_json::Value = login(admin_password).await.expect("login").json().await.expect("JSON");
    let token = token["token"].as_str().expect("token").to_owned();
    let ssh_password = "Ssh-pa55word-for-logs";
    let created = client
        .post(format!("http://{addr}/api/v1/targets"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "h", "kind": "ssh", "host": "127.0.0.1", "port": 1, "username": "u", "password": ssh_password, "interval_s": 1, "trust_on_first_use": true}))
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), 201);
    let target: serde_json::Value = created.json().await.expect("JSON");
    let target_url = format!("http://{addr}/api/v1/targets/{}", target["id"].as_str().expect("id"));
    let user = client
        .post(format!("http://{addr}/api/v1/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"username": "viewer1", "password": "Vi3wer-pa55word-for-logs"}))
        .send()
        .await
        .expect("create user");
    assert_eq!(user.status(), 201);
    // The prober tries (and fails) the SSH target a few times, so its errors are logged too.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let target: serde_json::Value =
            client.get(&target_url).bearer_auth(&token).send().await.expect("get").json().await.expect("JSON");
        if target["recent_samples"].as_array().is_some_and(|samples| samples.len() >= 2) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no samples of the SSH target within 15 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stop(child).success());
    let all: Vec<String> = logs.try_iter().collect();
    assert!(all.len() > 5, "logs were captured: {all:?}");
    let text = all.join("\n");
    for secret in [admin_password, "Wr0ng-guess-for-logs", token.as_str(), ssh_password, "Vi3wer-pa55word-for-logs"] {
        assert!(!text.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test]
async fn starts_on_the_embedded_defaults_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (child, addr, _logs) = spawn(dir.path(), &[]);
    // Until the health board has loaded, /healthz honestly answers 503 "starting".
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        let response = reqwest::get(format!("http://{addr}/healthz")).await.expect("GET /healthz");
        let status = response.status();
        let body: serde_json::Value = response.json().await.expect("JSON");
        if body["reason"] != "starting" || std::time::Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["status"].as_str(), body["total"].as_u64()), (Some("pass"), Some(0)));
    assert!(dir.path().join("healthmon.db").exists(), "the default database is ./healthmon.db");
    assert!(dir.path().join("healthmon-keys").is_dir(), "the sealing key ring is created on first start");
    let status = stop(child);
    assert!(status.success(), "exit status {status}");
}

#[test]
fn help_documents_exactly_the_settings_in_the_readme() {
    let help = Command::new(BINARY).arg("--help").output().expect("healthmon --help");
    assert!(help.status.success());
    let pattern = regex::Regex::new(r"HEALTHMON_[A-Z0-9_]+").expect("regex");
    let in_help: BTreeSet<String> =
        pattern.find_iter(&String::from_utf8_lossy(&help.stdout)).map(|m| m.as_str().to_owned()).collect();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).expect("README");
    let table = readme.split("## Configuration").nth(1).and_then(|rest| rest.split("\n## ").next()).expect("table");
    let in_readme: BTreeSet<String> = table
        .lines()
        .filter(|line| line.starts_with("| `HEALTHMON_"))
        .filter_map(|line| pattern.find(line).map(|m| m.as_str().to_owned()))
        .collect();
    let mut expected = in_readme.clone();
    expected.insert("HEALTHMON_CONFIG".into());
    assert_eq!(in_help, expected, "--help and the README's configuration table disagree");
}

#[test]
fn a_role_only_process_without_nats_refuses_to_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = Command::new(BINARY)
        .current_dir(dir.path())
        .env_clear()
        .args(["--roles", "prober", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run healthmon");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("HEALTHMON_NATS_URL"));
}

#[test]
fn a_bad_setting_is_refused_before_anything_starts_naming_the_setting() {
    for (variable, value, named) in [
        ("HEALTHMON_ROLES", "api,cook", "--roles"),
        ("HEALTHMON_LOG_FORMAT", "xml", "--log-format"),
        ("HEALTHMON_TARGET_DENY", "10.0.0.0/8,10.0.0.0/33", "--target-deny"),
        ("HEALTHMON_HEARTBEAT_TTL_S", "0", "heartbeat_ttl_s"),
        // The CORS layer used to panic on a wildcard, after the database was opened.
        ("HEALTHMON_CORS_ORIGINS", "*", "--cors-origins"),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(BINARY)
            .current_dir(dir.path())
            .env_clear()
            .env("HEALTHMON_LISTEN", "127.0.0.1:0")
            .env(variable, value)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run healthmon");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("{variable}={value}: healthmon started instead of refusing the setting");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr).expect("read stderr");
        assert!(matches!(status.code(), Some(1 | 2)), "{variable}={value}: exit {status}, {stderr}");
        assert!(stderr.contains(named), "{variable}={value}: the error names {named}: {stderr}");
        assert!(!dir.path().join("healthmon.db").exists(), "{variable}={value}: refused before opening the database");
    }
}
