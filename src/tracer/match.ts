/**
 * The kernel instrument's events → what happened in one container (one PID namespace): each
 * process's exit, reap and reaper, fork failures, zombies over time and by parent. Pure: no I/O,
 * no clock; the same events give the same result.
 *
 * How events are tied together:
 *  - a zombie (exit) and its reap meet on (PID-namespace inode, pid in that namespace): the
 *    exit carries the process's pid at each of its deepest levels, the reap the reaper's
 *    namespace and the pid `wait` returned there (`kernel/exit.c` `wait_task_zombie()` returns
 *    `task_pid_vnr()`, the pid in the caller's namespace). A reap by a host process (the
 *    container's PID 1 reaped by its runtime) returns the host pid;
 *  - fork, exit and free of one process meet on its host pid (unique while it exists);
 *  - a process freed with no reap after it was seen is one the kernel reaped by itself: its
 *    parent ignores SIGCHLD or set SA_NOCLDWAIT (`kernel/signal.c` `do_notify_parent()`
 *    returns autoreap, `kernel/exit.c` `exit_notify()` then calls `release_task()`). With
 *    SIG_IGN no SIGCHLD is generated, so such a process has no exit instant.
 */
import { constants } from 'node:os';
import type { ExitEvent, ForkFailEvent, NsPid, ReapEvent, TracerEvent, TracerStats } from './protocol.js';

/** Which container, and the run's zero. */
export interface MatchOptions {
  /** Inode of the container's PID namespace: `stat -L -c %i /proc/<host pid of its PID 1>/ns/pid`. */
  pidNsInode: number;
  /** The run's t0, CLOCK_MONOTONIC ns (`process.hrtime.bigint()`): every `…Us` field counts from it. */
  t0Ns: bigint;
  /** The loader's closing counts ({@link Trace.stats}); null or absent: unknown (the loader did not close properly). */
  stats?: TracerStats | null;
}

/** How a process's zombie ended. */
export type ProcessOutcome =
  /** a `wait4`/`waitid` returned it */
  | 'reaped'
  /** the kernel released it at exit (parent ignoring SIGCHLD or with SA_NOCLDWAIT): never a zombie */
  | 'autoreaped'
  /** no wait reaped it: still a zombie when the trace ended, or until its parent (the
   * namespace's init) exited and the kernel released it (`kernel/pid_namespace.c`
   * `zap_pid_ns_processes()` reaps in the kernel, with no wait syscall): see `releasedUs` */
  | 'unreaped-at-end';

/** A process (host view and container view) and who it belonged to. */
export interface ProcessRef {
  /** Host pid (tgid). */
  pid: number;
  /** Its pid in the container's namespace, when known (null: outside it, or never seen there). */
  nsPid: number | null;
  /** comm, when known ('' otherwise). */
  comm: string;
}

/** The reaper of one process. */
export interface Reaper extends ProcessRef {
  /** The reaper's PID-namespace level (0: a host process, the container's runtime). */
  level: number;
  /** The call that reaped. */
  call: 'wait4' | 'waitid';
}

/** One process of the container that ended. Times in µs since `t0Ns` (negative: before it). */
export interface ProcessRecord {
  /** Host pid. */
  pid: number;
  /** Pid in the container's namespace (1: its init). */
  nsPid: number | null;
  /** comm at exit (at fork when no exit was seen). */
  comm: string;
  /** Fork instant, µs; null when the process started before the tracer. */
  forkUs: number | null;
  /** Host pid of the parent at fork (`real_parent`); null when the fork was not seen. */
  parentAtFork: number | null;
  /** The parent SIGCHLD went to: the original parent, or the init/subreaper that adopted it (`kernel/exit.c` `forget_original_parent()`). Null: no SIGCHLD (autoreaped with SIG_IGN). */
  parentAtExit: ProcessRef | null;
  /** Re-parented before it exited: the parent at exit is not the parent at fork (both known). */
  orphan: boolean;
  /** Became a zombie (SIGCHLD generated), µs; null when autoreaped without SIGCHLD. */
  exitUs: number | null;
  /** siginfo si_code at exit: 1 CLD_EXITED, 2 CLD_KILLED, 3 CLD_DUMPED; null when no exit was seen. */
  exitCode: number | null;
  /** siginfo si_status: exit status (CLD_EXITED) or signal; null when no exit was seen. */
  exitStatus: number | null;
  /** Reaped (wait returned), µs; null unless `outcome` is `reaped`. */
  reapUs: number | null;
  /** `reapUs − exitUs`: time spent as a zombie, µs (ns resolution); null unless reaped. */
  latencyUs: number | null;
  /** Who reaped it; null unless reaped. */
  reaper: Reaper | null;
  /** Unreaped, and released by the kernel when the process holding it exited (its parent at exit, or the namespace's init that adopted it when that parent died), that exit's instant, µs; null otherwise (still a zombie at the end, or reaped). */
  releasedUs: number | null;
  /** How it ended. */
  outcome: ProcessOutcome;
}

