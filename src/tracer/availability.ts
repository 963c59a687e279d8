/**
 * Can the kernel instrument run here? Checked before a run so that the harness can fall back to
 * the in-container pidfd watcher with one line that says why, instead of failing half-way.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The answer: available, or not with a one-line reason that says what to do. */
export type TracerAvailability = { available: true } | { available: false; reason: string };

/** Where the checks look; every field has the real system's default (overridable for tests). */
export interface AvailabilityProbe {
  /** The loader binary (default: {@link tracerBinaryPath}). */
  binary?: string;
  /** Kernel BTF (default `/sys/kernel/btf/vmlinux`). */
  btf?: string;
  /** `/proc/self/status`, for the effective capabilities (`CapEff`). */
  procStatus?: string;
  /** The effective uid (default `process.geteuid()`). */
  euid?: number;
  /** `uname -r` (default `os.release()`). */
  release?: string;
}

/** Capability numbers (include/uapi/linux/capability.h): CAP_PERFMON 38, CAP_BPF 39 (Linux ≥ 5.8), CAP_SYS_ADMIN 21. */
const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/**
 * Path of the loader: `$REAPBENCH_TRACER`, else `dist/tracer` seen from the compiled module
 * (`dist/src/tracer/` → `dist/tracer`) or from the source (`src/tracer/` → `dist/tracer`).
 * The first that exists; the compiled-module one when none does.
 */
export function tracerBinaryPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.REAPBENCH_TRACER, path.join(here, '../../tracer'), path.join(here, '../../dist/tracer')].filter(
    (c): c is string => !!c,
  );
  return candidates.find((c) => existsSync(c)) ?? candidates[0]!;
}

/** Effective capability set from /proc/self/status (`CapEff:` hex), or 0n if unreadable. */
function capEff(procStatus: string): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(procStatus, 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

/**
 * Whether the kernel instrument can run here, checked in the order a user fixes them:
 * binary built → kernel ≥ 5.8 (BPF ring buffer, `kernel/bpf/ringbuf.c`) → BTF present (CO-RE,
 * `CONFIG_DEBUG_INFO_BTF`) → privileges (root, or CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN:
 * `kernel/bpf/syscall.c` `bpf_prog_load()` wants CAP_BPF, and tracing programs CAP_PERFMON) →
 * lockdown not `confidentiality` (`security/lockdown`: it forbids reading kernel memory, which
 * every program here does). tracefs is not needed: every program is a BTF-typed raw tracepoint,
 * attached by the BTF id of the tracepoint rather than by a tracefs event id.
 * It does not load anything: a check that passes can still be followed by a load error, which
 * {@link startTracer} reports with the loader's own one line.
 * @returns `{ available: true }` or `{ available: false, reason }`, `reason` one line starting
 *   `unavailable:` and saying what to do.
 */
export function tracerAvailability(probe: AvailabilityProbe = {}): TracerAvailability {
  const no = (reason: string): TracerAvailability => ({ available: false, reason: `unavailable: ${reason}` });
  if (process.platform !== 'linux') return no(`eBPF tracing needs Linux (this is ${process.platform})`);
  const binary = probe.binary ?? tracerBinaryPath();
  if (!existsSync(binary)) return no(`not built (run scripts/tracer-deps.sh as root, then npm run build): ${binary} is missing`);
  const release = probe.release ?? os.release();
  const [major = 0, minor = 0] = release.split('.').map((p) => parseInt(p, 10));
  if (major < 5 || (major === 5 && minor < 8)) return no(`kernel ${release} is older than 5.8 (no BPF ring buffer): use a newer kernel`);
  const btf = probe.btf ?? '/sys/kernel/btf/vmlinux';
  if (!existsSync(btf))
    return no(`no kernel BTF at ${btf}: needs a kernel built with CONFIG_DEBUG_INFO_BTF (Ubuntu ≥ 20.10, Debian ≥ 11 have it)`);
  const euid = probe.euid ?? process.geteuid?.() ?? -1;
  if (euid !== 0) {
    const caps = capEff(probe.procStatus ?? '/proc/self/status');
    const has = (c: bigint): boolean => ((caps >> c) & 1n) === 1n;
    if (!has(CAP_SYS_ADMIN) && !(has(CAP_BPF) && has(CAP_PERFMON)))
      return no(`loading eBPF programs needs root, or CAP_BPF and CAP_PERFMON (running as uid ${euid} without them): run as root`);
  }
  try {
    if (/\[confidentiality\]/.test(readFileSync('/sys/kernel/security/lockdown', 'utf8')))
      return no('kernel lockdown is "confidentiality", which forbids eBPF reads of kernel memory: boot with lockdown=integrity or none');
  } catch {
    // no lockdown LSM: nothing forbids it
  }
  return { available: true };
}
