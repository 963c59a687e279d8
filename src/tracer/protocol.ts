/**
 * The loader's output (dist/tracer, src/tracer/native/tracer.c): one text line per kernel event,
 * parsed here into typed events. Pure: no I/O.
 *
 * Grammar (space-separated; `t_ns` CLOCK_MONOTONIC ns from `bpf_ktime_get_ns()`, the clock of
 * Node's `process.hrtime.bigint()`; pids are host pids unless said otherwise; a comm escapes
 * bytes ≤ 0x20, ≥ 0x7f and `\` as `\xHH`; `ns:nr` is a PID-namespace inode and the task's pid
 * in it, outermost level first, the last one at `level`):
 *
 *   ready <t_ns>
 *   exit <t_ns> <pid> <comm> <ppid> <pcomm> <si_code> <si_status> <level> <ns:nr>...
 *   reap <t_ns> <pid> <comm> <ns> <nr> <level> <reaped> <wait4|waitid>
 *   fork <t_ns> <pid> <ppid> <comm> <level> <ns:nr>...
 *   free <t_ns> <pid> <comm>
 *   forkfail <t_ns> <pid> <tid> <comm> <errno> <clone|clone3|fork|vfork> <level> <ns:nr>...
 *   stats events=<n> lost=<n> untracked=<n>
 */

/** One PID-namespace level of a task: the namespace (inode of `/proc/<pid>/ns/pid`) and the pid there. */
export interface NsPid {
  /** PID-namespace inode number (`stat -L /proc/<pid>/ns/pid`, or the number in `readlink`'s `pid:[N]`). */
  ns: number;
  /** The task's pid as seen in that namespace. */
  nr: number;
}

/**
 * A process became a zombie: the kernel generated SIGCHLD for its parent (`kernel/exit.c`
 * `exit_notify()` → `kernel/signal.c` `do_notify_parent()`, tracepoint `signal:signal_generate`
 * with sig 17 and si_code CLD_EXITED/KILLED/DUMPED). Reported for processes in a non-initial
 * PID namespace only. Not reported when the parent ignores SIGCHLD (`SIG_IGN`): the kernel then
 * reaps at once and sends nothing (see {@link FreeEvent}).
 */
export interface ExitEvent {
  type: 'exit';
  /** CLOCK_MONOTONIC, ns. */
  tsNs: bigint;
  /** Host pid (tgid) of the exiting process. */
  pid: number;
  /** Its comm (at most 15 bytes; the name after the last exec). */
  comm: string;
  /** Host pid of the parent the signal goes to (after any re-parenting: the reaper-to-be). */
  ppid: number;
  /** The parent's comm. */
  pcomm: string;
  /** siginfo si_code: 1 CLD_EXITED, 2 CLD_KILLED, 3 CLD_DUMPED. */
  code: number;
  /** siginfo si_status: the exit code (CLD_EXITED) or the signal number (killed, dumped). */
  status: number;
  /** The process's PID-namespace level (0 = the host's namespace). */
  level: number;
  /** Its pid at the deepest levels (up to 4), outermost first; the last is at `level`. */
  ids: NsPid[];
}

/**
 * A zombie was reaped: `wait4` returned a pid > 0, or `waitid` without WNOWAIT filled
 * a siginfo with an exited child (both seen at the raw `sys_exit` tracepoint);
 * `kernel/exit.c` `wait_task_zombie()` → `release_task()`. A wait4 that reported a stopped or
 * continued child (WUNTRACED, WCONTINUED) is reported too (telling it apart would cost a
 * program on every wait4's entry): {@link matchTrace} finds no zombie for it and drops it. Reported when the reaper is in a non-initial PID namespace, or when it is a
 * host process reaping a namespaced process the tracer saw exit (a container's PID 1 reaped by
 * its runtime).
 */
export interface ReapEvent {
  type: 'reap';
  /** CLOCK_MONOTONIC, ns: the syscall's return. */
  tsNs: bigint;
  /** Host pid (tgid) of the reaper. */
  pid: number;
  /** The reaper's comm (of the thread that called wait). */
  comm: string;
  /** Inode of the reaper's own PID namespace. */
  ns: number;
  /** The reaper's pid in its own namespace (1: the namespace's init). */
  nr: number;
  /** The reaper's PID-namespace level. */
  level: number;
  /** The reaped pid as wait returned it: in the reaper's namespace `ns`. */
  reaped: number;
  /** Which call reaped. */
  call: 'wait4' | 'waitid';
}

/** A new process (a new thread group, not a thread) in a non-initial PID namespace (`sched:sched_process_fork`, `kernel/fork.c` `kernel_clone()`). */
export interface ForkEvent {
  type: 'fork';
  /** CLOCK_MONOTONIC, ns. */
  tsNs: bigint;
  /** Host pid of the new process. */
  pid: number;
  /** Host pid (tgid) of its parent (`real_parent`: with CLONE_PARENT, the caller's parent). */
  ppid: number;
  /** comm at fork (the parent's, until the child execs). */
  comm: string;
  /** PID-namespace level of the new process. */
  level: number;
  /** Its pid at the deepest levels, outermost first. */
  ids: NsPid[];
}

/**
 * A namespaced process's task_struct was freed (`sched:sched_process_free`, `kernel/exit.c`
 * `delayed_put_task_struct()`, an RCU grace period after `release_task()`: 4–32 ms late here).
 * Only its pid is readable by then; used to see processes the kernel reaped by itself.
 */
