//! The SSH check's commands against a real OpenSSH server on loopback: the free-disk default,
//! custom commands with exit status and output rules, and timeouts that name their phase.

use std::time::Instant;

use healthmon_domain::SshCheck;
use healthmon_testing::free_port;
use healthmon_testing::sshd::Sshd;
use uuid::Uuid;

use crate::support::{Prober, assert_success, bare_check, reason};

fn with_command(check: SshCheck, command: &str, expect_output: Option<&str>) -> SshCheck {
    SshCheck { command: Some(command.into()), expect_output: expect_output.map(str::to_owned), ..check }
}

#[tokio::test]
async fn the_free_disk_default_passes_and_fails_by_threshold() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let check = prober.password_check(&sshd, id);
    assert_success(&prober.probe(id, &SshCheck { min_free_disk_mb: 0, ..check.clone() }, 10).await);
    let outcome = prober.probe(id, &SshCheck { min_free_disk_mb: 1 << 30, ..check }, 10).await;
    let why = reason(&outcome);
    assert!(why.starts_with("only ") && why.ends_with(" MiB free on / (need 1073741824)"), "{why}");
}

#[tokio::test]
async fn a_nonzero_exit_status_fails_with_the_first_stderr_line() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let check = with_command(prober.password_check(&sshd, id), "echo 'disk on fire' >&2; echo more >&2; exit 2", None);
    assert_eq!(reason(&prober.probe(id, &check, 10).await), "exit status 2: disk on fire");
}

#[tokio::test]
async fn expected_output_is_matched_against_stdout() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let base = prober.password_check(&sshd, id);
    let matching = with_command(base.clone(), "echo service ok; echo up 42 >&2", Some(r"^service ok$"));
    assert_success(&prober.probe(id, &matching, 10).await);
    let stderr_only = with_command(base.clone(), "echo service ok; echo up 42 >&2", Some(r"up \d+"));
    assert_eq!(reason(&prober.probe(id, &stderr_only, 10).await), r"output did not match /up \d+/");
    let not_matching = with_command(base, "echo degraded", Some("^ok"));
    assert_eq!(reason(&prober.probe(id, &not_matching, 10).await), "output did not match /^ok/");
}

#[tokio::test]
async fn a_server_that_never_speaks_ssh_times_out_in_the_handshake() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    // Accepts (the kernel completes the connect from the backlog) and never says anything.
    let prober = Prober::new();
    let id = Uuid::new_v4();
    let check = SshCheck { password: Some(prober.seal("unused", id)), ..bare_check(port) };
    let started = Instant::now();
    let outcome = prober.probe(id, &check, 1).await;
    assert_eq!(reason(&outcome), "timeout after 1 s in handshake");
    assert!(started.elapsed().as_secs_f64() < 3.5, "took {:?}", started.elapsed());
    drop(listener);
}

#[tokio::test]
async fn a_slow_command_times_out_in_the_command_phase() {
    let (sshd, prober, id) = (Sshd::start(), Prober::new(), Uuid::new_v4());
    let check = with_command(prober.password_check(&sshd, id), "sleep 30", None);
    let started = Instant::now();
    let outcome = prober.probe(id, &check, 2).await;
    assert_eq!(reason(&outcome), "timeout after 2 s in command");
    assert!(started.elapsed().as_secs_f64() < 4.5, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_closed_port_is_refused() {
    let prober = Prober::new();
    let id = Uuid::new_v4();
    let check = SshCheck { password: Some(prober.seal("unused", id)), ..bare_check(free_port()) };
    assert_eq!(reason(&prober.probe(id, &check, 5).await), "connection refused");
}
