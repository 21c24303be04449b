# Shared by scripts/run, scripts/test and scripts/build-images: installs what is
# missing, starts dockerd when nothing answers, builds incrementally.
# Sourced, not run. Every step says what it does; nothing is done twice.

set -euo pipefail

CORRAL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CORRAL_BUILD="${CORRAL_BUILD:-$CORRAL_ROOT/build}"
DOCKER_SOCKET="${DOCKER_SOCKET:-/var/run/docker.sock}"

say() { printf '[corral] %s\n' "$*" >&2; }
die() { printf '[corral] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages the build, the tests and the images need.
CORRAL_PACKAGES=(
  g++ cmake ninja-build ccache pkg-config curl ca-certificates
  libcaf-dev libboost1.81-dev libboost-json1.81-dev libcurl4-openssl-dev
  libtomlplusplus-dev libgtest-dev libsqlite3-dev docker.io
)

# ensure_packages PKG...: installs the packages that are not installed yet.
ensure_packages() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing with apt-get: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    say "refreshing the package lists first"
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

docker_answers() {
  curl -sf --max-time 2 --unix-socket "$DOCKER_SOCKET" http://localhost/_ping >/dev/null 2>&1
}

# ensure_dockerd: starts dockerd in the background when nothing answers on the
# socket. --bridge=none: no private-range network exists on this machine, and
# every corral container uses host networking anyway. Its output goes to
# /var/log/corral-dockerd.log, which is how tests/integration/
# daemon_restart_test.cpp knows a daemon it may stop and restart (one these
# scripts started) from the host's own.
ensure_dockerd() {
  docker_answers && return 0
  command -v dockerd >/dev/null || die "dockerd is not installed (package docker.io)"
  local log=/var/log/corral-dockerd.log
  say "nothing answers on $DOCKER_SOCKET: starting dockerd in the background (log: $log)"
  # The daemon outlives this script: it gets no descriptor but 0-2, so a
  # lock (flock) or pipe held by whoever ran us is not held for its life.
  as_root bash -c '
    for fd in $(ls /proc/$$/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    exec setsid nohup dockerd --bridge=none --iptables=false </dev/null >>"$1" 2>&1' _ "$log" &
  local i
  for i in $(seq 1 150); do
    docker_answers && { say "dockerd is up"; return 0; }
    sleep 0.2
  done
  tail -n 20 "$log" >&2 || true
  die "dockerd did not answer on $DOCKER_SOCKET within 30 s"
}

# build_corral: configures once, then builds incrementally with ninja.
build_corral() {
  local werror="${CORRAL_WERROR:-OFF}"
  local cache="$CORRAL_BUILD/CMakeCache.txt"
  # Configure once, and again only when the warnings policy changed (CI
  # turns warnings into errors; a developer's build dir may not).
  if [ ! -f "$cache" ] || ! grep -qx "CORRAL_WERROR:BOOL=$werror" "$cache"; then
    say "configuring the build in $CORRAL_BUILD (warnings as errors: $werror)"
    cmake -S "$CORRAL_ROOT" -B "$CORRAL_BUILD" -G Ninja \
      -DCMAKE_BUILD_TYPE="${CORRAL_BUILD_TYPE:-RelWithDebInfo}" \
      -DCORRAL_WERROR="$werror" >/dev/null
  fi
  say "building (incremental)"
  if [ -t 1 ]; then
    # A terminal: ninja keeps its own status line ("[57/183] Building ...")
    # updated in place; errors and warnings scroll above it.
    cmake --build "$CORRAL_BUILD" -j "$(nproc)" -- -k 0 || die "the build failed"
    return 0
  fi
  # A log: one line per tenth of the work instead of one per step; every
  # other line (errors, warnings, "ninja: no work to do.") stays as it is.
  if ! NINJA_STATUS="[%f/%t] " cmake --build "$CORRAL_BUILD" -j "$(nproc)" -- -k 0 \
      | build_progress; then
    die "the build failed"
  fi
}

# build_progress: filters ninja's "[N/M] ..." lines (stdin) down to one
# "[corral] build progress: 30% (55/183 steps)" line each time another tenth
# is done (failed steps count as done: their errors are printed as they come).
# A new total (cmake re-ran and ninja started over) starts the count again.
build_progress() {
  awk '
    /^\[[0-9]+\/[0-9]+\] / {
      split(substr($1, 2, length($1) - 2), n, "/")
      done = n[1] + 0; total = n[2] + 0
      if (total != last_total) { last_total = total; shown = 0 }
      if (total == 0) next
      tenth = int(done * 10 / total)
      if (tenth > shown) {
        shown = tenth
        printf "[corral] build progress: %d%% (%d/%d steps)\n", tenth * 10, done, total
        fflush()
      }
      next
    }
    { print; fflush() }
  '
}

# -- sanitizer builds (scripts/test --sanitize) -------------------------------------

# run_sanitized KIND... -- [CTEST ARGS]: for each KIND (address: ASan + UBSan
# over every suite that needs no Docker, the actors', the proxy's and the
# corral binary's (static_mode_test) included; thread: TSan over the proxy's
# suite, whose io threads and balancer client really run concurrently), configures
# <repo>/build-asan or build-tsan (or $CORRAL_ASAN_BUILD, $CORRAL_TSAN_BUILD)
# once with CORRAL_SANITIZE=KIND, builds only the test executables that run,
# and runs them. Exits with the result.
run_sanitized() {
  local kinds=() ctest_args=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do kinds+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  ctest_args=("$@")
  ensure_packages "${CORRAL_PACKAGES[@]}"
  local werror="${CORRAL_WERROR:-OFF}" kind dir target select failed=()
  for kind in "${kinds[@]}"; do
    case "$kind" in
      address) dir="${CORRAL_ASAN_BUILD:-$CORRAL_ROOT/build-asan}"; target=sanitize_tests; select=(-LE docker) ;;
      thread) dir="${CORRAL_TSAN_BUILD:-$CORRAL_ROOT/build-tsan}"; target=proxy_tests; select=(-L proxy) ;;
    esac
    if [ ! -f "$dir/CMakeCache.txt" ] || ! grep -qx "CORRAL_WERROR:BOOL=$werror" "$dir/CMakeCache.txt"; then
      say "configuring the $kind sanitizer build in $dir"
      cmake -S "$CORRAL_ROOT" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCORRAL_WERROR="$werror" -DCORRAL_SANITIZE="$kind" >/dev/null
    fi
    say "building the tests under the $kind sanitizer ($target)"
    if ! NINJA_STATUS="[%f/%t] " cmake --build "$dir" -j "$(nproc)" --target "$target" -- -k 0 \
        | build_progress; then
      die "the $kind sanitizer build failed"
    fi
    say "running the tests under the $kind sanitizer"
    if ! (cd "$dir" \
          && ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1" \
             UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$CORRAL_ROOT/tests/ubsan.supp" \
             TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$CORRAL_ROOT/tests/tsan.supp" \
             ctest --output-on-failure --timeout 600 "${select[@]}" "${ctest_args[@]}"); then
      failed+=("$kind")
    fi
  done
  [ ${#failed[@]} -eq 0 ] || die "tests failed under the sanitizer(s): ${failed[*]}"
  say "the tests pass under the sanitizer(s): ${kinds[*]}"
  exit 0
}

# -- browser test (tests/browser) -------------------------------------------------

# ensure_browser_deps: what tests/browser needs to drive the Acts page in
# headless Chromium. Debian's `chromium` (with chromium-common and ~25 shared
# libraries: GTK 3, codecs, about 300 MB installed) and `fonts-dejavu-core`
# (legible text in the screenshot) come from apt; Node and npm are used where
# they already are (often /usr/local/bin or /usr/bin), else Debian's `nodejs`
# and `npm`. Then `npm ci` installs the pinned playwright-core, which drives
# /usr/bin/chromium and never downloads a browser of its own.
ensure_browser_deps() {
  if ! command -v chromium >/dev/null; then
    say "tests/browser needs Chromium: installing Debian's chromium, chromium-common and" \
        "about 25 libraries they need (GTK 3, codecs; ~300 MB on disk)"
  fi
  ensure_packages chromium fonts-dejavu-core
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_packages nodejs npm
  fi
  local dir="$CORRAL_ROOT/tests/browser"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    say "installing the browser test's npm packages (npm ci in tests/browser)"
    # Playwright would otherwise fetch its own browser builds; we use Debian's.
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) \
      || die "npm ci in $dir failed"
    touch "$dir/node_modules"
  fi
}

# -- Prometheus (tests/contrib) ------------------------------------------------------

# ensure_prometheus: Debian's `prometheus` package, for `promtool` (tests/contrib checks
# contrib/prometheus and corral's live /metrics with it) and the server that
# tests/integration/prometheus_test.cpp starts itself, on a loopback port and a temporary
# directory of its own. The package also ships a system service listening on :9090, which is
# corral's admin default, and the tests want none of it. Without systemd, invoke-rc.d does not
# start it (no runlevel to start it in, or a policy-rc.d that denies it); where an init system
# did start it, the service just installed is stopped and disabled. A prometheus the machine
# already had is left as it is.
ensure_prometheus() {
  if dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q 'ok installed'; then
    return 0
  fi
  say "tests/contrib needs Debian's prometheus (promtool, and a server the tests run on loopback)"
  ensure_packages prometheus
  if [ -d /run/systemd/system ]; then
    if systemctl --quiet is-active prometheus.service 2>/dev/null; then
      say "stopping the prometheus service the package started on :9090 (corral's admin default)"
    fi
    as_root systemctl disable --now prometheus.service >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/prometheus ]; then
    if /etc/init.d/prometheus status >/dev/null 2>&1; then
      say "stopping the prometheus service the package started on :9090 (corral's admin default)"
      as_root /etc/init.d/prometheus stop >/dev/null 2>&1 || true
    fi
    as_root update-rc.d prometheus disable >/dev/null 2>&1 || true
  fi
}
