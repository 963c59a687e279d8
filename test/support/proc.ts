/**
 * What the kernel says about a process the test started (proc(5)): its children, its zombie
 * children, and whether a signal has reached it. These are the states the tests wait for with
 * `waitFor` (wait.ts), or read at a moment when they are final, instead of sleeping.
 */
import { readFileSync } from 'node:fs';
import { allStats, parseStat } from '../../src/procfs/stat.js';

/** Children of `pid`'s main thread (/proc/<pid>/task/<pid>/children); [] when it is gone. */
export function childrenOf(pid: number): number[] {
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim();
    return text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    return [];
  }
}

/**
 * Host pid of the PID 1 of a namespace made by `unshare --pid --fork`: the only child of the
 * `unshare` process; null until it has forked (or once it is gone).
 */
export function namespaceInitPid(unsharePid: number): number | null {
  return childrenOf(unsharePid)[0] ?? null;
}

/** `PF_EXITING` in the flags field (9) of /proc/<pid>/stat: the process is in `do_exit`. */
const PF_EXITING = 0x4;

/**
 * Why `pid` is not a live process that no signal has reached, or null when it is one: gone, a
 * zombie, exiting, stopped, or with a signal pending. A signal that kills the process is
 * pending (shared: `ShdPnd`; per thread: `SigPnd`) from the moment it is sent until the
 * process is a zombie, and `PF_EXITING` is set on the way, so reading this right after the
 * sender is known to be done is exact: no need to wait and see whether the process dies.
 */
export function signalledOrGone(pid: number): string | null {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return 'gone';
  }
  const state = parseStat(stat)?.state ?? '?';
  if (state === 'Z' || state === 'X') return `state ${state}`;
  if (state === 'T' || state === 't') return `stopped (state ${state})`;
  const flags = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[6]);
  if (flags & PF_EXITING) return 'exiting';
  for (const field of ['SigPnd', 'ShdPnd']) {
    const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
    if (m && BigInt(`0x${m[1]}`) !== 0n) return `${field} ${m[1]}`;
  }
  return null;
}

/** Zombie children of `pid` (state Z and ppid = pid). */
export function zombieChildrenOf(pid: number): number[] {
  return allStats()
    .filter((s) => s.state === 'Z' && s.ppid === pid)
    .map((s) => s.pid);
}
