#!/usr/bin/env bash
# Benchmark of corral's fault tolerance: corral with a pool of 3 Acts
# containers on ports of its own, the chaos tool for 60 s with one SIGKILL
# every 3 s under a steady GET load, then corral stopped and the host checked
# for leftovers. Prints chaos's table; the logs stay in a directory under /tmp.
#
# usage: bench/chaos.sh [BUILD_DIR] [-- CHAOS_OPTION...]
#   BUILD_DIR defaults to $CORRAL_BUILD, else build/; it must hold corral and
#   tools/chaos, and the image acts:latest must exist (scripts/build-images).
#   Options after -- go to chaos and override the defaults below
#   (e.g. -- --load-rate 0 --seed 42). CORRAL_COMMIT names the commit the
#   build is of, when it is not this checkout's HEAD.
# Exit status: chaos's (0 clean run), or 1 when corral did not stop cleanly
# or left a container behind.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${CORRAL_BUILD:-$ROOT/build}"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
  BUILD="$(cd "$1" && pwd)"
  shift
fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
CORRAL="$BUILD/corral"
CHAOS="$BUILD/tools/chaos"

POOL=bench-chaos
VOLUME=bench-chaos-data
PROXY_PORT=21000
ADMIN_PORT=21001
POOL_START=21010
SIZE=3

say() { printf '[bench/chaos] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The commit corral was built from, marked when its sources have local
# changes; $CORRAL_COMMIT names it when the build is not of this checkout.
corral_version() {
  if [ -n "${CORRAL_COMMIT:-}" ]; then
    echo "$CORRAL_COMMIT"
    return
  fi
  local rev
  rev="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  if [ -n "$(git -C "$ROOT" status --porcelain -- actors app proxy runtime 2>/dev/null)" ]; then
    rev="$rev+local-changes"
  fi
  echo "$rev"
}

pool_containers() { docker ps -aq --filter "label=corral.pool=$POOL"; }

[ -x "$CORRAL" ] || die "$CORRAL is missing: cmake --build $BUILD --target corral"
[ -x "$CHAOS" ] || die "$CHAOS is missing: cmake --build $BUILD --target chaos"
docker image inspect acts:latest >/dev/null 2>&1 \
  || die "image acts:latest is missing: CORRAL_BUILD=$BUILD scripts/build-images"
for port in "$PROXY_PORT" "$ADMIN_PORT" $(seq "$POOL_START" $((POOL_START + SIZE - 1))); do
  if ss -Hltn "sport = :$port" | grep -q .; then
    die "port $port is taken: this benchmark needs $PROXY_PORT, $ADMIN_PORT and $POOL_START.."
  fi
done

BUSY_BEFORE="$(busy_percent 3)"
say "CPU busy before the run: $BUSY_BEFORE% of $(nproc) cores (others' work on this host)"
WORK="$(mktemp -d /tmp/bench-chaos.XXXXXX)"
CORRAL_PID=""
EVENTS_PID=""

# Runs on every exit, also after an error or ^C: stop corral, remove whatever
# of the pool is left, and the volume.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  [ -z "$EVENTS_PID" ] || kill "$EVENTS_PID" 2>/dev/null || true
  if [ -n "$CORRAL_PID" ] && kill -0 "$CORRAL_PID" 2>/dev/null; then
    kill -TERM "$CORRAL_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$CORRAL_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$CORRAL_PID" 2>/dev/null || true
  fi
  local left
  left="$(pool_containers)"
  # shellcheck disable=SC2086 # one id per word
  [ -z "$left" ] || docker rm -f $left >/dev/null 2>&1 || true
  docker volume rm "$VOLUME" >/dev/null 2>&1 || true
  say "logs: $WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A run that died earlier may have left its pool: it is ours, by name.
stale="$(pool_containers)"
if [ -n "$stale" ]; then
  say "removing containers of pool $POOL left by an earlier run"
  # shellcheck disable=SC2086
  docker rm -f $stale >/dev/null
fi
docker volume rm "$VOLUME" >/dev/null 2>&1 || true

cat >"$WORK/corral.toml" <<TOML
[proxy]
listen = "127.0.0.1:$PROXY_PORT"
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[pool]
name = "$POOL"
image = "acts:latest"
start_port = $POOL_START
min_containers = $SIZE
volume = "$VOLUME"
[scaling]
# No scaling decision within the run: the pool stays at $SIZE, so every
# container start is a replacement the benchmark measures.
interval = "1h"
TOML

say "corral $(corral_version), pool $POOL of $SIZE on 127.0.0.1:$POOL_START.., proxy :$PROXY_PORT, admin :$ADMIN_PORT"
"$CORRAL" --config "$WORK/corral.toml" >"$WORK/corral.log" 2>&1 &
CORRAL_PID=$!

# Ready means the admin endpoint counts $SIZE slots in state ready.
ready_count() {
  curl -sf --max-time 1 "http://127.0.0.1:$ADMIN_PORT/metrics" 2>/dev/null \
    | sed -n "s/^corral_pool_containers{pool=\"$POOL\",state=\"ready\"} \([0-9]*\)$/\1/p"
}
for _ in $(seq 300); do
  kill -0 "$CORRAL_PID" 2>/dev/null || { cat "$WORK/corral.log" >&2; die "corral exited"; }
  [ "$(ready_count)" = "$SIZE" ] && break
  sleep 0.1
done
[ "$(ready_count)" = "$SIZE" ] || die "the pool is not ready after 30 s; see $WORK/corral.log"
say "$SIZE containers ready; running chaos"

# The engine's own view of every kill and replacement, with its clock, to
# tell the engine's share of a replacement from corral's.
docker events --filter "label=corral.pool=$POOL" --filter type=container \
  --format '{{.TimeNano}} {{.Action}} {{.Actor.Attributes.name}} {{.ID}}' >"$WORK/events.log" &
EVENTS_PID=$!

chaos_status=0
"$CHAOS" --proxy "127.0.0.1:$PROXY_PORT" --admin "127.0.0.1:$ADMIN_PORT" --pool "$POOL" \
  --duration 60s --kill-every 3s --load-threads 4 --load-rate 400 --json "$@" \
  >"$WORK/chaos.out" 2> >(tee "$WORK/chaos.log" >&2) || chaos_status=$?

kill "$EVENTS_PID" 2>/dev/null || true
EVENTS_PID=""
say "stopping corral (SIGTERM)"
kill -TERM "$CORRAL_PID"
corral_status=0
wait "$CORRAL_PID" || corral_status=$?
CORRAL_PID=""
left="$(pool_containers)"

# The table last, so it is what the terminal shows.
echo
grep -v '^{' "$WORK/chaos.out" || true
echo
echo "corral exited with status $corral_status; containers of pool $POOL left: $(echo "$left" | grep -c . || true)"
echo "CPU busy before the run: $BUSY_BEFORE% of $(nproc) cores; corral $(corral_version); $(date -u +%Y-%m-%dT%H:%MZ)"
if [ "$corral_status" -ne 0 ] || [ -n "$left" ]; then
  exit 1
fi
exit "$chaos_status"
