#!/usr/bin/env bash
# Runs the benchmarks (BENCHMARKS.md): makes sure PostgreSQL, NATS JetStream and the
# prometheus-blackbox-exporter baseline are there (installing them with apt-get when absent),
# builds the bench in release mode and runs one scenario, or all of them.
#   ./scripts/bench.sh [all|healthz|ingest|probes|events|reads] [flags...]
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
scenario="${1:-all}"
shift || true
cargo build --release -p bench
exec target/release/bench "$scenario" "$@"
