# Shared by the bench/ scripts. Sourced, not run.

# busy_percent SECONDS: how busy the CPUs were over SECONDS, from /proc/stat.
# Others' work on this host (builds, tests) slows the engine down; the
# number goes into the output so runs on a busy machine are not mistaken
# for corral's own times.
busy_percent() {
  local a b
  read -ra a < <(grep '^cpu ' /proc/stat)
  sleep "$1"
  read -ra b < <(grep '^cpu ' /proc/stat)
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  local idle=$(( b[4] - a[4] + b[5] - a[5] ))
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
