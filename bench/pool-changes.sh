#!/usr/bin/env bash
# Changing the pool under load (issue 8): a rollout of 3 and of 10 containers
# (a rebuilt image under the same tag, then SIGHUP), a corral restart with
# adoption (kill -9, start again), and an upgrade of corral itself
# (--takeover). Each runs under wrk (GET /api/v1/categories, keep-alive,
# -t1 -c4) and reports wrk's errors and longest latency, plus the time the
# change took and, for rollouts, the most containers the pool had at once.
#
# usage: bench/pool-changes.sh [BUILD_DIR]
#   BUILD_DIR defaults to build/; it must hold corral, and acts:latest must
#   exist (scripts/build-images). wrk and python3 come from Debian.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="$(cd "${1:-$ROOT/build}" && pwd)"
CORRAL="$BUILD/corral"
POOL=bench-changes
IMAGE=bench-changes-img:latest
PROXY=21200
ADMIN=21201
START=21210
WORK="$(mktemp -d /tmp/corral-pool-changes.XXXXXX)"
CONF="$WORK/corral.toml"

say() { printf '[bench/pool-changes] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
[ -x "$CORRAL" ] || die "$CORRAL is missing"
docker image inspect acts:latest >/dev/null 2>&1 || die "acts:latest is missing: scripts/build-images"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  docker ps -aq --filter "label=corral.pool=$POOL" | xargs -r docker rm -f >/dev/null 2>&1 || true
  docker volume rm -f "$POOL-data" >/dev/null 2>&1 || true
  docker rmi -f "$IMAGE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

write_config() { # SIZE
  cat >"$CONF" <<EOF
[proxy]
listen = "127.0.0.1:$PROXY"
[admin]
listen = "127.0.0.1:$ADMIN"
[pool]
name = "$POOL"
image = "$IMAGE"
start_port = $START
min_containers = $1
max_containers = $1
volume = "$POOL-data"
on_exit = "remove"
[scaling]
interval = "1h"
EOF
}

# status_field EXPR: evaluates a Python expression on /status's JSON (`s`).
status_field() {
  curl -sf "127.0.0.1:$ADMIN/status" | python3 -c "import json,sys; s=json.load(sys.stdin); print($1)" 2>/dev/null || echo ""
}

# start_corral [ARGS...]: starts corral in the background; its pid in $LAST.
start_corral() {
  "$CORRAL" --config "$CONF" "$@" >>"$WORK/corral.log" 2>&1 &
  LAST=$!
  PIDS+=("$LAST")
}

stop_corral() { # PID
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

wait_ready() { # SIZE DEADLINE_S
  local end=$(( $(date +%s) + $2 ))
  while [ "$(date +%s)" -lt "$end" ]; do
    [ "$(status_field "sum(1 for x in s['pool']['slots'] if x['state']=='ready')")" = "$1" ] && return 0
    sleep 0.05
  done
  return 1
}

now_ms() { date +%s%3N; }

# wrk_start SECONDS: background wrk; wrk_report prints "requests errors max_latency".
wrk_start() {
  wrk -t1 -c4 -d"$1s" --latency "http://127.0.0.1:$PROXY/api/v1/categories" >"$WORK/wrk.out" 2>&1 &
  WRK_PID=$!
}
wrk_report() {
  local requests errors max
  requests="$(awk '/requests in/ {print $1}' "$WORK/wrk.out")"
  max="$(awk '$1 == "Latency" {print $4}' "$WORK/wrk.out")"
  errors="$(awk '/Non-2xx/ {n += $NF} /Socket errors/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$WORK/wrk.out")"
  echo "$requests $errors $max"
}

rollout() { # SIZE
  local size="$1"
  write_config "$size"
  docker tag acts:latest "$IMAGE"
  start_corral; local pid=$LAST
  wait_ready "$size" 60 || die "the pool of $size did not become ready"
  wrk_start $(( size * 3 + 10 ))
  sleep 2
  printf 'FROM acts:latest\nLABEL bench.version=%s\n' "$(date +%s%N)" | docker build -q -t "$IMAGE" - >/dev/null
  local t0; t0="$(now_ms)"
  kill -HUP "$pid"
  local peak=0 n state=""
  while :; do
    n="$(status_field "len(s['pool']['slots'])")"
    [ -n "$n" ] && [ "$n" -gt "$peak" ] && peak="$n"
    state="$(status_field "s['pool']['rollout']['state']")"
    [ "$state" = "done" ] || [ "$state" = "rolled_back" ] && break
    [ $(( $(now_ms) - t0 )) -gt 120000 ] && die "the rollout of $size did not finish"
    sleep 0.05
  done
  local took=$(( $(now_ms) - t0 ))
  # The load runs on past the rollout (wrk prints its figures at its end).
  wait "$WRK_PID" || true
  read -r requests errors max <<<"$(wrk_report)"
  echo "| rollout of $size | $took ms | $state | $peak | $requests | $errors | $max |"
  stop_corral "$pid"
}

restart_with_adoption() {
  write_config 3
  docker tag acts:latest "$IMAGE"
  start_corral; local pid=$LAST
  wait_ready 3 60 || die "the pool did not become ready"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  local before; before="$(grep -c 'starting a container' "$WORK/corral.log" || true)"
  local t0; t0="$(now_ms)"
  start_corral; pid=$LAST
  wait_ready 3 60 || die "the restarted pool did not become ready"
  local took=$(( $(now_ms) - t0 ))
  local created; created="$(grep -c 'starting a container' "$WORK/corral.log" || true)"
  echo "| restart (kill -9, start again) with 3 containers | $took ms until all 3 serve again | containers created by the restart: $(( created - before )) |"
  stop_corral "$pid"
}

upgrade() {
  write_config 3
  docker tag acts:latest "$IMAGE"
  start_corral; local pid=$LAST
  wait_ready 3 60 || die "the pool did not become ready"
  wrk_start 12
  sleep 3
  local t0; t0="$(now_ms)"
  start_corral --takeover; local successor=$LAST
  wait "$pid" || true
  local took=$(( $(now_ms) - t0 ))
  wait "$WRK_PID" || true
  read -r requests errors max <<<"$(wrk_report)"
  echo "| upgrade (--takeover) with 3 containers | $took ms until the old corral exited | $requests requests, $errors errors, longest $max |"
  stop_corral "$successor"
}

say "logs in $WORK; CPUs busy before the run: $(busy_percent 2)%"
echo "corral $(git -C "$ROOT" rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| change | took | end state | most slots at once (leaving ones included) | requests under load | failed | longest request |"
echo "|---|---:|---|---:|---:|---:|---:|"
rollout 3
rollout 10
echo
restart_with_adoption
upgrade