/** A failed clone/clone3/fork/vfork in the container. */
export interface ForkFailure {
  /** µs since t0. */
  us: number;
  /** errno: 11 for EAGAIN (`pids.max`, RLIMIT_NPROC, pid_max). */
  errno: number;
  /** Its name from `os.constants.errno` (`EAGAIN`), `E<n>` when unknown. */
  errnoName: string;
  /** The calling thread's comm. */
  comm: string;
  /** Host pid (tgid) of the caller. */
  pid: number;
  /** The caller's pid in the container's namespace. */
  nsPid: number | null;
  /** The caller's PID-namespace level. */
  level: number;
  /** The call that failed. */
  call: ForkFailEvent['call'];
}

/** The zombie count after a change, µs since t0. */
export interface ZombiePoint {
  /** µs since t0. */
  us: number;
  /** Zombies (exited, not yet reaped) in the container from this instant, count. */
  zombies: number;
}

/** Zombies of one parent (the parent at exit). */
export interface ParentZombies extends ProcessRef {
  /** Its children that became zombies under it, count. */
  zombies: number;
  /** Of those, still zombies at the end, count. */
  unreapedAtEnd: number;
  /** Most of them at once, count. */
  peak: number;
}

/** Everything {@link matchTrace} finds for one container. */
export interface TraceMatch {
  /** Processes of the container that ended (exited or were autoreaped), by exit (or free) time. */
  processes: ProcessRecord[];
  /** Fork failures in the container, by time. */
  forkFailures: ForkFailure[];
  /** The first of them, or null. */
  firstForkFailure: ForkFailure | null;
  /** Zombie count after each change, by time (one point per instant). */
  zombiesOverTime: ZombiePoint[];
  /** Most zombies at once, count. */
  zombiesPeak: number;
  /** Zombies grouped by the parent they were notified to, most first. */
  zombiesByParent: ParentZombies[];
  /** Counts, processes. */
  counts: {
    /** Exits seen (SIGCHLD generated). */
    exits: number;
    reaped: number;
    autoreaped: number;
    unreapedAtEnd: number;
    /** Forked in the container and neither exited nor freed by the end. */
    running: number;
    /** Reaps in the container's namespace with no exit to match: the exit was lost or before the tracer started, or a wait4 reported a stopped/continued child. */
    unmatchedReaps: number;
  };
  /** Events lost in the kernel (ring buffer full), count; null when unknown (the loader did not close properly). A run with lost > 0 or null may miss exits and reaps. */
  lost: number | null;
  /** Processes the kernel side could not track (a pid beyond its table), count; null when unknown. */
  untracked: number | null;
}

let errnoNames: Map<number, string> | undefined;
/** errno → name from Node's table of the platform's <errno.h>. */
function errnoName(n: number): string {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, v] of Object.entries(constants.errno)) if (!errnoNames.has(v)) errnoNames.set(v, name);
  }
  return errnoNames.get(n) ?? `E${n}`;
}

/** Mutable record while matching. */
interface Rec {
  pid: number;
  nsPid: number | null;
  comm: string;
  forkNs: bigint | null;
  parentAtFork: number | null;
  exit: ExitEvent | null;
  reap: ReapEvent | null;
  freed: boolean;
  autoreaped: boolean;
  releasedNs: bigint | null;
  keys: string[];
}

