#!/usr/bin/env bash
# Runs the Docker Compose stack for real and checks it as a user would.
#
#   scripts/compose-smoke.sh            # everything, then `compose down -v`
#   scripts/compose-smoke.sh --keep     # leave the stack up at the end (or after a failure)
#
# Installs and starts what it needs (dockerd, Compose, debootstrap, jq), and where Docker Hub
# cannot be reached makes stand-in base images from Debian's packages (scripts/compose/), cached
# between runs. Builds healthmon:local from the Dockerfile (BuildKit, its cache mounts kept between
# runs), starts docker-compose.yml plus scripts/compose/smoke.yml (a small HTTP server, `web`),
# then: logs in on api-1, creates targets against `web`, sees them healthy through api-2 and on
# the status page; kills (SIGKILL) the prober owning the most targets and then the active
# projector, and checks the slot grid of every target for gaps and repeats; restarts NATS and then
# Postgres and checks that the stack recovers with no gap; `compose down -v` at the end. Every
# check prints PASS or FAIL with the figure it saw; the last line is `N passed, M failed`.
#
# Environment:
#   HEALTHMON_SMOKE_IMAGES=auto|local|official  base images: official ones from Docker Hub, or the
#                              local stand-ins; auto (default) tries to pull debian:bookworm-slim
#   HEALTHMON_SMOKE_SOURCE=worktree|head        build from the working tree (default) or from the
#                              committed HEAD (git archive; the working tree's Dockerfile)
#   HEALTHMON_SMOKE_CACHE      where the debootstrapped root is kept (/var/cache/healthmon-smoke)
#   HEALTHMON_SMOKE_DOCKERD_ARGS  flags for a dockerd this script starts
#                              (--iptables=false --storage-driver=vfs)
#   HEALTHMON_HEAVY_LOCK       the lock file the image build holds (/tmp/healthmon-heavy.lock), so
#                              it never runs beside another heavy build
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SMOKE_CACHE=${HEALTHMON_SMOKE_CACHE:-/var/cache/healthmon-smoke}
LOCAL_PREFIX=healthmon-smoke
PROJECT=healthmon-smoke
HEAVY_LOCK=${HEALTHMON_HEAVY_LOCK:-/tmp/healthmon-heavy.lock}
KEEP=false
[ "${1:-}" = --keep ] && KEEP=true

# Documented defaults these checks lean on (README, docs/ARCHITECTURE.md): a dead prober's targets
# are taken over within the heartbeat TTL (plus an interval), a dead projector's lease runs out a
# lease TTL after its last renewal.
HEARTBEAT_TTL_MS=10000
LEASE_TTL_MS=10000
INTERVAL_S=1
HEALTHY_TARGETS=6

STARTED_AT=$(date +%s)
PASSED=0
FAILED=0
FINISHED=false

