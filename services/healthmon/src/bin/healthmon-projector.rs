//! `healthmon-projector`: runs only the projector role (needs NATS; the same as `healthmon --roles projector`).

fn main() -> anyhow::Result<std::process::ExitCode> {
    healthmon::cli::main(Some(healthmon_runtime::Role::Projector))
}
