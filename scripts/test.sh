#!/usr/bin/env bash
# Runs the whole test suite on this machine: makes sure PostgreSQL and NATS JetStream are up and
# sshd and Chromium are installed (installing them with apt-get when absent), then lints and runs every test, and
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
ensure_chromium

if [ -z "${HEALTHMON_SKIP_LINT:-}" ]; then
  log "cargo fmt --check"
  cargo fmt --all -- --check
  # The whole workspace, bench included: a check build is cheap and keeps the bench compiling.
  log "cargo clippy"
  cargo clippy --workspace --all-targets -- -D warnings
fi

# The default members (Cargo.toml): every crate but the bench, which has no tests and would cost a
# full build of its own.
if cargo nextest --version >/dev/null 2>&1; then
  log "cargo nextest run"
  cargo nextest run --no-fail-fast
else
  log "cargo test"
  failed=0
  cargo test --workspace --exclude bench --exclude healthmon-tests --no-fail-fast || failed=1
  cargo test -p healthmon-tests --lib || failed=1
  # One binary holds every end-to-end test, and some of them read process-wide metrics: run each
  # in a process of its own, as nextest does.
  log "cargo test -p healthmon-tests --test e2e, a process per test"
  e2e=$(cargo test -p healthmon-tests --test e2e --no-run --message-format json |
    grep -o '"executable":"[^"]*"' | cut -d'"' -f4)
  (cd tests && "$e2e" --list --format terse | sed -n 's/: test$//p' |
    xargs -P 8 -I{} "$e2e" --exact {} --quiet) || failed=1
  [ "$failed" = 0 ]
fi

if [ -z "${HEALTHMON_SKIP_SCHEMATHESIS:-}" ]; then
  log "schemathesis against the running service, both modes"
  ./scripts/schemathesis.sh
fi
