#!/usr/bin/env bash
# Run the whole suite (npm test: all three tiers) N times in a row, then once more with both
# CPUs saturated by an unrelated CPU hog, and print one line per run. A suite that is not green
# every time here is a red CI waiting to happen.
#
#   bash scripts/soak-tests.sh            # 10 runs + 1 under load
#   bash scripts/soak-tests.sh 3          # 3 runs + 1 under load
#   SOAK_LOAD=0 bash scripts/soak-tests.sh 5   # no run under load
#
# Logs of each run go to a temporary folder (printed at the end); the exit status is 1 when any
# run failed. Needs what npm test needs: root, the build, and an engine (bash scripts/engine.sh).
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:-10}
load=${SOAK_LOAD:-1}
logs=$(mktemp -d -t reapbench-soak.XXXXXX)
hogs=()
stop_hogs() {
  for p in "${hogs[@]}"; do kill "$p" 2>/dev/null; done
  hogs=()
}
trap 'stop_hogs; exit 130' INT TERM

failed=0
one() { # $1: label
  local log="$logs/$1.log" t0 t1 status line
  t0=$(date +%s)
  npm test >"$log" 2>&1
  status=$?
  t1=$(date +%s)
  line=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
  [ "$status" -eq 0 ] || failed=$((failed + 1))
  printf 'soak: %-10s exit %d  %4d s  %s\n' "$1" "$status" $((t1 - t0)) "${line:-no closing line (see $log)}"
}

for i in $(seq 1 "$runs"); do one "run-$i"; done
if [ "$load" = 1 ]; then
  # One hog per CPU, as an unrelated CI job on the same machine would be.
  for _ in $(seq 1 "$(nproc)"); do
    sha256sum /dev/zero &
    hogs+=($!)
  done
  one "under-load"
  stop_hogs
fi
echo "soak: $failed failed of $((runs + (load == 1 ? 1 : 0))) runs; logs in $logs"
[ "$failed" -eq 0 ]
