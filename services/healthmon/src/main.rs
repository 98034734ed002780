//! `healthmon`: the all-in-one binary; `--roles` picks which roles this process runs.

fn main() -> anyhow::Result<()> {
    healthmon::cli::main(None)
}