export interface FreeEvent {
  type: 'free';
  /** CLOCK_MONOTONIC, ns. */
  tsNs: bigint;
  /** Host pid. */
  pid: number;
  /** comm. */
  comm: string;
}

/** clone/clone3/fork/vfork returned an error in a non-initial PID namespace (raw `sys_exit` tracepoint; EAGAIN at `pids.max`: `kernel/cgroup/pids.c` `pids_can_fork()`). */
export interface ForkFailEvent {
  type: 'forkfail';
  /** CLOCK_MONOTONIC, ns. */
  tsNs: bigint;
  /** Host pid (tgid) of the caller. */
  pid: number;
  /** Host tid of the calling thread. */
  tid: number;
  /** The calling thread's comm. */
  comm: string;
  /** errno (positive): 11 EAGAIN, 12 ENOMEM, … */
  errno: number;
  /** The system call that failed (`pthread_create` is clone3 in glibc ≥ 2.34). */
  call: 'clone' | 'clone3' | 'fork' | 'vfork';
  /** PID-namespace level of the caller. */
  level: number;
  /** The caller's pid at the deepest levels, outermost first. */
  ids: NsPid[];
}

/** Any event of the kernel instrument. */
export type TracerEvent = ExitEvent | ReapEvent | ForkEvent | FreeEvent | ForkFailEvent;

/** The loader's closing line: what it printed and what the kernel side could not hand over. */
export interface TracerStats {
  /** Event lines printed. */
  events: number;
  /** Events lost: ring-buffer reservations that failed (the buffer was full). */
  lost: number;
  /** Processes the kernel side could not remember (a pid beyond its table, which covers every possible pid): their free, and a host reaper's wait for them, are not reported. */
  untracked: number;
}

/** One parsed line. */
export type TracerLine = { kind: 'ready'; tsNs: bigint } | { kind: 'event'; event: TracerEvent } | { kind: 'stats'; stats: TracerStats };

/** Undo the loader's `\xHH` escapes of a comm. */
export function unescapeComm(s: string): string {
  return s.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => (h === '00' ? '' : String.fromCharCode(parseInt(h, 16))));
}

const int = (s: string | undefined): number => {
  if (s === undefined || !/^-?\d+$/.test(s)) throw new Error(`not an integer: ${String(s)}`);
  return Number(s);
};
const ns = (s: string | undefined): bigint => {
  if (s === undefined || !/^\d+$/.test(s)) throw new Error(`not a timestamp: ${String(s)}`);
  return BigInt(s);
};
const ids = (fields: string[]): NsPid[] =>
  fields.map((f) => {
    const [a, b] = f.split(':');
    return { ns: int(a), nr: int(b) };
  });
const CALLS = new Set(['clone', 'clone3', 'fork', 'vfork']);

/**
 * Parse one line of the loader's stdout (grammar above).
 * @returns the line's meaning.
 * @throws Error `tracer: cannot parse line "<line>": <why>` for a line outside the grammar
 *   (a loader and a parser from different builds).
 */
export function parseTracerLine(line: string): TracerLine {
  const f = line.trimEnd().split(' ');
  try {
    switch (f[0]) {
      case 'ready':
        return { kind: 'ready', tsNs: ns(f[1]) };
      case 'exit':
        return {
          kind: 'event',
          event: {
            type: 'exit',
            tsNs: ns(f[1]),
            pid: int(f[2]),
            comm: unescapeComm(f[3] ?? ''),
            ppid: int(f[4]),
            pcomm: unescapeComm(f[5] ?? ''),
            code: int(f[6]),
            status: int(f[7]),
            level: int(f[8]),
            ids: ids(f.slice(9)),
          },
        };
      case 'reap': {
        const call = f[8];
        if (call !== 'wait4' && call !== 'waitid') throw new Error(`unknown call ${String(call)}`);
        return {
          kind: 'event',
          event: {
            type: 'reap',
            tsNs: ns(f[1]),
            pid: int(f[2]),
            comm: unescapeComm(f[3] ?? ''),
            ns: int(f[4]),
            nr: int(f[5]),
            level: int(f[6]),
            reaped: int(f[7]),
            call,
          },
        };
      }
      case 'fork':
        return {
          kind: 'event',
          event: {
            type: 'fork',
            tsNs: ns(f[1]),
            pid: int(f[2]),
            ppid: int(f[3]),
            comm: unescapeComm(f[4] ?? ''),
            level: int(f[5]),
            ids: ids(f.slice(6)),
          },
        };
      case 'free':
        return { kind: 'event', event: { type: 'free', tsNs: ns(f[1]), pid: int(f[2]), comm: unescapeComm(f[3] ?? '') } };
      case 'forkfail': {
        const call = f[6] ?? '';
        if (!CALLS.has(call)) throw new Error(`unknown call ${call}`);
        return {
          kind: 'event',
          event: {
            type: 'forkfail',
            tsNs: ns(f[1]),
            pid: int(f[2]),
            tid: int(f[3]),
            comm: unescapeComm(f[4] ?? ''),
            errno: int(f[5]),
            call: call as ForkFailEvent['call'],
            level: int(f[7]),
            ids: ids(f.slice(8)),
          },
        };
      }
      case 'stats': {
        const kv = new Map(f.slice(1).map((p) => p.split('=') as [string, string]));
        return { kind: 'stats', stats: { events: int(kv.get('events')), lost: int(kv.get('lost')), untracked: int(kv.get('untracked')) } };
      }
      default:
        throw new Error(`unknown record ${String(f[0])}`);
    }
  } catch (e) {
    throw new Error(`tracer: cannot parse line "${line}": ${(e as Error).message}`);
  }
}
