/**
 * The pids cgroups of the namespace runtime (./namespace.ts): one per run, which reapbench
 * creates, kills and removes itself (there is no engine to do it).
 *
 * Layout, under the pids hierarchy (v1: `/sys/fs/cgroup/pids`; v2: the unified root, with
 * `+pids` enabled down the path):
 *
 *   reapbench.ns/<run id>.<owner pid>.<owner start ticks>/ns-<run id>-<n>
 *
 * The middle level names the process that owns the runs below it (pid and start time, as the
 * containers' `reapbench.pid`/`reapbench.started` labels do), so that a later run can tell the
 * cgroups of a run whose process is gone (a crash, a kill -9) from those of a run still
 * measuring. The top level is `reapbench.ns`, not `reapbench-…`: the Docker runtime's sweeps
 * remove every `reapbench-*` directory they find in any hierarchy, and must not meet these.
 *
 * Facts (kernel `kernel/cgroup/pids.c`, `kernel/cgroup/cgroup.c`):
 * - writing `0` to `cgroup.procs` moves the writer itself, whatever its PID namespace;
 * - a directory can be removed (rmdir) once no task, zombies included, is charged to it;
 * - killing a PID namespace's init kills every process of the namespace (`zap_pid_ns_processes`
 *   in `kernel/pid_namespace.c`), but a process can still fork while it is being killed, so
 *   the kill is repeated until `cgroup.procs` is empty.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { processStartTicks, RUN_ID } from './cleanup.js';
import { CGROUP_ROOT } from './host-cgroup.js';

/** Name of the top directory of the namespace runtime's cgroups, in the pids hierarchy. */
export const NS_CGROUP_TOP = 'reapbench.ns';

/** Where this host's pids cgroups are, for the namespace runtime. */
export interface NsCgroupLayout {
  /** 1 or 2. */
  version: 1 | 2;
  /** The directory that holds {@link NS_CGROUP_TOP}: `<root>/pids` (v1) or `<root>` (v2). */
  pidsRoot: string;
}

/**
 * The layout of the cgroup filesystem at `root`: v2 when `<root>/cgroup.controllers` exists
 * and lists `pids`, v1 when `<root>/pids` is a pids hierarchy.
 * @returns the layout, or one line saying why there is no usable pids controller.
 */
export function nsCgroupLayout(root = CGROUP_ROOT): NsCgroupLayout | { unusable: string } {
  if (existsSync(`${root}/cgroup.controllers`)) {
    const controllers = readFileSync(`${root}/cgroup.controllers`, 'utf8').split(/\s+/);
    if (!controllers.includes('pids')) return { unusable: `the cgroup v2 root ${root} offers no pids controller` };
    return { version: 2, pidsRoot: root };
  }
  if (existsSync(`${root}/pids/pids.max`) || existsSync(`${root}/pids/cgroup.procs`)) return { version: 1, pidsRoot: `${root}/pids` };
  return { unusable: `no pids cgroup hierarchy at ${root}/pids (cgroup v1) or ${root} (cgroup v2)` };
}

/** The directory name of this process's runs: `<run id>.<pid>.<start ticks>`. */
export function ownerDirName(runId = RUN_ID, pid = process.pid): string {
  return `${runId}.${pid}.${processStartTicks(pid) ?? '0'}`;
}

/** A parsed owner directory name, or null when `name` is not one. */
export function parseOwnerDir(name: string): { runId: string; pid: number; started: string } | null {
  const m = /^([0-9a-f]{12})\.(\d+)\.(\d+)$/.exec(name);
  return m ? { runId: m[1]!, pid: Number(m[2]), started: m[3]! } : null;
}

/** Whether the owner named by `dir` is still running (same pid, same start time). */
export function ownerAlive(dir: { pid: number; started: string }): boolean {
  return processStartTicks(dir.pid) === dir.started;
}

/**
 * Enable the pids controller for the children of `dir` (v2 only; v1 has no such switch).
 * Already enabled is not an error.
 * @throws Error (errno) when the kernel refuses (e.g. a delegated subtree without it).
 */
function enablePids(layout: NsCgroupLayout, dir: string): void {
  if (layout.version !== 2) return;
  const ctl = readFileSync(`${dir}/cgroup.subtree_control`, 'utf8');
  if (!ctl.split(/\s+/).includes('pids')) writeFileSync(`${dir}/cgroup.subtree_control`, '+pids');
}

/**
 * Make the directory chain down to this process's owner directory and return it.
 * @throws Error (the errno of mkdir or of the subtree_control write).
 */
export function ensureOwnerDir(layout: NsCgroupLayout): string {
  const top = `${layout.pidsRoot}/${NS_CGROUP_TOP}`;
  const owner = `${top}/${ownerDirName()}`;
  // Both levels at once: another process may remove an empty top between two separate mkdirs.
  mkdirSync(owner, { recursive: true });
  enablePids(layout, layout.pidsRoot);
  enablePids(layout, top);
  enablePids(layout, owner);
  return owner;
}

