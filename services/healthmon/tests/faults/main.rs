//! The fault-injection suite: real healthmon role processes, nats-server and Postgres, killed and
//! restarted while work flows. Each scenario asserts and prints its figures. Quick by default (CI);
//! `HEALTHMON_FAULTS=full` runs the sizes the README quotes (`scripts/faults.sh`).

mod cluster;
mod history;
mod outages;
mod poison;
mod prober_takeover;
mod projector_kills;
mod restarts;
mod servers;
// The prober's tests' real sshd on loopback, shared rather than copied.
#[path = "../../../prober/tests/integration/support/sshd.rs"]
mod sshd;

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Polls `check` until it yields a value; fails the scenario, naming `what`, after `within`.
pub async fn poll_until<T, F, Fut>(within: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {within:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Prints one scenario's figures in one block, so parallel output stays readable.
pub fn report(scenario: &str, figures: &[(&str, String)]) {
    let mut text = format!("\n== {scenario}\n");
    for (name, value) in figures {
        text.push_str(&format!("   {name:<44} {value}\n"));
    }
    println!("{text}");
}
