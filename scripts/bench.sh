#!/usr/bin/env bash
# Runs the benchmarks (BENCHMARKS.md): makes sure PostgreSQL, NATS JetStream and the
# prometheus-blackbox-exporter baseline and wrk are there (installing them with apt-get when absent),
# builds the bench in release mode and runs one scenario, or all of them.
#   ./scripts/bench.sh [all|healthz|ingest|history|probes|events|reads|alerts] [flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_postgres
ensure_nats
if [ ! -x /usr/bin/prometheus-blackbox-exporter ]; then
  log "installing prometheus-blackbox-exporter (the probes baseline)"
  apt_install prometheus-blackbox-exporter
fi
if ! command -v wrk >/dev/null; then
  log "installing wrk (the embedded healthz run's load generator)"
  apt_install wrk
fi
scenario="${1:-all}"
shift || true
# The embedded healthz run starts the real binary, which it finds beside its own.
cargo build --release -p bench -p healthmon
exec target/release/bench "$scenario" "$@"
