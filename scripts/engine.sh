#!/usr/bin/env bash
# Make sure a Docker engine answers on /var/run/docker.sock, for CI and for users on
# Debian/Ubuntu hosts. Idempotent: an engine that already answers is left alone.
#
#   sudo bash scripts/engine.sh          # install what is missing, start dockerd, wait for a ping
#   ENGINE_TIMEOUT_S=90 bash scripts/engine.sh
#
# What it installs (Debian packages): docker.io (the engine), and the init binaries that the
# offline base image is assembled from: tini, dumb-init, catatonit, busybox-static; and the
# programs of the opt-in PID 1 rows (src/images/rootfs.ts OPTIONAL_PACKAGES): python3-minimal
# (none:python; Debian's /usr/bin/python3, never a pyenv or venv one), bash (none:bash),
# supervisor, s6, runit (the supervisors). supervisor's and runit's install scripts would start
# their daemons on this host: a policy-rc.d that refuses (exit 101, invoke-rc.d's "action
# forbidden") is put in place for the install when the host has none, and removed after.
# Why the stale-pid-file handling: a dockerd killed from outside can linger as a zombie, and
# its pid file then names a pid that still "exists"; a new dockerd refuses to start
# ("pid file found, ensure docker is not running"). A pid file whose process is gone or in
# state Z is stale and is removed here.
set -euo pipefail

SOCK=/var/run/docker.sock
PIDFILE=/var/run/docker.pid
TIMEOUT_S=${ENGINE_TIMEOUT_S:-60}
# The log file is made only when the engine is started here (none for an engine that answers).
LOG=${ENGINE_LOG:-}
new_log() { [ -n "$LOG" ] || LOG=$(mktemp -t reapbench-dockerd.XXXXXX.log); }

say() { printf 'engine: %s\n' "$*" >&2; }

# Whether pid $1 is a live process: it exists and is not a zombie (Z) or dead (X).
alive() {
  local state
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# A dockerd that is running (a zombie dockerd, as left by a kill from outside, does not count).
dockerd_alive() {
  local pid
  for pid in $(pgrep -x dockerd 2>/dev/null); do
    alive "$pid" && return 0
  done
  return 1
}

ping_engine() {
  # The Engine API answers GET /_ping with "OK"; curl may be absent, so use node.
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
# The engine is needed only when none answers; the init packages always (offline base image).
command -v dockerd >/dev/null 2>&1 || ping_engine || need_pkgs+=(docker.io)
for p in tini dumb-init catatonit busybox-static python3-minimal bash supervisor s6 runit; do
  installed "$p" || need_pkgs+=("$p")
done

if [ ${#need_pkgs[@]} -gt 0 ] && [ "$(id -u)" -ne 0 ]; then
  # Not root: nothing can be installed. Without an engine that is the end; with one, only the
  # offline base image's packages are missing, and the engine is checked all the same.
  case " ${need_pkgs[*]} " in
    *" docker.io "*)
      say "missing ${need_pkgs[*]}: run this script as root (sudo bash scripts/engine.sh) or install them with apt-get"
      exit 1
      ;;
  esac
  say "warning: missing ${need_pkgs[*]}: the offline base image lacks them (install them as root: sudo bash scripts/engine.sh, or with apt-get); checking the engine all the same"
  need_pkgs=()
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing ${need_pkgs[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  if [ "$(trap -p EXIT)" != "" ]; then rm -f "$policy"; trap - EXIT; fi
fi

if ping_engine; then
  say "an engine already answers on $SOCK"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  say "no engine answers on $SOCK and starting dockerd needs root: run sudo bash scripts/engine.sh"
  exit 1
fi

# Stale pid files: dockerd's, and that of the containerd it manages (dockerd trusts a
# containerd.pid whose pid "exists", even as a zombie, then times out connecting to it).
remove_stale_pidfile() {
  local file=$1 oldpid
  [ -f "$file" ] || return 0
  oldpid=$(cat "$file" 2>/dev/null || true)
  if [ -z "$oldpid" ] || ! alive "$oldpid"; then
    say "removing stale $file (pid ${oldpid:-?}: gone or a zombie)"
    rm -f "$file"
  fi
}
if ! dockerd_alive; then
  remove_stale_pidfile "$PIDFILE"
  remove_stale_pidfile /var/run/docker/containerd/containerd.pid
fi
# A socket file left by a dead engine makes clients hang on connect errors; remove it.
if [ -S "$SOCK" ] && ! ping_engine && ! dockerd_alive; then
  rm -f "$SOCK"
fi
if ! dockerd_alive; then
  new_log
  say "starting dockerd (log: $LOG)"
  # setsid: the engine must outlive this script and not get the caller's terminal signals.
  setsid dockerd >"$LOG" 2>&1 </dev/null &
fi

started=$(date +%s)
deadline=$(( started + TIMEOUT_S ))
until ping_engine; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    say "dockerd did not answer within ${TIMEOUT_S}s; its log follows"
    [ -n "$LOG" ] && tail -n 60 "$LOG" >&2 || true
    exit 1
  fi
  # A dockerd that died at once (stale pid file race, bad config): retry after cleanup. Give a
  # fresh start 2 s to show up in the process table before calling it dead.
  if [ "$(date +%s)" -ge "$((started + 2))" ] && ! dockerd_alive; then
    remove_stale_pidfile "$PIDFILE"
    remove_stale_pidfile /var/run/docker/containerd/containerd.pid
    say "dockerd exited; retrying"
    new_log
    setsid dockerd >>"$LOG" 2>&1 </dev/null &
    started=$(date +%s)
  fi
  sleep 0.5
done
say "engine is up ($(node -e 'console.log(require("node:os").release())') kernel)${LOG:+, log: $LOG}"
