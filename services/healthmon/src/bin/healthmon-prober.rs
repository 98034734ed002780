//! `healthmon-prober`: runs only the prober role (needs NATS; the same as `healthmon --roles prober`).

fn main() -> anyhow::Result<std::process::ExitCode> {
    healthmon::cli::main(Some(healthmon_runtime::Role::Prober))
}