const inNs = (ids: NsPid[], ns: number): number | null => ids.find((i) => i.ns === ns)?.nr ?? null;

/**
 * Match the events of one container.
 * @param events every event the tracer recorded (any order; other containers' events are ignored).
 * @param opts the container's PID namespace, the run's t0 and the loader's stats.
 * @returns per-process records, fork failures, zombie series; see {@link TraceMatch}.
 */
export function matchTrace(events: readonly TracerEvent[], opts: MatchOptions): TraceMatch {
  const { pidNsInode, t0Ns } = opts;
  const us = (ns: bigint): number => Number(ns - t0Ns) / 1000;
  // Time order; the ring buffer is ordered by reservation, which can differ from bpf_ktime by
  // a few hundred ns across CPUs. Stable: equal stamps keep the loader's order.
  const all = [...events].sort((a, b) => (a.tsNs < b.tsNs ? -1 : a.tsNs > b.tsNs ? 1 : 0));
  // A PID namespace's inode number is given to a new namespace once the old one is freed
  // (fs/nsfs.c, the proc inode numbers): one trace may hold two namespaces with this number, the
  // end of an earlier container's and this one. Each begins with the fork of its init (pid 1 in
  // it); this container's is the last such fork at or before t0 (else the first), and its events
  // end at the next one. Without any such fork (a tracer attached late), nothing is left out.
  const births = all.filter((e) => e.type === 'fork' && inNs(e.ids, pidNsInode) === 1).map((e) => e.tsNs);
  const born = births.filter((t) => t <= t0Ns).at(-1) ?? births[0] ?? null;
  const until = born === null ? null : (births.find((t) => t > born) ?? null);
  const ours = (e: TracerEvent): boolean => (born === null || e.tsNs >= born) && (until === null || e.tsNs < until);
  const sorted = born === null ? all : all.filter(ours);

  const recs: Rec[] = [];
  const byHost = new Map<number, Rec>(); // live (not freed) record of each host pid
  const zombies = new Map<string, Rec>(); // "<ns>:<nr>" and "host:<pid>" → exited, not reaped
  const nsPidOf = new Map<number, number>(); // host pid → pid in the container (from any event)
  const commOf = new Map<number, string>();
  const exitNsOf = new Map<number, bigint>(); // host pid → its latest exit (SIGCHLD) instant, any namespace
  const forkFailures: ForkFailure[] = [];
  let unmatchedReaps = 0;

  const newRec = (pid: number, comm: string): Rec => {
    const r: Rec = {
      pid,
      nsPid: null,
      comm,
      forkNs: null,
      parentAtFork: null,
      exit: null,
      reap: null,
      freed: false,
      autoreaped: false,
      releasedNs: null,
      keys: [],
    };
    recs.push(r);
    byHost.set(pid, r);
    return r;
  };

  // When the namespace's init (pid 1 in it) exited, CLOCK_MONOTONIC ns; null until then.
  let pid1ExitNs: bigint | null = null;
  let pid1HostPid: number | null = null;
  // Processes freed with no wait seen; classified after the loop.
  const unreapedFrees: Rec[] = [];
  for (const e of sorted) {
    switch (e.type) {
      case 'fork': {
        const nr = inNs(e.ids, pidNsInode);
        if (nr === null) break;
        nsPidOf.set(e.pid, nr);
        commOf.set(e.pid, e.comm);
        const r = newRec(e.pid, e.comm); // a new process: any older record of this pid was freed
        r.nsPid = nr;
        r.forkNs = e.tsNs;
        r.parentAtFork = e.ppid;
        break;
      }
      case 'exit': {
        const nr = inNs(e.ids, pidNsInode);
        if (nr === null) break;
        nsPidOf.set(e.pid, nr);
        commOf.set(e.pid, e.comm);
        let r = byHost.get(e.pid);
        if (!r || r.exit || r.freed) r = newRec(e.pid, e.comm);
        r.nsPid = nr;
        r.comm = e.comm;
        r.exit = e;
        exitNsOf.set(e.pid, e.tsNs);
        if (nr === 1) {
          pid1ExitNs = e.tsNs;
          pid1HostPid = e.pid;
        }
        r.keys = [...e.ids.map((i) => `${i.ns}:${i.nr}`), `host:${e.pid}`];
        for (const k of r.keys) zombies.set(k, r);
        break;
      }
      case 'reap': {
        if (e.ns === pidNsInode) {
          nsPidOf.set(e.pid, e.nr);
          commOf.set(e.pid, e.comm);
        }
        const r = zombies.get(e.level === 0 ? `host:${e.reaped}` : `${e.ns}:${e.reaped}`);
        if (!r) {
          if (e.ns === pidNsInode) unmatchedReaps++;
          break;
        }
        r.reap = e;
        for (const k of r.keys) zombies.delete(k);
        break;
      }
      case 'free': {
        const r = byHost.get(e.pid);
        if (!r) break;
        byHost.delete(e.pid);
        r.freed = true;
        if (!r.reap) {
          // Released without a wait: decided once every exit is known (below), because the
          // init's own exit event may come after the frees of the zombies it released.
          unreapedFrees.push(r);
          for (const k of r.keys) zombies.delete(k);
        }
        break;
      }
      case 'forkfail': {
        const nr = inNs(e.ids, pidNsInode);
        if (nr === null) break;
        forkFailures.push({
          us: us(e.tsNs),
          errno: e.errno,
          errnoName: errnoName(e.errno),
          comm: e.comm,
          pid: e.pid,
          nsPid: nr,
          level: e.level,
          call: e.call,
        });
        break;
      }
    }
  }

  // Released without a wait: by the kernel at its exit (autoreap), or, still a zombie, when its
  // parent died without reaping it (a namespace's init: every process of the namespace is reaped
  // in the kernel, zap_pid_ns_processes(), before the init's own exit is signalled, so the frees
  // may come before that exit's event). A zombie whose parent was not the init is re-parented to
  // the init when that parent dies (kernel/exit.c forget_original_parent()) and released only
  // when the init exits (or on re-parenting, when the new parent ignores SIGCHLD). So: released
  // at its parent's exit when that parent was the init, else at the init's exit when that came
  // later, else (unknown) at its parent's exit. A parent that never exited released it itself,
  // at once: autoreaped.
  for (const r of unreapedFrees) {
    const exited = r.exit?.tsNs;
    const parentExit = r.exit ? exitNsOf.get(r.exit.ppid) : undefined;
    if (exited !== undefined && parentExit !== undefined && parentExit >= exited) {
      const parentWasInit = r.exit!.ppid === pid1HostPid || nsPidOf.get(r.exit!.ppid) === 1;
      r.releasedNs = !parentWasInit && pid1ExitNs !== null && pid1ExitNs >= parentExit ? pid1ExitNs : parentExit;
    } else r.autoreaped = true;
  }

  const ref = (pid: number, comm?: string): ProcessRef => ({ pid, nsPid: nsPidOf.get(pid) ?? null, comm: comm ?? commOf.get(pid) ?? '' });
  const processes: ProcessRecord[] = [];
  let running = 0;
  for (const r of recs) {
    if (!r.exit && !r.autoreaped) {
      running++;
      continue;
    }
    const outcome: ProcessOutcome = r.reap ? 'reaped' : r.autoreaped ? 'autoreaped' : 'unreaped-at-end';
    const parentAtExit = r.exit ? ref(r.exit.ppid, r.exit.pcomm) : null;
    processes.push({
      pid: r.pid,
      nsPid: r.nsPid,
      comm: r.comm,
      forkUs: r.forkNs === null ? null : us(r.forkNs),
      parentAtFork: r.parentAtFork,
      parentAtExit,
      orphan: r.parentAtFork !== null && parentAtExit !== null && r.parentAtFork !== parentAtExit.pid,
      exitUs: r.exit ? us(r.exit.tsNs) : null,
      exitCode: r.exit?.code ?? null,
      exitStatus: r.exit?.status ?? null,
      reapUs: r.reap ? us(r.reap.tsNs) : null,
      latencyUs: r.reap && r.exit ? Number(r.reap.tsNs - r.exit.tsNs) / 1000 : null,
      reaper: r.reap ? { ...ref(r.reap.pid, r.reap.comm), level: r.reap.level, call: r.reap.call } : null,
      releasedUs: r.releasedNs === null ? null : us(r.releasedNs),
      outcome,
    });
  }
  processes.sort((a, b) => (a.exitUs ?? Infinity) - (b.exitUs ?? Infinity));

  // Zombie intervals: [exit, reap) for reaped processes, [exit, parent's exit) for those the
  // kernel released then, [exit, end) for the others; autoreaped processes never were zombies.
  const steps: Array<{ us: number; d: number; parent: number }> = [];
  for (const p of processes) {
    if (p.outcome === 'autoreaped' || p.exitUs === null || !p.parentAtExit) continue;
    steps.push({ us: p.exitUs, d: 1, parent: p.parentAtExit.pid });
    const end = p.reapUs ?? p.releasedUs;
    if (end !== null) steps.push({ us: end, d: -1, parent: p.parentAtExit.pid });
  }
  steps.sort((a, b) => a.us - b.us || a.d - b.d);
  const zombiesOverTime: ZombiePoint[] = [];
  let n = 0;
  let zombiesPeak = 0;
  const perParent = new Map<number, { now: number; peak: number }>();
  for (const s of steps) {
    n += s.d;
    zombiesPeak = Math.max(zombiesPeak, n);
    const last = zombiesOverTime[zombiesOverTime.length - 1];
    if (last && last.us === s.us) last.zombies = n;
    else zombiesOverTime.push({ us: s.us, zombies: n });
    const pp = perParent.get(s.parent) ?? { now: 0, peak: 0 };
    pp.now += s.d;
    pp.peak = Math.max(pp.peak, pp.now);
    perParent.set(s.parent, pp);
  }
  const byParent = new Map<number, ParentZombies>();
  // A parent is named by the comm it had at most of its children's exits: one that exec'd (a
  // launcher shell that execs a supervisor, which execs a finish script at its end) is named after
  // what it was while it held zombies, not after its first or last one.
  const names = new Map<number, Map<string, number>>();
  for (const p of processes) {
    if (p.outcome === 'autoreaped' || !p.parentAtExit) continue;
    const g = byParent.get(p.parentAtExit.pid) ?? {
      ...p.parentAtExit,
      zombies: 0,
      unreapedAtEnd: 0,
      peak: perParent.get(p.parentAtExit.pid)?.peak ?? 0,
    };
    const counts = names.get(g.pid) ?? new Map<string, number>();
    const n = (counts.get(p.parentAtExit.comm) ?? 0) + 1;
    counts.set(p.parentAtExit.comm, n);
    names.set(g.pid, counts);
    if (p.parentAtExit.comm && n > (counts.get(g.comm) ?? 0)) g.comm = p.parentAtExit.comm;
    g.zombies++;
    if (p.outcome === 'unreaped-at-end') g.unreapedAtEnd++;
    byParent.set(p.parentAtExit.pid, g);
  }

  forkFailures.sort((a, b) => a.us - b.us);
  const count = (o: ProcessOutcome): number => processes.filter((p) => p.outcome === o).length;
  return {
    processes,
    forkFailures,
    firstForkFailure: forkFailures[0] ?? null,
    zombiesOverTime,
    zombiesPeak,
    zombiesByParent: [...byParent.values()].sort((a, b) => b.zombies - a.zombies || a.pid - b.pid),
    counts: {
      exits: processes.filter((p) => p.exitUs !== null).length,
      reaped: count('reaped'),
      autoreaped: count('autoreaped'),
      unreapedAtEnd: count('unreaped-at-end'),
      running,
      unmatchedReaps,
    },
    lost: opts.stats ? opts.stats.lost : null,
    untracked: opts.stats ? opts.stats.untracked : null,
  };
}
