#!/usr/bin/env bash
# Every corral_* name in the alerting rules (expressions and annotations) is one that
# docs/OBSERVABILITY.md promises. promtool cannot see a misspelt metric: the rule's unit
# tests feed it the same spelling, and Prometheus evaluates it to nothing, forever quiet.
set -euo pipefail
root="$1"
rules="$root/contrib/prometheus/corral-alerts.yml"
contract="$root/docs/OBSERVABILITY.md"

status=0
names="$(grep -v '^[[:space:]]*#' "$rules" | grep -oE 'corral_[a-z0-9_]+' | sort -u)"
[ -n "$names" ] || { echo "FAIL: no corral_* metric found in $rules"; exit 1; }
for name in $names; do
  # A histogram's series carry the suffixes; the contract names the histogram.
  base="$(printf '%s' "$name" | sed -E 's/_(bucket|count|sum)$//')"
  if grep -qF "\`$name\`" "$contract" || grep -qF "\`$base\`" "$contract"; then
    echo "ok    $name"
  else
    echo "FAIL  $name: not a metric docs/OBSERVABILITY.md names"
    status=1
  fi
done
exit $status
