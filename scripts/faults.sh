#!/usr/bin/env bash
# The whole fault-injection suite at full size (README, "Surviving faults"): real role processes,
# nats-server and Postgres killed and restarted while work flows; prints each scenario's figures.
#   HEALTHMON_FAULTS=quick   the sizes CI runs instead
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_postgres
ensure_nats
export HEALTHMON_FAULTS="${HEALTHMON_FAULTS:-full}"
log "fault suite ($HEALTHMON_FAULTS)"
cargo nextest run -p healthmon --test faults --success-output immediate --test-threads 1 --no-fail-fast
