#!/usr/bin/env bash
# What the kernel instrument (src/tracer/, dist/tracer) needs on a Debian/Ubuntu host, for CI and
# for users. Idempotent: installs only what is missing.
#
#   sudo bash scripts/tracer-deps.sh
#
# Build time: clang (the BPF target), bpftool (dumps the kernel's BTF as vmlinux.h and generates
# the loader's skeleton), libbpf-dev, libelf-dev and zlib1g-dev (the loader links libbpf
# statically, which needs libelf and zlib), gcc. Debian packages bpftool on its own; Ubuntu
# ships it in linux-tools-common + linux-tools-$(uname -r).
# Run time: the kernel's BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF), which CO-RE
# relocates the programs against and by which their raw tracepoints are found (no tracefs).
set -euo pipefail

say() { printf 'tracer-deps: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  say "must run as root (sudo bash scripts/tracer-deps.sh): it installs packages"
  exit 1
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
need=()
for p in clang gcc libbpf-dev libelf-dev zlib1g-dev; do installed "$p" || need+=("$p"); done
if ! command -v bpftool >/dev/null 2>&1 || ! bpftool version >/dev/null 2>&1; then
  if apt-cache show bpftool >/dev/null 2>&1; then
    need+=(bpftool)
  else
    need+=(linux-tools-common "linux-tools-$(uname -r)")
  fi
fi
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -r /sys/kernel/btf/vmlinux ]; then
  say "warning: /sys/kernel/btf/vmlinux is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF); the tracer cannot run here"
fi

say "ok: clang $(clang --version | sed -n 's/.*clang version \([0-9.]*\).*/\1/p;q'), $(bpftool version | head -1)"
