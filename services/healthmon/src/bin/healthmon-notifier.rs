//! `healthmon-notifier`: runs only the notifier role (the same as `healthmon --roles notifier`).

fn main() -> anyhow::Result<std::process::ExitCode> {
    healthmon::cli::main(Some(healthmon_runtime::Role::Notifier))
}
