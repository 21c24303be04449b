#!/usr/bin/env bash
# Removes what tests that died (a crash, a ctest timeout) left in the engine:
# the containers of test pools and their volumes, which would hold the fixed
# ports of the next run. A test pool is named by unique_name() in
# tests/support/docker_env.cpp, `ctest-<prefix>-<pid>-<n>`, and is swept only
# when no process <pid> exists any more: a pool not named so (any real one),
# or one of a test still running (another run, another worktree), is never
# touched. Run by CTest as the setup of every docker test (fixture
# docker_swept); without a daemon it has nothing to do.
set -euo pipefail

socket="${DOCKER_SOCKET:-/var/run/docker.sock}"
if ! command -v docker >/dev/null; then
  echo "sweep: no docker CLI; nothing to sweep"
  exit 0
fi
docker=(docker -H "unix://$socket")
if ! "${docker[@]}" version >/dev/null 2>&1; then
  echo "sweep: no daemon answers on $socket; nothing to sweep"
  exit 0
fi

# The pid in a test pool's name when that test process is gone; fails otherwise.
dead_test_pid() {
  local name="$1"
  [[ "$name" =~ ^ctest-[a-z0-9.-]+-([0-9]+)-[0-9]+($|-) ]] || return 1
  local pid="${BASH_REMATCH[1]}"
  [ ! -d "/proc/$pid" ]
}

swept=0
while read -r id pool name; do
  [ -n "$id" ] || continue
  if dead_test_pid "$pool"; then
    echo "sweep: removing container $name of test pool $pool (its test is gone)"
    "${docker[@]}" rm -f "$id" >/dev/null || echo "sweep: could not remove $name"
    swept=$((swept + 1))
  fi
done < <("${docker[@]}" ps -a --filter label=corral.pool \
           --format '{{.ID}} {{.Label "corral.pool"}} {{.Names}}')

while read -r volume; do
  [ -n "$volume" ] || continue
  if dead_test_pid "$volume"; then
    echo "sweep: removing volume $volume (its test is gone)"
    "${docker[@]}" volume rm -f "$volume" >/dev/null || echo "sweep: could not remove $volume"
    swept=$((swept + 1))
  fi
done < <("${docker[@]}" volume ls -q)

echo "sweep: $swept left-overs of dead tests removed"