log() { printf '\n==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
pass() { PASSED=$((PASSED + 1)); printf 'PASS  %s\n' "$*"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
# check CONDITION-RESULT DESCRIPTION: PASS when the first argument is 0 (a shell status).
check() { if [ "$1" = 0 ]; then pass "$2"; else fail "$2"; fi; }
now_ms() { date +%s%3N; }
elapsed() { local s=$(($(date +%s) - STARTED_AT)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# wait_for DEADLINE_S DESCRIPTION COMMAND...: polls COMMAND every half second until it succeeds.
wait_for() {
  local deadline=$(($(date +%s) + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      note "timed out waiting for $what"
      return 1
    fi
    sleep 0.5
  done
}

finish() {
  local status=$?
  if [ "$FINISHED" = false ]; then
    # An unexpected error (set -e): counted as a failure, and the stack taken down unless --keep.
    fail "the script stopped early (exit status $status) at: ${BASH_COMMAND:-?}"
    if [ "$KEEP" = false ] && [ -n "${COMPOSE_CMD:-}" ]; then
      compose down -v --remove-orphans >/dev/null 2>&1 || true
    fi
  fi
  printf '\nrun time %s\n%d passed, %d failed\n' "$(elapsed)" "$PASSED" "$FAILED"
  [ "$FAILED" = 0 ] && [ "$status" = 0 ]
}
trap finish EXIT

mkdir -p "$SMOKE_CACHE"
apt_install() {
  if [ -z "${APT_UPDATED:-}" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$SMOKE_CACHE/apt.log" 2>&1 \
      || { tail -20 "$SMOKE_CACHE/apt.log"; return 1; }
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >>"$SMOKE_CACHE/apt.log" 2>&1 \
    || { tail -20 "$SMOKE_CACHE/apt.log"; return 1; }
}

# ---------------------------------------------------------------------------------------------
log "tools: docker engine, Compose, BuildKit, debootstrap, jq, python3"
command -v jq >/dev/null || apt_install jq
command -v python3 >/dev/null || apt_install python3
command -v curl >/dev/null || apt_install curl
if ! docker info >/dev/null 2>&1; then
  if ! command -v dockerd >/dev/null; then
    note "installing docker.io"
    apt_install docker.io
  fi
  # shellcheck disable=SC2086 # the flags are words
  note "starting dockerd ${HEALTHMON_SMOKE_DOCKERD_ARGS:---iptables=false --storage-driver=vfs}"
  # shellcheck disable=SC2086
  setsid dockerd ${HEALTHMON_SMOKE_DOCKERD_ARGS:---iptables=false --storage-driver=vfs} \
    >"$SMOKE_CACHE/dockerd.log" 2>&1 < /dev/null &
  wait_for 60 "dockerd" docker info || { tail -20 "$SMOKE_CACHE/dockerd.log"; exit 1; }
fi
note "engine $(docker version --format '{{.Server.Version}}')"

if docker compose version >/dev/null 2>&1; then
  COMPOSE_CMD=(docker compose)
else
  command -v docker-compose >/dev/null || { note "installing docker-compose"; apt_install docker-compose; }
  COMPOSE_CMD=(docker-compose)
fi
note "compose: ${COMPOSE_CMD[*]} ($("${COMPOSE_CMD[@]}" version --short 2>/dev/null || echo '?'))"
compose() {
  "${COMPOSE_CMD[@]}" -p "$PROJECT" -f "$ROOT/docker-compose.yml" -f "$ROOT/scripts/compose/smoke.yml" "$@"
}

# The Dockerfile's cache mounts need BuildKit: through buildx where it is installed, else through
# Debian's docker CLI (20.10), which has BuildKit's client built in (DOCKER_BUILDKIT=1).
if docker buildx version >/dev/null 2>&1; then
  docker_build() { docker build "$@"; }
  note "builder: docker buildx"
else
  [ -x /usr/bin/docker ] || apt_install docker.io
  docker_build() { DOCKER_BUILDKIT=1 /usr/bin/docker build --progress plain "$@"; }
  note "builder: BuildKit through /usr/bin/docker $(/usr/bin/docker version --format '{{.Client.Version}}')"
fi

# ---------------------------------------------------------------------------------------------
log "base images"
IMAGES=${HEALTHMON_SMOKE_IMAGES:-auto}
if [ "$IMAGES" = auto ]; then
  if timeout 20 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then IMAGES=official; else IMAGES=local; fi
fi
if [ "$IMAGES" = local ]; then
  command -v debootstrap >/dev/null || apt_install debootstrap
  # shellcheck source=scripts/compose/base-images.sh
  source "$ROOT/scripts/compose/base-images.sh"
  make_base_images
  export HEALTHMON_RUST_IMAGE=$LOCAL_PREFIX/rust:bookworm
  export HEALTHMON_RUNTIME_IMAGE=$LOCAL_PREFIX/debian:bookworm-slim
  export HEALTHMON_NATS_IMAGE=$LOCAL_PREFIX/nats:2.9-bookworm
  export HEALTHMON_POSTGRES_IMAGE=$LOCAL_PREFIX/postgres:15-bookworm
  export HEALTHMON_SMOKE_WEB_IMAGE=$LOCAL_PREFIX/busybox:bookworm
else
  export HEALTHMON_SMOKE_WEB_IMAGE=busybox:1
fi
note "images: $IMAGES (rust ${HEALTHMON_RUST_IMAGE:-rust:1-bookworm}, runtime ${HEALTHMON_RUNTIME_IMAGE:-debian:bookworm-slim}, nats ${HEALTHMON_NATS_IMAGE:-nats:2.10-alpine}, postgres ${HEALTHMON_POSTGRES_IMAGE:-postgres:16})"

# ---------------------------------------------------------------------------------------------
log "building healthmon:local (waits for $HEAVY_LOCK)"
CONTEXT=$ROOT
if [ "${HEALTHMON_SMOKE_SOURCE:-worktree}" = head ]; then
  CONTEXT=$(mktemp -d)
  git -C "$ROOT" archive --format=tar HEAD | tar -x -C "$CONTEXT"
  cp "$ROOT/Dockerfile" "$ROOT/.dockerignore" "$CONTEXT/"
  note "source: HEAD $(git -C "$ROOT" rev-parse --short HEAD) (the working tree's Dockerfile)"
else
  note "source: the working tree"
fi
# Host networking: the build reaches crates.io even where the engine's bridge has no NAT
# (dockerd --iptables=false).
exec 9>>"$HEAVY_LOCK"
flock 9
build_started=$(date +%s)
docker_build --network host \
  --build-arg "RUST_IMAGE=${HEALTHMON_RUST_IMAGE:-rust:1-bookworm}" \
  --build-arg "RUNTIME_IMAGE=${HEALTHMON_RUNTIME_IMAGE:-debian:bookworm-slim}" \
  -t healthmon:local "$CONTEXT" >"$SMOKE_CACHE/build.log" 2>&1 \
  || { tail -40 "$SMOKE_CACHE/build.log"; exit 1; }
flock -u 9
exec 9>&-
[ "$CONTEXT" = "$ROOT" ] || rm -rf "$CONTEXT"
build_s=$(($(date +%s) - build_started))
image_mb=$(($(docker image inspect -f '{{.Size}}' healthmon:local) / 1024 / 1024))
pass "image healthmon:local built in ${build_s}s, ${image_mb} MiB"
bins=$(docker run --rm --entrypoint sh healthmon:local -c \
  'for b in healthmon healthmon-api healthmon-prober healthmon-projector healthmon-notifier; do command -v $b >/dev/null && echo $b; done' | wc -l)
[ "$bins" = 5 ] && r=0 || r=1; check "$r" "the image holds 5 of 5 binaries ($bins found), runs as uid $(docker run --rm --entrypoint id healthmon:local -u)"

# ---------------------------------------------------------------------------------------------
log "starting the stack"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
HEALTHMON_ADMIN_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
POSTGRES_PASSWORD=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
HEALTHMON_API_1_PORT=$(free_port)
HEALTHMON_API_2_PORT=$(free_port)
export HEALTHMON_ADMIN_PASSWORD POSTGRES_PASSWORD HEALTHMON_API_1_PORT HEALTHMON_API_2_PORT
compose down -v --remove-orphans >/dev/null 2>&1 || true
compose config -q
pass "compose accepts docker-compose.yml (${COMPOSE_CMD[*]} config)"
up_started=$(date +%s)
compose up -d --no-build >"$SMOKE_CACHE/up.log" 2>&1 || { cat "$SMOKE_CACHE/up.log"; exit 1; }

SERVICES=(nats postgres web api-1 api-2 prober-1 prober-2 projector-1 projector-2 notifier-1 notifier-2)
# Container ids, looked up once (they stay while the stack is up: kill, start and restart keep the
# container), since each Compose call costs about a second.
declare -A CONTAINER=()
for service in "${SERVICES[@]}"; do CONTAINER[$service]=$(compose ps -a -q "$service"); done
cid() { if [ -n "${CONTAINER[$1]:-}" ]; then echo "${CONTAINER[$1]}"; else compose ps -a -q "$1"; fi; }
# "healthy", "running" (no health check), or the state it is in.
health_of() {
  docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$(cid "$1")" 2>/dev/null
}
all_up() {
  local service state
  for service in "${SERVICES[@]}"; do
    state=$(health_of "$service")
    [ "$state" = healthy ] || [ "$state" = running ] || return 1
  done
}
service_healthy() { [ "$(health_of "$1")" = healthy ]; }
if wait_for 240 "every service up and healthy" all_up; then
  pass "all ${#SERVICES[@]} services up, 10 health-checked ones healthy, in $(($(date +%s) - up_started))s"
else
  states=""
  for service in "${SERVICES[@]}"; do states+=" $service=$(health_of "$service")"; done
  fail "services not all healthy after 240s:$states"
  compose logs --tail 20 >&2 || true
  exit 1
fi

# The api instances, as a user reaches them: on their published ports (the container's address
# where the engine cannot publish, e.g. without iptables).
api_base() {
  local service=$1 port=$2 ip
  if curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then
    echo "http://127.0.0.1:$port"
  else
    ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$(cid "$service")")
    echo "http://$ip:8080"
  fi
}
API1=$(api_base api-1 "$HEALTHMON_API_1_PORT")
API2=$(api_base api-2 "$HEALTHMON_API_2_PORT")
note "api-1 at $API1, api-2 at $API2"
[ "$API1" = "http://127.0.0.1:$HEALTHMON_API_1_PORT" ] && [ "$API2" = "http://127.0.0.1:$HEALTHMON_API_2_PORT" ] && r=0 || r=1
check "$r" "api-1 and api-2 answer on their published host ports ($HEALTHMON_API_1_PORT, $HEALTHMON_API_2_PORT)"

# died_at SERVICE: when the engine saw the service's process exit, in ms since the epoch.
not_running() { [ "$(docker inspect -f '{{.State.Running}}' "$(cid "$1")")" = false ]; }
died_at() {
  wait_for 15 "$1 to stop" not_running "$1" || true
  date -d "$(docker inspect -f '{{.State.FinishedAt}}' "$(cid "$1")")" +%s%3N
}
psql_stack() { docker exec -i "$(cid postgres)" psql -U healthmon -d healthmon -At -c "$1"; }
metric_of() { # metric_of SERVICE NAME: the value of an unlabelled metric on that process
  docker exec "$(cid "$1")" curl -fsS -m 2 http://127.0.0.1:8080/metrics 2>/dev/null | awk -v n="$2" '$1 == n {print $2}'
}

# ---------------------------------------------------------------------------------------------
log "log in on api-1, create targets, see them healthy through api-2"
login() { # login BASE: prints the token; the password goes on stdin, never in argv
  jq -n '{username: "admin", password: env.HEALTHMON_ADMIN_PASSWORD}' \
    | curl -fsS -m 10 -XPOST "$1/api/v1/auth/login" -H 'content-type: application/json' --data-binary @- \
    | jq -r .token
}
TOKEN=$(login "$API1") || true
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] && r=0 || r=1
check "$r" "login as admin on api-1: a token (${#TOKEN} characters)"
AUTH="Authorization: Bearer $TOKEN"
get() { curl -fsS -m 10 -H "$AUTH" "$@"; }

create_target() { # create_target NAME URL: prints the id
  jq -n --arg name "$1" --arg url "$2" --argjson interval "$INTERVAL_S" \
    '{name: $name, kind: "http", url: $url, interval_s: $interval, timeout_s: 2, public: true, group: "smoke"}' \
    | curl -fsS -m 10 -XPOST "$API1/api/v1/targets" -H "$AUTH" -H 'content-type: application/json' --data-binary @- \
    | jq -r .id
}
TARGETS=()
for i in $(seq 1 "$HEALTHY_TARGETS"); do
  TARGETS+=("$(create_target "web-$i" "http://web:8000/?n=$i")")
done
MISSING_TARGET=$(create_target "web-missing" "http://web:8000/no-such-page")
created=0
for id in "${TARGETS[@]}" "$MISSING_TARGET"; do [[ $id =~ ^[0-9a-f-]{36}$ ]] && created=$((created + 1)); done
[ "$created" = $((HEALTHY_TARGETS + 1)) ] && r=0 || r=1
check "$r" "created $created of $((HEALTHY_TARGETS + 1)) targets on api-1 (interval ${INTERVAL_S}s, against http://web:8000)"

statuses() { get "$API2/api/v1/health" | jq -r '.items[] | "\(.name)=\(.status)"' | sort | tr '\n' ' '; }
healthy_count() { get "$API2/api/v1/health" | jq '[.items[] | select(.status == "healthy")] | length'; }
all_as_expected() {
  local body
  body=$(get "$API2/api/v1/health") || return 1
  [ "$(jq '[.items[] | select(.status == "healthy")] | length' <<<"$body")" = "$HEALTHY_TARGETS" ] \
    && [ "$(jq -r '.items[] | select(.name == "web-missing") | .status' <<<"$body")" = unhealthy ]
}
t0=$(date +%s)
wait_for 120 "targets healthy on api-2" all_as_expected && r=0 || r=1
check "$r" "through api-2 after $(($(date +%s) - t0))s: $(statuses)"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$API2/healthz") || true
[ "$code" = 503 ] && r=0 || r=1; check "$r" "GET /healthz on api-2: $code (503: web-missing is unhealthy)"
status_page=$(curl -fsS -m 10 "$API2/status" || true)
shown=$(grep -o 'web-[0-9]' <<<"$status_page" | sort -u | wc -l) || true
[ "$shown" = "$HEALTHY_TARGETS" ] && r=0 || r=1
check "$r" "the status page GET /status on api-2 (no token): $(wc -c <<<"$status_page") bytes, shows $shown of $HEALTHY_TARGETS public targets by name"
page_healthy=$(curl -fsS -m 10 "$API1/api/v1/status" | jq '[.groups[].targets[] | select(.status == "healthy")] | length') || true
[ "$page_healthy" = "$HEALTHY_TARGETS" ] && r=0 || r=1; check "$r" "GET /api/v1/status on api-1: $page_healthy healthy"

target_list=$(printf "'%s'," "${TARGETS[@]}" "$MISSING_TARGET")
target_list=${target_list%,}
target_args=()
for id in "${TARGETS[@]}" "$MISSING_TARGET"; do target_args+=(--target "$id"); done
# gap_report FROM_MS TO_MS [--allow …]: the slot-grid report of every target over [FROM, TO].
gap_report() {
  local from=$1 to=$2
  shift 2
  psql_stack "SELECT target_id, slot, prober FROM samples WHERE target_id IN ($target_list) AND slot BETWEEN $from AND $to" \
    | python3 "$ROOT/scripts/compose/history.py" --interval-ms $((INTERVAL_S * 1000)) --from "$from" --to "$to" \
      "${target_args[@]}" "$@"
}
# caught_up MS: every target has a stored sample at or after MS.
caught_up() {
  [ "$(psql_stack "SELECT count(*) FROM (SELECT target_id FROM samples WHERE target_id IN ($target_list) GROUP BY target_id HAVING max(slot) >= $1) s")" = $((HEALTHY_TARGETS + 1)) ]
}
# api_history FROM_MS TO_MS: the samples of the first target read through api-2, page by page:
# "<count> <repeated ids>".
api_history() {
  local from to cursor="" page ids=()
  from=$(date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%SZ)
  to=$(date -u -d "@$(($2 / 1000 + 1))" +%Y-%m-%dT%H:%M:%SZ)
  while :; do
    page=$(get -G "$API2/api/v1/targets/${TARGETS[0]}/samples" --data-urlencode limit=100 \
      --data-urlencode "from=$from" --data-urlencode "to=$to" ${cursor:+--data-urlencode "cursor=$cursor"}) || return 1
    mapfile -t -O "${#ids[@]}" ids < <(jq -r '.items[].id' <<<"$page")
    cursor=$(jq -r '.next_cursor // empty' <<<"$page")
    [ -n "$cursor" ] || break
  done
  printf '%s %s\n' "${#ids[@]}" "$(printf '%s\n' "${ids[@]}" | sort | uniq -d | wc -l)"
}
summary() { jq -r '"expected \(.expected) slots, present \(.present), missing \(.missing), missing inside the documented window \(.missing_allowed), off the grid \(.off_grid), repeated \(.repeated), largest gap \(.largest_gap_ms) ms"' <<<"$1"; }

# ---------------------------------------------------------------------------------------------
log "kill -9 the prober owning the most targets"
window_start=$(($(now_ms) - 5000))
owners=$(psql_stack "SELECT prober, count(DISTINCT target_id) FROM samples WHERE target_id IN ($target_list) AND slot >= $(($(now_ms) - 4000)) GROUP BY prober ORDER BY 2 DESC")
note "targets per prober over the last 4 s: $(tr '\n' ' ' <<<"$owners")"
victim=$(head -n 1 <<<"$owners" | cut -d'|' -f1)
survivor=prober-1; [ "$victim" = prober-1 ] && survivor=prober-2
orphans=$(psql_stack "SELECT DISTINCT target_id FROM samples WHERE target_id IN ($target_list) AND prober = '$victim' AND slot >= $(($(now_ms) - 3000))")
[ "$(sort -u <<<"$owners" | wc -l)" = 2 ] && r=0 || r=1
check "$r" "both probers probe: $(tr '\n' ' ' <<<"$owners")"
docker kill "$(cid "$victim")" >/dev/null
killed_at=$(died_at "$victim")
note "killed $victim (SIGKILL); $(wc -l <<<"$orphans") targets orphaned"
taken_over() {
  local id
  for id in $orphans; do
    [ "$(psql_stack "SELECT count(*) FROM samples WHERE target_id = '$id' AND prober = '$survivor' AND slot > $killed_at")" -gt 0 ] || return 1
  done
}
wait_for 60 "$survivor to take over" taken_over || true
takeover_ms=0
for id in $orphans; do
  first=$(psql_stack "SELECT coalesce(min(slot), 0) FROM samples WHERE target_id = '$id' AND prober <> '$victim' AND slot > $killed_at")
  [ "$first" -gt 0 ] && [ $((first - killed_at)) -gt "$takeover_ms" ] && takeover_ms=$((first - killed_at))
  [ "$first" -gt 0 ] || takeover_ms=999999
done
# The limit of the project's own take-over test (services/healthmon/tests/faults/prober_takeover.rs).
allowed_ms=$((HEARTBEAT_TTL_MS + INTERVAL_S * 1000 + 1500))
[ "$takeover_ms" -le "$allowed_ms" ] && r=0 || r=1
check "$r" "$survivor took over every orphaned target ${takeover_ms} ms after the kill (documented: within the heartbeat TTL ${HEARTBEAT_TTL_MS} ms + an interval; limit as in the fault suite, TTL + interval + 1.5 s = ${allowed_ms} ms)"
restarted() { [ "$(docker inspect -f '{{.State.Running}}' "$(cid "$victim")")" = true ]; }
if wait_for 5 "$victim to be restarted" restarted; then
  note "$victim restarted by its restart policy"
else
  # Docker counts `docker kill` as a manual stop: unless-stopped does not restart it.
  note "$victim not restarted by the engine after docker kill (a manual stop to Docker); starting it"
  compose start "$victim" >/dev/null 2>&1
fi
wait_for 60 "$victim healthy" service_healthy "$victim" || true
both_probe() {
  [ "$(psql_stack "SELECT count(DISTINCT prober) FROM samples WHERE target_id IN ($target_list) AND slot >= $(($(now_ms) - 3000))")" = 2 ]
}
wait_for 60 "$victim to get targets back" both_probe && r=0 || r=1
check "$r" "$victim back: targets per prober over the last 4 s: $(psql_stack "SELECT prober, count(DISTINCT target_id) FROM samples WHERE target_id IN ($target_list) AND slot >= $(($(now_ms) - 4000)) GROUP BY prober ORDER BY 1" | tr '\n' ' ')"
check_to=$(now_ms)
wait_for 60 "history caught up" caught_up "$check_to" || true
allows=()
for id in $orphans; do allows+=(--allow "$id:$killed_at:$((killed_at + allowed_ms))"); done
report=$(gap_report "$window_start" "$check_to" "${allows[@]}") || true
[ "$(jq '.missing + .off_grid + .repeated' <<<"$report")" = 0 ] && r=0 || r=1
check "$r" "history from 5 s before the prober kill to $(((check_to - killed_at) / 1000)) s after: $(summary "$report")"
read -r api_count api_repeats <<<"$(api_history "$window_start" "$check_to")" || true
[ "$api_repeats" = 0 ] && [ "$api_count" -gt 0 ] && r=0 || r=1
check "$r" "samples of web-1 read through api-2 over that span: $api_count, $api_repeats repeated ids"

# ---------------------------------------------------------------------------------------------
log "kill -9 the active projector"
active_projector() {
  local service
  for service in projector-1 projector-2; do
    [ "$(metric_of "$service" healthmon_projector_active)" = 1 ] && { echo "$service"; return 0; }
  done
  return 1
}
active=$(active_projector || true)
standby=projector-1; [ "$active" = projector-1 ] && standby=projector-2
flags="projector-1 $(metric_of projector-1 healthmon_projector_active), projector-2 $(metric_of projector-2 healthmon_projector_active)"
[ -n "$active" ] && [ "$(metric_of "$standby" healthmon_projector_active)" = 0 ] && r=0 || r=1
check "$r" "exactly one active projector by healthmon_projector_active ($flags): ${active:-none}"
window_start=$(($(now_ms) - 5000))
docker kill "$(cid "${active:-projector-1}")" >/dev/null
killed_at=$(died_at "${active:-projector-1}")
note "killed ${active:-projector-1} (SIGKILL)"
standby_active() { [ "$(metric_of "$standby" healthmon_projector_active)" = 1 ]; }
wait_for 60 "$standby to take the lease" standby_active && took=0 || took=1
takeover_ms=$(($(now_ms) - killed_at))
allowed_ms=$((LEASE_TTL_MS + 5000))
[ "$took" = 0 ] && [ "$takeover_ms" -le "$allowed_ms" ] && r=0 || r=1
check "$r" "$standby active ${takeover_ms} ms after the kill (documented: a lease TTL, ${LEASE_TTL_MS} ms, after the last renewal; allowed ${allowed_ms} ms)"
check_to=$(now_ms)
wait_for 60 "history caught up" caught_up "$check_to" && r=0 || r=1
check "$r" "history caught up to the moment after the take-over ($(((check_to - killed_at) / 1000)) s after the kill)"
report=$(gap_report "$window_start" "$check_to") || true
[ "$(jq '.missing + .missing_allowed + .off_grid + .repeated' <<<"$report")" = 0 ] && r=0 || r=1
check "$r" "history across the projector kill: $(summary "$report")"
if [ "$(docker inspect -f '{{.State.Running}}' "$(cid "${active:-projector-1}")")" != true ]; then
  note "${active:-projector-1} not restarted by the engine after docker kill; starting it"
  compose start "${active:-projector-1}" >/dev/null 2>&1
fi
wait_for 60 "${active:-projector-1} healthy" service_healthy "${active:-projector-1}" || true
note "${active:-projector-1}: $(health_of "${active:-projector-1}"), healthmon_projector_active $(metric_of "${active:-projector-1}" healthmon_projector_active) (the standby now)"

# ---------------------------------------------------------------------------------------------
# restart_and_check SERVICE: docker restart, then the stack must be healthy again with no gap.
restart_and_check() {
  local service=$1 started report now
  window_start=$(($(now_ms) - 5000))
  started=$(now_ms)
  docker restart "$(cid "$service")" >/dev/null
  note "restarted $service in $(($(now_ms) - started)) ms"
  wait_for 120 "the stack healthy again" all_up && r=0 || r=1
  check "$r" "after the $service restart every service is up and healthy again in $(($(now_ms) - started)) ms"
  wait_for 60 "api-1 ready" ready "$API1" && r=0 || r=1
  check "$r" "api-1 /readyz: $(curl -s -m 5 "$API1/readyz" | jq -c .checks)"
  now=$(now_ms)
  wait_for 90 "history caught up" caught_up "$now" && r=0 || r=1
  check "$r" "every target's history reaches past the restart ($(($(now_ms) - started)) ms after it)"
  report=$(gap_report "$window_start" "$now") || true
  [ "$(jq '.missing + .missing_allowed + .off_grid + .repeated' <<<"$report")" = 0 ] && r=0 || r=1
  check "$r" "history across the $service restart: $(summary "$report")"
  wait_for 60 "targets as before on api-2" all_as_expected && r=0 || r=1
  check "$r" "through api-2: $(statuses)"
}
ready() { [ "$(curl -s -m 5 "$1/readyz" | jq -r .status)" = ready ]; }

log "restart NATS"
restart_and_check nats
log "restart Postgres"
restart_and_check postgres

log "after the restarts: a new target, on api-2, probed and healthy"
TOKEN2=$(login "$API2") || true
[ -n "$TOKEN2" ] && [ "$TOKEN2" != null ] && r=0 || r=1; check "$r" "login on api-2 after the Postgres restart"
late=$(jq -n '{name: "web-late", kind: "http", url: "http://web:8000/", interval_s: 1, public: true}' \
  | curl -fsS -m 10 -XPOST "$API2/api/v1/targets" -H "Authorization: Bearer $TOKEN2" -H 'content-type: application/json' --data-binary @- \
  | jq -r .id) || true
late_healthy() { [ "$(get "$API1/api/v1/targets/$late" | jq -r .health.status)" = healthy ]; }
t0=$(date +%s)
wait_for 60 "web-late healthy" late_healthy && r=0 || r=1
check "$r" "web-late, created on api-2, healthy on api-1 after $(($(date +%s) - t0))s"

# ---------------------------------------------------------------------------------------------
log "compose down -v"
FINISHED=true
if [ "$KEEP" = true ]; then
  note "--keep: the stack stays up (project $PROJECT; api-1 at $API1)"
else
  compose down -v --remove-orphans >"$SMOKE_CACHE/down.log" 2>&1
  left=$(docker ps -aq --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
  volumes=$(docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" | wc -l)
  [ "$left" = 0 ] && [ "$volumes" = 0 ] && r=0 || r=1
  check "$r" "down -v left $left containers and $volumes volumes of the project"
fi
