#!/usr/bin/env bash
# docker-compose.yml runs corral as a container: it serves through its proxy,
# and `docker-compose down` (SIGTERM) makes it remove its pool. Uses its own
# pool name and ports, and cleans up on any exit.
set -euo pipefail
root="$1"
# Named like tests/support's unique_name(): swept should this script die.
pool="ctest-compose-$$-0"
proxy=20500
admin=20501
config="$(mktemp /tmp/corral-compose-XXXXXX.toml)"

if ! command -v docker-compose >/dev/null; then
  if [ -n "${CORRAL_REQUIRE_DOCKER:-}" ]; then
    echo "FAIL: docker-compose is not installed (scripts/test installs it)"; exit 1
  fi
  echo "SKIP: docker-compose is not installed"; exit 77
fi

compose() {
  CORRAL_CONFIG="$config" docker-compose -f "$root/docker-compose.yml" -p "$pool" "$@"
}
pool_containers() {
  docker ps -aq --filter "label=corral.pool=$pool"
}
cleanup() {
  compose down --timeout 30 >/dev/null 2>&1 || true
  local leftovers
  leftovers="$(pool_containers)"
  [ -z "$leftovers" ] || docker rm -f $leftovers >/dev/null 2>&1 || true
  docker volume rm "$pool-data" >/dev/null 2>&1 || true
  rm -f "$config"
}
trap cleanup EXIT

cat >"$config" <<TOML
[proxy]
listen = "127.0.0.1:$proxy"
[admin]
listen = "127.0.0.1:$admin"
[pool]
name = "$pool"
start_port = 20510
volume = "$pool-data"
TOML
chmod 644 "$config"

compose up -d >/dev/null 2>&1
code=000
for _ in $(seq 1 100); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$proxy/api/v1/categories" || true)"
  [ "$code" = 204 ] && break
  sleep 0.2
done
if [ "$code" != 204 ]; then
  echo "FAIL: no 204 through corral in a container (last: $code)"
  compose logs --no-color | tail -20
  exit 1
fi
[ -n "$(pool_containers)" ] || { echo "FAIL: no pool container"; exit 1; }

# corral's own container is confined: read-only, no capabilities, and
# no-new-privileges (docker-compose.yml says why it needs no more).
self="$(compose ps -q corral)"
confinement="$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.CapAdd}} {{.HostConfig.SecurityOpt}}' "$self")"
if [ "$confinement" != "true [ALL] [] [no-new-privileges:true]" ]; then
  echo "FAIL: corral's container is not confined as docker-compose.yml says: $confinement"
  exit 1
fi

compose down --timeout 30 >/dev/null 2>&1
if [ -n "$(pool_containers)" ]; then
  echo "FAIL: containers of pool $pool left after docker-compose down"
  exit 1
fi
echo "PASS: corral in a confined container served 204 and removed its pool on down"
