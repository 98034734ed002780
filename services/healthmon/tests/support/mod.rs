//! Starting and stopping the real `healthmon` binary as a server, shared by the black-box tests.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BINARY: &str = env!("CARGO_BIN_EXE_healthmon");

/// The binary started in `dir` with JSON logs: the child, its address, and every log line so far
/// and to come.
pub fn spawn(dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, String, mpsc::Receiver<String>) {
    let mut command = Command::new(BINARY);
    command
        .current_dir(dir)
        .env_clear()
        .env("HEALTHMON_LISTEN", "127.0.0.1:0")
        .env("HEALTHMON_LOG_FORMAT", "json")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("start healthmon");
    let (lines_tx, lines_rx) = mpsc::channel();
    let streams: [Box<dyn std::io::Read + Send>; 2] =
        [Box::new(child.stdout.take().expect("stdout")), Box::new(child.stderr.take().expect("stderr"))];
    for stream in streams {
        let lines_tx = lines_tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
    }
    let mut seen = Vec::new();
    let addr = loop {
        let line = lines_rx.recv_timeout(Duration::from_secs(20)).expect("a log line within 20 s");
        let event: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
        seen.push(line);
        if event["message"] == "listening" {
            break event["addr"].as_str().expect("addr").to_owned();
        }
    };
    let (replay_tx, replay_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in seen.into_iter().chain(lines_rx) {
            let _ = replay_tx.send(line);
        }
    });
    (child, addr, replay_rx)
}

pub fn stop(mut child: std::process::Child) -> std::process::ExitStatus {
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "healthmon did not stop within 15 s of SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}
