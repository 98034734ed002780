#!/usr/bin/env bash
# Regenerates the README's screenshots (docs/screenshots/*.png): runs the browser tests, which
# save what headless Chromium shows when HEALTHMON_SCREENSHOTS names a directory.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/services.sh
source scripts/services.sh
ensure_postgres
ensure_nats
ensure_chromium

export HEALTHMON_SCREENSHOTS="$PWD/docs/screenshots"
cargo nextest run -p healthmon-tests -E 'test(chromium)'
log "screenshots in docs/screenshots:"
ls -l docs/screenshots
