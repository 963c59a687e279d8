/**
 * Shutdown of what is left after the main child exits (`--shutdown group|all`): SIGTERM, wait up
 * to the grace period, SIGKILL what remains, wait until it is gone. The wait thread keeps
 * reaping meanwhile, so everything that dies is also reaped before ts-reaper exits.
 */
import { createRequire } from 'node:module';
import { Errno } from '../ffi/errno.js';
import { getpid, kill } from '../ffi/process.js';
import { allStats } from '../procfs/stat.js';
import type { ShutdownMode } from './options.js';

const SIGTERM = 15;
const SIGKILL = 9;
/** How often the group is probed while waiting, milliseconds. */
const POLL_MS = 5;
/** How long to wait after SIGKILL before giving up (processes in uninterruptible sleep), ms. */
const KILL_WAIT_MS = 5000;

/** What to shut down. */
export interface ShutdownPlan {
  /** `group`: the main child's process group; `all`: every descendant. */
  mode: Exclude<ShutdownMode, 'none'>;
  /** Milliseconds between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Process group id of the main child's group (its pid; it was started with its own group). */
  pgid: number;
  /** ts-reaper is PID 1 of its namespace: `kill(-1, …)` then reaches exactly the container. */
  pid1: boolean;
  /** Resolves when ts-reaper has no children left (from the wait thread). */
  noChildren: Promise<void>;
  /** Logs one line (verbose mode) or nothing. */
  log: (line: string) => void;
}

/** How a shutdown went. */
export interface ShutdownReport {
  /** Processes (or groups) that were sent SIGTERM. */
  terminated: number;
  /** Whether SIGKILL was needed after the grace period. */
  killed: boolean;
  /** Whether everything was gone in the end (false: gave up after {@link KILL_WAIT_MS}). */
  complete: boolean;
  /** Duration of the shutdown, milliseconds. */
  elapsedMs: number;
}

/**
 * Pids of all live descendants of `root`, found by reading the parent pid of every process in
 * /proc (works without CONFIG_PROC_CHILDREN). Processes that appear or go while reading are
 * handled by the caller repeating the scan.
 */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const stat of allStats()) {
    if (stat.state === 'Z' || stat.state === 'X') continue; // zombies cannot be signalled, only reaped
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const c of children.get(queue.shift()!) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/**
 * Run the shutdown: SIGTERM, wait up to `graceMs`, SIGKILL, wait up to 5 s. Never throws;
 * failures to signal (ESRCH: already gone) are expected and ignored.
 */
export async function shutdownDescendants(plan: ShutdownPlan): Promise<ShutdownReport> {
  const start = performance.now();
  // Loaded here, when a shutdown starts, not with the module: a built-in required at load time
  // adds to ts-reaper's start-up before the child is spawned (~0.3 ms for this one). `require`
  // rather than `import()` so that the CommonJS bundle does not start the ES module loader.
  const { setTimeout: sleep } = createRequire(import.meta.url)('node:timers/promises') as typeof import('node:timers/promises');
  let childless = false;
  void plan.noChildren.then(() => (childless = true));
  const self = getpid();

  const done = (): boolean => {
    if (childless) return true;
    if (plan.mode === 'group') return kill(-plan.pgid, 0).errno === Errno.ESRCH;
    return false;
  };
  const signal = (sig: number): number => {
    if (plan.mode === 'group') return kill(-plan.pgid, sig).ret === 0 ? 1 : 0;
    if (plan.pid1) return kill(-1, sig).ret === 0 ? 1 : 0;
    let n = 0;
    for (const pid of descendantsOf(self)) if (kill(pid, sig).ret === 0) n++;
    return n;
  };
  const waitDone = async (ms: number): Promise<boolean> => {
    const until = performance.now() + ms;
    while (!done()) {
      const left = until - performance.now();
      if (left <= 0) return false;
      await Promise.race([plan.noChildren, sleep(Math.min(POLL_MS, left))]);
    }
    return true;
  };

  const what = plan.mode === 'group' ? `process group ${plan.pgid}` : plan.pid1 ? 'all processes (kill -1)' : 'all descendants';
  if (done()) return { terminated: 0, killed: false, complete: true, elapsedMs: performance.now() - start };
  const terminated = signal(SIGTERM);
  plan.log(`shutdown: sent SIGTERM to ${what} (${terminated}), grace ${plan.graceMs} ms`);
  if (await waitDone(plan.graceMs)) return { terminated, killed: false, complete: true, elapsedMs: performance.now() - start };

  plan.log(`shutdown: grace period over, sending SIGKILL to ${what}`);
  // Repeat: a process may have forked between a scan and its SIGKILL.
  const until = performance.now() + KILL_WAIT_MS;
  let complete = false;
  while (performance.now() < until) {
    signal(SIGKILL);
    if (await waitDone(50)) {
      complete = true;
      break;
    }
  }
  return { terminated, killed: true, complete, elapsedMs: performance.now() - start };
}
