/**
 * The in-container observer: reads `/proc` and the pids cgroup from inside the workload's
 * container and answers what the scenario library reports — zombies grouped by parent, live
 * orphans adopted by PID 1 (or by the init when it is not PID 1), who adopted each orphan, and
 * the session / process group of what is left over.
 *
 * It only reads; it never waits for anything, so it does not disturb reaping. A process can
 * vanish between listing `/proc` and reading it: such reads are skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ObserverSample, ParentClass, ProcInfo } from './types.js';
import { readStat } from '../procfs.js';

/** Who is who in the container: PID 1, the init (when not PID 1) and the workload itself. */
export interface Identity {
  /** The workload's pid. */
  app: number;
  /** The init's pid when the init is not PID 1 (S5), else null. */
  init: number | null;
}

function roleOf(pid: number): string | null {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1');
    const m = /(?:^|\0)RB_ROLE=([^\0]*)/.exec(env);
    return m ? m[1]! : null;
  } catch {
    return null;
  }
}

/** Every process of the PID namespace (zombies included), with its parent classified. */
export function listProcesses(id: Identity): ProcInfo[] {
  const raw: Omit<ProcInfo, 'parent' | 'role'>[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name)); // null: gone between readdir and read
    if (s) raw.push({ pid: s.pid, comm: s.comm, state: s.state, ppid: s.ppid, pgid: s.pgid, sid: s.sid });
  }
  const alive = new Set(raw.filter((p) => p.state !== 'Z' && p.state !== 'X').map((p) => p.pid));
  return raw.map((p) => ({
    ...p,
    role: p.state === 'Z' ? null : roleOf(p.pid),
    parent: classifyParent(p.ppid, id, alive),
  }));
}

/** Class of `ppid`: PID 1, the init (not PID 1), a living app process, or other. */
export function classifyParent(ppid: number, id: Identity, alive: Set<number>): ParentClass {
  if (ppid === 1) return 'pid1';
  if (id.init !== null && ppid === id.init) return 'init';
  if (ppid === id.app || alive.has(ppid)) return 'app';
  return 'other';
}

/** Count processes in state Z (cheap: one read per pid, no environ). */
export function countZombies(): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    if (readStat(Number(name))?.state === 'Z') n++;
  }
  return n;
}

/** The container's pids cgroup files (v1 `/sys/fs/cgroup/pids/`, v2 `/sys/fs/cgroup/`). */
export interface PidsReading {
  current: number | null;
  /** null: unlimited (`max`) or unreadable. */
  max: number | null;
  /** The `max` counter of `pids.events` (rejected forks). */
  eventsMax: number | null;
}

const PIDS_DIRS = ['/sys/fs/cgroup/pids', '/sys/fs/cgroup'];

function readNum(file: string): number | null {
  try {
    const t = readFileSync(file, 'utf8').trim();
    return /^\d+$/.test(t) ? Number(t) : null;
  } catch {
    return null;
  }
}

/** Read `pids.current`, `pids.max` and the `max` event counter. */
export function readPids(): PidsReading {
  for (const dir of PIDS_DIRS) {
    const current = readNum(`${dir}/pids.current`);
    if (current === null) continue;
    let eventsMax: number | null = null;
    try {
      const m = /^max (\d+)$/m.exec(readFileSync(`${dir}/pids.events`, 'utf8'));
      eventsMax = m ? Number(m[1]) : null;
    } catch {
      // no events file
    }
    return { current, max: readNum(`${dir}/pids.max`), eventsMax };
  }
  return { current: null, max: null, eventsMax: null };
}

/** Threads of the calling process (count of `/proc/self/task`). */
export function ownThreads(): number {
  try {
    return readdirSync('/proc/self/task').length;
  } catch {
    return 0;
  }
}

/**
 * A readable name for a live process: its `comm`, except for Node programs, which are named after
 * their script (`ts-reaper` rather than `node`; the scenario bundle is `app` or `stub`).
 */
export function displayName(pid: number, comm: string): string {
  if (comm !== 'node') return comm;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    const i = argv.findIndex((a, k) => k > 0 && !a.startsWith('-'));
    if (i < 0) return comm;
    const script = argv[i]!.replace(/^.*\//, '').replace(/\.[cm]?js$/, '');
    // The scenario bundle is either S5's stub or the app (workload) itself.
    if (script === 'scenario') return argv[i + 1] === 'stub' ? 'stub' : 'app';
    return script;
  } catch {
    return comm;
  }
}

/** Label of an adopter pid for the adopters map: `pid1:tini`, `init:tini`, `app`, `other`. */
export function adopterLabel(ppid: number, id: Identity, comms: Map<number, string>, alive: Set<number>): string {
  const cls = classifyParent(ppid, id, alive);
  if (cls === 'pid1') return `pid1:${comms.get(1) ?? '?'}`;
  if (cls === 'init') return `init:${comms.get(ppid) ?? '?'}`;
  return cls;
}

/** One sample: zombie count and `pids.current`. */
export function sample(t_s: number): ObserverSample {
  return { t_s, zombies: countZombies(), pids_current: readPids().current };
}