/** The pids of `dir`'s `cgroup.procs` (empty when it is gone). */
export function cgroupPids(dir: string): number[] {
  try {
    return readFileSync(`${dir}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Child directories of `dir` (empty when it is gone). */
function children(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `${dir}/${e.name}`);
  } catch {
    return [];
  }
}

/**
 * SIGKILL every process of cgroup `dir` and of its descendants, and repeat until none is left
 * or `timeoutMs` passed (a process may fork between a read of `cgroup.procs` and its kill).
 * @returns how many processes are still listed at the end (0: all gone).
 */
export async function killCgroup(dir: string, timeoutMs = 5_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const all = [dir, ...children(dir).flatMap((c) => [c, ...children(c)])];
    const pids = all.flatMap(cgroupPids);
    if (pids.length === 0) return 0;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    if (performance.now() >= deadline) return pids.length;
    await delay(10);
  }
}

/**
 * Kill what is in cgroup `dir` and remove it with its descendants, retrying rmdir while the
 * kernel still charges exiting tasks to it (EBUSY) for up to `timeoutMs`.
 * @returns null when it is gone, else one line: what is left and what to do.
 */
export async function removeCgroup(dir: string, timeoutMs = 5_000): Promise<string | null> {
  const deadline = performance.now() + timeoutMs;
  await killCgroup(dir, timeoutMs);
  for (;;) {
    let code = '';
    for (const d of depthFirst(dir)) {
      try {
        rmdirSync(d);
      } catch (err) {
        const c = (err as NodeJS.ErrnoException).code ?? 'error';
        if (c !== 'ENOENT') code = c;
      }
    }
    if (!existsSync(dir)) return null;
    if (performance.now() >= deadline) {
      return `cgroup ${dir}: could not be removed (${code || 'still there'}); run reapbench clean --engine namespace`;
    }
    await killCgroup(dir, 0);
    await delay(20);
  }
}

/** `dir` and every directory below it, deepest first (the order rmdir needs). */
function depthFirst(dir: string): string[] {
  return [...children(dir).flatMap(depthFirst), dir];
}

/** What {@link sweepNsCgroups} did. */
export interface NsSweep {
  /** Per-run cgroups that held processes, which were killed (count). */
  killed: number;
  /** Cgroup directories removed, per-run and owner directories (count). */
  cgroups: number;
  /** Run ids they belonged to, sorted. */
  runs: string[];
  /** Runs left alone because their process still runs (count). */
  kept: number;
  /** One line per directory that could not be removed. */
  failures: string[];
}

/**
 * Kill and remove the namespace runtime's cgroups of other runs: with `onlyRunId`, that run's
 * whatever its state; otherwise the runs whose owning process is gone, and, with `force`, also
 * those whose process still runs. This process's own run (`keepRunId`) is never touched.
 * @returns what was removed and kept.
 */
export async function sweepNsCgroups(
  layout: NsCgroupLayout,
  opts: { onlyRunId?: string | null; force?: boolean; keepRunId?: string } = {},
): Promise<NsSweep> {
  const top = `${layout.pidsRoot}/${NS_CGROUP_TOP}`;
  const out: NsSweep = { killed: 0, cgroups: 0, runs: [], kept: 0, failures: [] };
  const runs = new Set<string>();
  for (const ownerDir of children(top)) {
    const name = ownerDir.slice(top.length + 1);
    const owner = parseOwnerDir(name);
    if (!owner) continue;
    if (owner.runId === (opts.keepRunId ?? RUN_ID)) continue;
    if (opts.onlyRunId && owner.runId !== opts.onlyRunId) continue;
    if (!opts.onlyRunId && !opts.force && ownerAlive(owner)) {
      out.kept += 1;
      continue;
    }
    for (const c of children(ownerDir)) {
      if (cgroupPids(c).length > 0) out.killed += 1;
      const left = await removeCgroup(c);
      if (left) out.failures.push(left);
      else out.cgroups += 1;
    }
    const left = await removeCgroup(ownerDir, 1_000);
    if (left) out.failures.push(left);
    else out.cgroups += 1;
    runs.add(owner.runId);
  }
  out.runs = [...runs].sort();
  removeEmptyTop(layout);
  return out;
}

/**
 * rmdir {@link NS_CGROUP_TOP} when no run of any process is under it, so that nothing of
 * reapbench stays in the hierarchy; a process that makes its owner directory meanwhile creates
 * it again ({@link ensureOwnerDir}).
 */
export function removeEmptyTop(layout: NsCgroupLayout): void {
  try {
    rmdirSync(`${layout.pidsRoot}/${NS_CGROUP_TOP}`);
  } catch {
    // in use by another run, or gone
  }
}
