#!/usr/bin/env bash
# The Docker engine's own floor for replacing an Acts container on this
# machine, to read bench/chaos.sh's times against: the engine API calls
# corral makes to replace a killed container (create, start, then the first
# answer of the health path), and what a SIGKILL and a forced DELETE cost,
# timed with curl over the socket. No corral involved.
#
# usage: bench/engine-floor.sh [ROUNDS]   (default 10; needs acts:latest)
set -euo pipefail

ROUNDS="${1:-10}"
SOCKET="${DOCKER_SOCKET:-/var/run/docker.sock}"
API=http://localhost/v1.41
NAME=bench-floor
VOLUME=bench-floor-data
PORT=21090

say() { printf '[bench/engine-floor] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

engine() { curl -sf --max-time 30 --unix-socket "$SOCKET" "$@"; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

docker image inspect acts:latest >/dev/null 2>&1 || die "image acts:latest is missing"
if ss -Hltn "sport = :$PORT" | grep -q .; then die "port $PORT is taken"; fi

cleanup() {
  trap - EXIT INT TERM
  engine -X DELETE "$API/containers/$NAME?force=true" >/dev/null 2>&1 || true
  engine -X DELETE "$API/volumes/$VOLUME" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
trap cleanup EXIT

# What corral's create body holds that matters for speed: host network, the
# shared volume, labels, PORT (runtime/docker_api.cpp has the whole body).
body="{\"Image\":\"acts:latest\",\"Env\":[\"PORT=$PORT\"],\"Labels\":{\"corral.pool\":\"$NAME\"},
\"HostConfig\":{\"NetworkMode\":\"host\",\"Binds\":[\"$VOLUME:/data\"]}}"

BUSY_BEFORE="$(busy_percent 3)"
say "CPU busy before the run: $BUSY_BEFORE% of $(nproc) cores (others' work on this host)"
rows=()
for round in $(seq "$ROUNDS"); do
  t=$(date +%s%N)
  id="$(engine -H 'Content-Type: application/json' -d "$body" "$API/containers/create?name=$NAME" \
        | sed -n 's/.*"Id":"\([0-9a-f]*\)".*/\1/p')"
  [ -n "$id" ] || die "create failed"
  create=$(ms_since "$t")
  t=$(date +%s%N)
  engine -X POST "$API/containers/$id/start" >/dev/null || die "start failed"
  start=$(ms_since "$t")
  t=$(date +%s%N)
  for _ in $(seq 2500); do
    curl -sf -o /dev/null --max-time 0.2 "http://127.0.0.1:$PORT/api/v1/_health" && break
    sleep 0.002
  done
  answer=$(ms_since "$t")
  t=$(date +%s%N)
  engine -X POST "$API/containers/$id/kill?signal=SIGKILL" >/dev/null || die "kill failed"
  kill=$(ms_since "$t")
  t=$(date +%s%N)
  engine -X DELETE "$API/containers/$id?force=true" >/dev/null || die "delete failed"
  delete=$(ms_since "$t")
  rows+=("$create $start $answer $((create + start + answer)) $kill $delete")
  say "round $round: create $create, start $start, start to health answer $answer, kill $kill, delete $delete ms"
done

# min / median / max of column $1 over the rounds.
spread() {
  printf '%s\n' "${rows[@]}" | awk -v c="$1" '{print $c}' | sort -n \
    | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
                           printf "%d | %g | %d", v[1], m, v[NR]}'
}
echo "| engine call ($ROUNDS rounds, ms) | min | median | max |"
echo "|---|---:|---:|---:|"
echo "| POST /containers/create | $(spread 1) |"
echo "| POST /containers/{id}/start (until 204) | $(spread 2) |"
echo "| start 204 → GET /api/v1/_health answers | $(spread 3) |"
echo "| create + start + first answer | $(spread 4) |"
echo "| POST /containers/{id}/kill SIGKILL (until 204) | $(spread 5) |"
echo "| DELETE /containers/{id}?force=true, after the kill | $(spread 6) |"
echo
echo "CPU busy before the run: $BUSY_BEFORE% of $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
