//! `healthmon-api`: runs only the api role (needs NATS; the same as `healthmon --roles api`).

fn main() -> anyhow::Result<std::process::ExitCode> {
    healthmon::cli::main(Some(healthmon_runtime::Role::Api))
}
