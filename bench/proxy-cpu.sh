#!/usr/bin/env bash
# The proxy's CPU per request, two corral binaries side by side: each round
# runs A then B (then A, ...), each with a pool of 3 Acts containers of its
# own, under wrk (-t1 -c64, keep-alive GET /api/v1/_health by default) for
# DURATION seconds, and reads corral's own CPU time (utime + stime from
# /proc/PID/stat) before and after. Prints one line per run and a table of
# medians. Absolute req/s drift with the machine's other load; CPU per
# request and the ratio of A to B within one run hold better.
#
# usage: bench/proxy-cpu.sh BINARY_A LABEL_A BINARY_B LABEL_B [ROUNDS] [DURATION]
#   ROUNDS defaults to 3, DURATION to 8 (seconds). The image acts:latest must
#   exist (scripts/build-images); wrk comes from Debian's wrk package.
#   PATH_UNDER_TEST (default /api/v1/_health) and CONNECTIONS (64) override
#   the load.
set -euo pipefail

[ $# -ge 4 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
A_BIN="$(realpath "$1")"; A_LABEL="$2"; B_BIN="$(realpath "$3")"; B_LABEL="$4"
ROUNDS="${5:-3}"
DURATION="${6:-8}"
PATH_UNDER_TEST="${PATH_UNDER_TEST:-/api/v1/_health}"
CONNECTIONS="${CONNECTIONS:-64}"
PROXY_PORT=21100
ADMIN_PORT=21101
POOL_START=21110
SIZE=3

say() { printf '[bench/proxy-cpu] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
docker image inspect acts:latest >/dev/null 2>&1 || die "image acts:latest is missing: scripts/build-images"
for bin in "$A_BIN" "$B_BIN"; do [ -x "$bin" ] || die "$bin is not executable"; done

WORK="$(mktemp -d /tmp/corral-proxy-cpu.XXXXXX)"
say "logs in $WORK"
CORRAL_PID=""
cleanup() {
  [ -n "$CORRAL_PID" ] && kill -TERM "$CORRAL_PID" 2>/dev/null && wait "$CORRAL_PID" 2>/dev/null || true
  for pool in bench-cpu-a bench-cpu-b; do
    docker ps -aq --filter "label=corral.pool=$pool" | xargs -r docker rm -f >/dev/null 2>&1 || true
    docker volume rm -f "$pool-data" >/dev/null 2>&1 || true
  done
}
trap cleanup EXIT

# cpu_ticks PID: user + system clock ticks of the process.
cpu_ticks() {
  local stat
  stat="$(cat "/proc/$1/stat")"
  stat="${stat##*) }"
  read -ra f <<<"$stat"
  echo $(( f[11] + f[12] ))
}

# one_run BINARY POOL: prints "req_per_s cpu_us_per_req requests p50_ms p99_ms errors".
one_run() {
  local bin="$1" pool="$2" conf="$WORK/$2.toml" log="$WORK/$2.log"
  cat >"$conf" <<EOF
[proxy]
listen = "127.0.0.1:$PROXY_PORT"
threads = 1
[admin]
listen = "127.0.0.1:$ADMIN_PORT"
[pool]
name = "$pool"
start_port = $POOL_START
min_containers = $SIZE
max_containers = $SIZE
volume = "$pool-data"
[scaling]
interval = "1h"
EOF
  "$bin" --config "$conf" >>"$log" 2>&1 &
  CORRAL_PID=$!
  local ready=0 i
  for i in $(seq 1 150); do
    if curl -sf "127.0.0.1:$ADMIN_PORT/status" 2>/dev/null | grep -q "\"ready\":$SIZE"; then
      ready=1; break
    fi
    sleep 0.2
  done
  [ "$ready" = 1 ] || die "$pool did not get $SIZE ready containers (see $log)"
  # Warm up the backend connections and the caches, then measure.
  wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$PROXY_PORT$PATH_UNDER_TEST" >/dev/null
  local before after out
  before="$(cpu_ticks "$CORRAL_PID")"
  out="$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PROXY_PORT$PATH_UNDER_TEST")"
  after="$(cpu_ticks "$CORRAL_PID")"
  echo "$out" >>"$log"
  kill -TERM "$CORRAL_PID"; wait "$CORRAL_PID" || true; CORRAL_PID=""
  local requests rps p50 p99 errors
  requests="$(awk '/requests in/ {print $1}' <<<"$out")"
  rps="$(awk '/^Requests\/sec/ {print $2}' <<<"$out")"
  p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
  p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
  errors="$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')"
  local hz; hz="$(getconf CLK_TCK)"
  local us; us="$(awk -v t="$((after - before))" -v hz="$hz" -v n="$requests" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
  echo "$rps $us $requests $p50 $p99 ${errors:-none}"
}

say "A = $A_LABEL ($A_BIN)"
say "B = $B_LABEL ($B_BIN)"
say "CPUs busy before the run: $(busy_percent 2)%"
declare -a A_RPS A_US B_RPS B_US
for round in $(seq 1 "$ROUNDS"); do
  read -r rps us n p50 p99 err <<<"$(one_run "$A_BIN" bench-cpu-a)"
  say "round $round A: $rps req/s, $us us CPU/req ($n requests, p50 $p50, p99 $p99, errors: $err)"
  A_RPS+=("$rps"); A_US+=("$us")
  read -r rps us n p50 p99 err <<<"$(one_run "$B_BIN" bench-cpu-b)"
  say "round $round B: $rps req/s, $us us CPU/req ($n requests, p50 $p50, p99 $p99, errors: $err)"
  B_RPS+=("$rps"); B_US+=("$us")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
a_rps="$(median "${A_RPS[@]}")"; a_us="$(median "${A_US[@]}")"
b_rps="$(median "${B_RPS[@]}")"; b_us="$(median "${B_US[@]}")"
echo
echo "| corral | req/s (median of $ROUNDS) | CPU µs per request (median) | CPU per request vs A |"
echo "|---|---:|---:|---:|"
echo "| A: $A_LABEL | $a_rps | $a_us | 1.000 |"
echo "| B: $B_LABEL | $b_rps | $b_us | $(awk -v a="$a_us" -v b="$b_us" 'BEGIN { printf "%.3f", b / a }') |"
echo
echo "per round, A then B: A ${A_US[*]} / B ${B_US[*]} µs per request"
