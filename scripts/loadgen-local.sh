#!/bin/bash
# Run the load generator once without Docker: in a fresh pids cgroup (v1 or v2) and a new PID
# namespace whose PID 1 is the chosen init, or the load generator itself ("none"). Root only.
#
#   scripts/loadgen-local.sh INIT PIDS_MAX OUT.ndjson [loadgen options...]
#   INIT: none | tini | dumb-init | catatonit | ts-reaper | calib:<delay_ms>
#   e.g. scripts/loadgen-local.sh tini 100000 /tmp/tini.ndjson --rate 1000 --lifetime-ms 2 --duration-s 3
#
# Prints the summary line (stdout of the load generator); the cgroup is removed afterwards.
set -euo pipefail
if [ $# -lt 3 ]; then
  sed -n 2,9p "$0" >&2
  exit 2
fi
init=$1 max=$2 out=$3
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
case $init in
  none) argv=() ;;
  tini) argv=(tini --) ;;
  dumb-init) argv=(dumb-init) ;;
  catatonit) argv=(catatonit --) ;;
  ts-reaper) argv=(node "$root/dist/ts-reaper.cjs" --) ;;
  calib:*) argv=("$root/dist/orphanage" reap "$(( ${init#calib:} * 1000 ))") ;;
  *) echo "unknown init: $init" >&2; exit 2 ;;
esac
name=reapbench-local-$$
if [ -e /sys/fs/cgroup/pids/cgroup.procs ]; then
  cg=/sys/fs/cgroup/pids/$name
else
  grep -qw pids /sys/fs/cgroup/cgroup.subtree_control || echo +pids > /sys/fs/cgroup/cgroup.subtree_control
  cg=/sys/fs/cgroup/$name
fi
mkdir "$cg"
cleanup() {
  for _ in $(seq 200); do [ "$(cat "$cg/pids.current")" = 0 ] && break; sleep 0.05; done
  rmdir "$cg"
}
trap cleanup EXIT
echo "$max" > "$cg/pids.max"
rc=0
sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' sh "$cg" \
  unshare --pid --fork --mount-proc "${argv[@]}" node "$root/dist/loadgen.mjs" "$@" --out "$out" || rc=$?
exit $rc
