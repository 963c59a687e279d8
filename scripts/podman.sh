#!/usr/bin/env bash
# Make sure Podman's Docker-compatible API answers on /run/podman/podman.sock, for CI and for
# users on Debian/Ubuntu hosts (reapbench run --engine podman). Idempotent: a service that
# already answers is left alone. Needs root (rootful Podman: the pids cgroup and the kernel
# instrument need the host's view).
#
#   sudo bash scripts/podman.sh          # install podman if missing, start its service, wait for a ping
#
# The service reads scripts/podman-containers.conf (CONTAINERS_CONF), which says why each
# setting is there; the inits and busybox for the offline base come from scripts/engine.sh's
# package list, installed here too.
set -euo pipefail

SOCK=/run/podman/podman.sock
TIMEOUT_S=${ENGINE_TIMEOUT_S:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
# The log file is made only when the engine is started here (none for an engine that answers).
LOG=${PODMAN_LOG:-}
new_log() { [ -n "$LOG" ] || LOG=$(mktemp -t reapbench-podman.XXXXXX.log); }

say() { printf 'podman: %s\n' "$*" >&2; }

ping_engine() {
  node -e '
    const http = require("node:http");
    const req = http.request({ socketPath: process.argv[1], path: "/_ping", timeout: 2000 }, (res) => {
      let body = ""; res.on("data", (d) => (body += d));
      res.on("end", () => process.exit(res.statusCode === 200 && body.trim() === "OK" ? 0 : 1));
    });
    req.on("error", () => process.exit(1)); req.on("timeout", () => { req.destroy(); process.exit(1); });
    req.end();' "$SOCK" 2>/dev/null
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
need_pkgs=()
command -v podman >/dev/null 2>&1 || need_pkgs+=(podman)
for p in tini dumb-init catatonit busybox-static; do installed "$p" || need_pkgs+=("$p"); done

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing ${need_pkgs[*]}: run this script as root (sudo bash scripts/podman.sh) or install them with apt-get"
    exit 1
  fi
  say "installing ${need_pkgs[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # With its recommended packages: they bring netavark, the network backend the engine tests
  # were run with here (without them Podman falls back to the CNI plugins).
  apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ping_engine; then
  say "Podman's service already answers on $SOCK"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  say "no service answers on $SOCK and starting it needs root: run sudo bash scripts/podman.sh"
  exit 1
fi

mkdir -p "$(dirname "$SOCK")"
# A socket file left by a dead service makes clients fail on connect: remove it.
[ -S "$SOCK" ] && rm -f "$SOCK"
new_log
say "starting podman system service (log: $LOG)"
# setsid: the service must outlive this script and not get the caller's terminal signals.
# --time=0: it never exits for idleness.
CONTAINERS_CONF="$HERE/podman-containers.conf" setsid podman system service --time=0 "unix://$SOCK" >"$LOG" 2>&1 </dev/null &

deadline=$(( $(date +%s) + TIMEOUT_S ))
until ping_engine; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "Podman's service did not answer within ${TIMEOUT_S}s; its log follows"
    tail -n 60 "$LOG" >&2 || true
    exit 1
  fi
  sleep 0.5
done
say "Podman $(podman --version | awk '{print $3}') answers on $SOCK (log: $LOG)"
