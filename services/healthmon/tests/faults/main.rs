//! The fault-injection suite: real healthmon role processes, nats-server and Postgres, killed and
//! restarted while work flows. Each scenario asserts and prints its figures. Quick by default (CI);
//! `HEALTHMON_FAULTS=full` runs the sizes the README quotes (`scripts/faults.sh`).

mod cluster;
mod history;
mod notifier_kills;
mod outages;
mod poison;
mod prober_takeover;
mod projector_kills;
mod restarts;

/// Prints one scenario's figures in one block, so parallel output stays readable.
pub fn report(scenario: &str, figures: &[(&str, String)]) {
    let mut text = format!("\n== {scenario}\n");
    for (name, value) in figures {
        text.push_str(&format!("   {name:<44} {value}\n"));
    }
    println!("{text}");
}
