#!/usr/bin/env bash
# Runs the whole test suite on this machine: makes sure PostgreSQL and NATS JetStream are up and
# sshd is installed (installing them with apt-get when absent), then lints and runs every test, and
# last fuzzes the running binary against its OpenAPI document (scripts/schemathesis.sh).
#   HEALTHMON_SKIP_LINT=1           skip cargo fmt --check and clippy
#   HEALTHMON_SKIP_SCHEMATHESIS=1   skip the schemathesis run
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh

ensure_postgres
ensure_nats
ensure_sshd

if [ -z "${HEALTHMON_SKIP_LINT:-}" ]; then
  log "cargo fmt --check"
  cargo fmt --all -- --check
  log "cargo clippy"
  cargo clippy --workspace --all-targets -- -D warnings
fi

if cargo nextest --version >/dev/null 2>&1; then
  log "cargo nextest run"
  cargo nextest run --workspace --no-fail-fast
else
  log "cargo test"
  cargo test --workspace --no-fail-fast
fi

if [ -z "${HEALTHMON_SKIP_SCHEMATHESIS:-}" ]; then
  log "schemathesis against the running service, both modes"
  ./scripts/schemathesis.sh
fi
