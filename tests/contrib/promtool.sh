#!/usr/bin/env bash
# `promtool.sh DIR ARGS...` runs `promtool ARGS...` in DIR (contrib/prometheus, whose files
# name each other by relative path). Without promtool it skips (77), unless
# CORRAL_REQUIRE_DOCKER says that nothing may skip: scripts/test installs it.
set -euo pipefail
dir="$1"
shift

if ! command -v promtool >/dev/null; then
  # As tests/support/docker_env.cpp reads it: set and not "0".
  if [ -n "${CORRAL_REQUIRE_DOCKER:-}" ] && [ "$CORRAL_REQUIRE_DOCKER" != 0 ]; then
    echo "FAIL: promtool is not installed (Debian's prometheus package; scripts/test installs it)"
    exit 1
  fi
  echo "SKIP: promtool is not installed (Debian's prometheus package)"
  exit 77
fi

cd "$dir"
exec promtool "$@"
