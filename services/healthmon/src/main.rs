//! `healthmon`: the all-in-one binary; `--roles` picks which roles this process runs.

fn main() -> anyhow::Result<std::process::ExitCode> {
    healthmon::cli::main(None)
}
