/**
 * The in-container observer: reads `/proc` and the pids cgroup from inside the workload's
 * container (through src/procfs/, the readers the load generator uses too) and answers what the scenario library reports — zombies grouped by parent, live
 * orphans adopted by PID 1 (or by the init when it is not PID 1), who adopted each orphan, and
 * the session / process group of what is left over.
 *
 * It only reads; it never waits for anything, so it does not disturb reaping. A process can
 * vanish between listing `/proc` and reading it: such reads are skipped.
 */
import { locatePidsCgroup, readPids, type PidsCgroup, type PidsReading } from '../procfs/pids-cgroup.js';
import { readCmdline, readEnviron } from '../procfs/process.js';
import { countZombies } from '../procfs/scan.js';
import { allStats } from '../procfs/stat.js';
import type { ObserverSample, ParentClass, ProcInfo } from './types.js';

/** Who is who in the container: PID 1, the init (when not PID 1) and the workload itself. */
export interface Identity {
  /** The workload's pid. */
  app: number;
  /** The init's pid when the init is not PID 1 (S5), else null. */
  init: number | null;
}

/** The `RB_ROLE` the workload gave a process in its environment, or null. */
function roleOf(pid: number): string | null {
  const env = readEnviron(pid);
  const m = env === null ? null : /(?:^|\0)RB_ROLE=([^\0]*)/.exec(env);
  return m ? m[1]! : null;
}

/** Every process of the PID namespace (zombies included), with its parent classified. */
export function listProcesses(id: Identity): ProcInfo[] {
  const raw = allStats().map(({ pid, comm, state, ppid, pgid, sid }) => ({ pid, comm, state, ppid, pgid, sid }));
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

let pidsCgroup: PidsCgroup | null | undefined;

/**
 * The container's pids cgroup files (`pids.current`, `pids.max`, the `max` event counter), from
 * the cgroup this process is in, located on first use (procfs/pids-cgroup.ts); nulls when there is
 * none.
 */
export function containerPids(): PidsReading {
  if (pidsCgroup === undefined) pidsCgroup = locatePidsCgroup().cgroup;
  return pidsCgroup ? readPids(pidsCgroup) : { current: null, max: null, eventsMax: null };
}

/**
 * A readable name for a live process: its `comm`, except for Node programs, which are named after
 * their script (`ts-reaper` rather than `node`; the scenario bundle is `app` or `stub`).
 */
export function displayName(pid: number, comm: string): string {
  if (comm !== 'node') return comm;
  const argv = readCmdline(pid) ?? [];
  const i = argv.findIndex((a, k) => k > 0 && !a.startsWith('-'));
  if (i < 0) return comm;
  const script = argv[i]!.replace(/^.*\//, '').replace(/\.[cm]?js$/, '');
  // The scenario bundle is either S5's stub or the app (workload) itself.
  if (script === 'scenario') return argv[i + 1] === 'stub' ? 'stub' : 'app';
  return script;
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
  return { t_s, zombies: countZombies(), pids_current: containerPids().current };
}
