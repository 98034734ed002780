//! The real `healthmon` binary, black-box: it starts on the embedded defaults, answers, stops on
//! SIGTERM, and documents exactly the settings the README lists.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_healthmon");

#[tokio::test]
async fn starts_on_the_embedded_defaults_answers_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(BINARY)
        .current_dir(dir.path())
        .env_clear()
        .env("HEALTHMON_LISTEN", "127.0.0.1:0")
        .env("HEALTHMON_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start healthmon");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let addr = loop {
        let line = lines_rx.recv_timeout(Duration::from_secs(20)).expect("a log line within 20 s");
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        if event["message"] == "listening" {
            break event["addr"].as_str().expect("addr").to_owned();
        }
    };
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

    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "healthmon did not stop within 15 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
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
