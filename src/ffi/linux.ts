/**
 * The one place where reapbench talks to the kernel and libc directly (through koffi).
 *
 * Both the reaper (`ts-reaper`) and the load generator import from here; nothing else
 * loads libc. Every wrapper returns the raw result and reads errno right after the call,
 * so callers decide what an error means. Costs measured on the project's machines:
 * ~0.4–1.5 µs per synchronous call (design-notes).
 *
 * Numbers come from the x86_64 / generic Linux ABI:
 *  - syscall numbers: `include/uapi/asm-generic/unistd.h` (pidfd_open = 434,
 *    pidfd_send_signal = 424, identical on x86_64 and aarch64); sched_setattr/sched_getattr
 *    differ (x86_64 314/315 from `arch/x86/entry/syscalls/syscall_64.tbl`, aarch64 274/275
 *    from asm-generic).
 *  - `PR_SET_CHILD_SUBREAPER` = 36, `PR_GET_CHILD_SUBREAPER` = 37: `include/uapi/linux/prctl.h`.
 *  - `struct epoll_event` is packed (12 bytes) on x86_64: `include/uapi/linux/eventpoll.h`.
 *  - wait status macros: glibc `bits/waitstatus.h`.
 */
import koffi from 'koffi';
import { arch } from 'node:process';
import { Errno } from './errno.js';

// errno values: Node's table, in a module of its own so that code without koffi can use it.
export { Errno };

/** `waitpid` option bits (glibc `bits/waitflags.h`). */
export const WNOHANG = 1;
/** `waitid` option: report children that have exited. */
export const WEXITED = 4;
/** `waitid` option: leave the child waitable (peek). */
export const WNOWAIT = 0x01000000;
/** `waitid` idtype: any child. */
export const P_ALL = 0;

/** `prctl` option to mark the caller a child subreaper (`include/uapi/linux/prctl.h`). */
export const PR_SET_CHILD_SUBREAPER = 36;
/** `prctl` option to read the subreaper flag. */
export const PR_GET_CHILD_SUBREAPER = 37;

/** epoll constants (`include/uapi/linux/eventpoll.h`). */
export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLLIN = 0x001;
export const EPOLLHUP = 0x010;
export const EPOLLET = 0x80000000;
export const EPOLL_CLOEXEC = 0o2000000;
/** Size of one packed `struct epoll_event` on x86_64 (4-byte events + 8-byte data), bytes. */
export const EPOLL_EVENT_SIZE = arch === 'x64' ? 12 : 16;

/** `posix_spawnattr` flags (glibc `spawn.h`). */
export const POSIX_SPAWN_SETPGROUP = 0x02;
export const POSIX_SPAWN_SETSIGDEF = 0x04;
export const POSIX_SPAWN_SETSIGMASK = 0x08;
export const POSIX_SPAWN_SETSID = 0x80;

const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;

/** Bytes reserved for glibc's `posix_spawnattr_t` (336 on x86_64 glibc 2.36; rounded up). */
const SPAWNATTR_BYTES = 512;
/** Bytes reserved for `sigset_t` (128 on glibc). */
const SIGSET_BYTES = 128;

const libc = koffi.load('libc.so.6');

const c = {
  getpid: libc.func('getpid', 'int', []),
  kill: libc.func('kill', 'int', ['int', 'int']),
  waitpid: libc.func('waitpid', 'int', ['int', 'void *', 'int']),
  waitid: libc.func('waitid', 'int', ['int', 'int', 'void *', 'int']),
  prctl: libc.func('prctl', 'int', ['int', 'ulong', 'ulong', 'ulong', 'ulong']),
  prctlGet: libc.func('prctl', 'int', ['int', 'void *', 'ulong', 'ulong', 'ulong']),
  pidfdOpen: libc.func('syscall', 'long', ['long', 'int', 'uint']),
  pidfdSendSignal: libc.func('syscall', 'long', ['long', 'int', 'int', 'void *', 'uint']),
  close: libc.func('close', 'int', ['int']),
  epollCreate1: libc.func('epoll_create1', 'int', ['int']),
  epollCtl: libc.func('epoll_ctl', 'int', ['int', 'int', 'int', 'void *']),
  epollWait: libc.func('epoll_wait', 'int', ['int', 'void *', 'int', 'int']),
  getpgid: libc.func('getpgid', 'int', ['int']),
  tcsetpgrp: libc.func('tcsetpgrp', 'int', ['int', 'int']),
  sigemptyset: libc.func('sigemptyset', 'int', ['void *']),
  sigfillset: libc.func('sigfillset', 'int', ['void *']),
  sigdelset: libc.func('sigdelset', 'int', ['void *', 'int']),
  spawnattrInit: libc.func('posix_spawnattr_init', 'int', ['void *']),
  spawnattrDestroy: libc.func('posix_spawnattr_destroy', 'int', ['void *']),
  spawnattrSetflags: libc.func('posix_spawnattr_setflags', 'int', ['void *', 'short']),
  spawnattrSetpgroup: libc.func('posix_spawnattr_setpgroup', 'int', ['void *', 'int']),
  spawnattrSetsigmask: libc.func('posix_spawnattr_setsigmask', 'int', ['void *', 'void *']),
  spawnattrSetsigdefault: libc.func('posix_spawnattr_setsigdefault', 'int', ['void *', 'void *']),
  posixSpawnp: libc.func('posix_spawnp', 'int', ['_Out_ int *', 'str', 'void *', 'void *', 'str *', 'str *']),
};

/** Result of a libc call: `ret` as returned, `errno` read right after it (0 when `ret` ≥ 0). */
export interface CallResult {
  /** The raw return value (−1 on error for most calls). */
  ret: number;
  /** errno after the call, or 0 when the call succeeded. */
  errno: number;
}

function result(ret: number | bigint): CallResult {
  const r = Number(ret);
  return { ret: r, errno: r < 0 ? koffi.errno() : 0 };
}

/** The calling process's pid (`getpid(2)`). */
export function getpid(): number {
  return c.getpid() as number;
}

/**
 * `kill(2)`: send `signal` (a number, 0 to probe) to `pid` (negative: a process group).
 * @returns ret 0 or −1 with errno (`ESRCH`: no such process or group; `EPERM`).
 */
export function kill(pid: number, signal: number): CallResult {
  return result(c.kill(pid, signal));
}

/**
 * `waitpid(2)` with the status written into `status[0]`.
 * @param pid which child: −1 any, > 0 that child, < −1 that process group.
 * @param status an `Int32Array` of length ≥ 1 reused across calls (no allocation per call).
 * @param options `WNOHANG` or 0 (blocks the calling thread).
 * @returns ret: the reaped pid, 0 (WNOHANG and none ready) or −1 (`ECHILD`: no children; `EINTR`).
 */
export function waitpid(pid: number, status: Int32Array, options: number): CallResult {
  return result(c.waitpid(pid, status, options));
}

/**
 * `waitid(2)` into a caller-owned 128-byte `siginfo_t` buffer. With `WNOWAIT` it peeks at an
 * exited child without reaping it. Fields: `si_pid` at byte 16, `si_status` at byte 24,
 * `si_code` at byte 8 (`include/uapi/asm-generic/siginfo.h`, x86_64).
 * @returns ret 0 or −1 with errno (`ECHILD`, `EINTR`).
 */
export function waitid(idtype: number, id: number, siginfo: Uint8Array, options: number): CallResult {
  return result(c.waitid(idtype, id, siginfo, options));
}

/**
 * Mark (1) or unmark (0) the calling process as a child subreaper: orphans among its
 * descendants are re-parented to it instead of to PID 1 (`prctl(2)`, Linux ≥ 3.4).
 * @returns ret 0 or −1 with errno.
 */
export function setChildSubreaper(on: boolean): CallResult {
  return result(c.prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0));
}

/** Whether the calling process is a child subreaper (`PR_GET_CHILD_SUBREAPER`). */
export function isChildSubreaper(): boolean {
  const out = new Int32Array(1);
  const ret = c.prctlGet(PR_GET_CHILD_SUBREAPER, out, 0, 0, 0) as number;
  return ret === 0 && out[0] !== 0;
}

/**
 * `pidfd_open(2)` (Linux ≥ 5.3): a file descriptor that refers to `pid`, which need not be a
 * child. Readable (`EPOLLIN`) once the process has exited; `EPOLLHUP` once it has been reaped
 * (Linux ≥ 6.9).
 * @returns ret the fd, or −1 with errno (`ESRCH`: already gone, reaped; `ENOSYS`: old kernel).
 */
export function pidfdOpen(pid: number): CallResult {
  return result(c.pidfdOpen(SYS_PIDFD_OPEN, pid, 0));
}

/**
 * `pidfd_send_signal(2)` (Linux ≥ 5.1). Signal 0 probes: `ESRCH` means the process has been
 * reaped (a zombie still answers 0).
 */
export function pidfdSendSignal(pidfd: number, signal: number): CallResult {
  return result(c.pidfdSendSignal(SYS_PIDFD_SEND_SIGNAL, pidfd, signal, null, 0));
}

/** `close(2)`. */
export function close(fd: number): CallResult {
  return result(c.close(fd));
}

/** `epoll_create1(EPOLL_CLOEXEC)`: returns the epoll fd or −1 with errno. */
export function epollCreate(): CallResult {
  return result(c.epollCreate1(EPOLL_CLOEXEC));
}

/**
 * `epoll_ctl(2)` ADD/DEL of `fd` with `events` and a 32-bit `tag` stored in the low half of
 * `epoll_event.data` (the watcher stores a slot index there).
 */
export function epollCtl(epfd: number, op: number, fd: number, events: number, tag: number): CallResult {
  const ev = Buffer.alloc(EPOLL_EVENT_SIZE);
  ev.writeUInt32LE(events >>> 0, 0);
  ev.writeUInt32LE(tag >>> 0, arch === 'x64' ? 4 : 8);
  return result(c.epollCtl(epfd, op, fd, ev));
}

/**
 * `epoll_wait(2)` into `buf` (a Buffer of `max * EPOLL_EVENT_SIZE` bytes). Blocks the calling
 * thread up to `timeoutMs` (−1: forever). Decode entries with {@link epollEventAt}.
 * @returns ret the number of ready entries, or −1 with errno (`EINTR`).
 */
export function epollWait(epfd: number, buf: Buffer, max: number, timeoutMs: number): CallResult {
  return result(c.epollWait(epfd, buf, max, timeoutMs));
}

/** Decode entry `i` of an `epoll_wait` buffer: the event bits and the 32-bit tag. */
export function epollEventAt(buf: Buffer, i: number): { events: number; tag: number } {
  const off = i * EPOLL_EVENT_SIZE;
  return { events: buf.readUInt32LE(off), tag: buf.readUInt32LE(off + (arch === 'x64' ? 4 : 8)) };
}

/** `getpgid(2)`: process group of `pid` (0: caller). */
export function getpgid(pid: number): CallResult {
  return result(c.getpgid(pid));
}

/** `tcsetpgrp(3)`: make `pgid` the foreground process group of terminal `fd`. */
export function tcsetpgrp(fd: number, pgid: number): CallResult {
  return result(c.tcsetpgrp(fd, pgid));
}

/** Options of {@link spawnDetached}. */
export interface SpawnOptions {
  /** Put the child in a new process group whose id is its pid (`POSIX_SPAWN_SETPGROUP`). */
  newProcessGroup?: boolean;
  /** Put the child in a new session (`POSIX_SPAWN_SETSID`, glibc ≥ 2.26). */
  newSession?: boolean;
  /** Environment as `KEY=value` strings; default: the current `process.env`. */
  env?: string[];
  /**
   * Further fds (besides 0–2) the child inherits even though they are close-on-exec here. Node
   * marks every fd it inherited, from 0 up to the first closed one after 15, close-on-exec at
   * startup (libuv `uv_disable_stdio_inheritance`), so an init must name the fds it passes on.
   */
  inheritFds?: number[];
  /**
   * With `newProcessGroup`: make the child's new group the foreground process group of the
   * terminal on this fd in the child, before it execs
   * (`posix_spawn_file_actions_addtcsetpgrp_np`, glibc ≥ 2.35), so that a child that reads
   * the terminal at once is not stopped by SIGTTIN. The caller must check that the fd is a
   * terminal whose foreground group is the caller's (else the spawn fails with ENOTTY/EPERM).
   * Throws {@link ForegroundUnsupported} on an older glibc.
   */
  foregroundFd?: number;
}

/** `posix_spawn_file_actions_addtcsetpgrp_np` is missing (glibc < 2.35). */
export class ForegroundUnsupported extends Error {
  override name = 'ForegroundUnsupported';
}

let faAddTcsetpgrp: ((fa: Buffer, fd: number) => number) | null | undefined;

/** Bind `posix_spawn_file_actions_addtcsetpgrp_np` on first use; null when glibc lacks it. */
function addTcsetpgrpAction(): ((fa: Buffer, fd: number) => number) | null {
  if (faAddTcsetpgrp === undefined) {
    try {
      const f = libc.func('posix_spawn_file_actions_addtcsetpgrp_np', 'int', ['void *', 'int']);
      faAddTcsetpgrp = (fa, fd) => f(fa, fd) as number;
    } catch {
      faAddTcsetpgrp = null;
    }
  }
  return faAddTcsetpgrp;
}

/** Whether {@link SpawnOptions.foregroundFd} is available (glibc ≥ 2.35). */
export function canSpawnInForeground(): boolean {
  return addTcsetpgrpAction() !== null;
}

/**
 * Start `argv[0]` (searched in `PATH`) with `posix_spawnp(3)`, outside libuv: libuv does not
 * know the child, so it never calls `waitpid` on it and cannot steal its status (libuv
 * `src/unix/process.c` reaps only its own handles). The child starts with every signal at its
 * default disposition and an empty signal mask, whatever Node had set (Node ignores SIGPIPE).
 * glibc implements `posix_spawn` with `clone(CLONE_VM|CLONE_VFORK)`, so the cost does not grow
 * with the parent's size.
 * @returns ret the child's pid, or −1 with errno set to the spawn error (`ENOENT`, `EACCES`,
 * `EAGAIN`; with `foregroundFd`, also `ENOTTY`, `EPERM`, `EIO` from the child's `tcsetpgrp`).
 * @throws ForegroundUnsupported when `foregroundFd` is given and glibc lacks the action.
 */
export function spawnDetached(argv: string[], options: SpawnOptions = {}): CallResult {
  if (argv.length === 0) throw new TypeError('spawnDetached: argv must not be empty');
  const attr = Buffer.alloc(SPAWNATTR_BYTES);
  const all = Buffer.alloc(SIGSET_BYTES);
  const none = Buffer.alloc(SIGSET_BYTES);
  c.spawnattrInit(attr);
  try {
    c.sigfillset(all);
    c.sigemptyset(none);
    let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (options.newProcessGroup) flags |= POSIX_SPAWN_SETPGROUP;
    if (options.newSession) flags |= POSIX_SPAWN_SETSID;
    c.spawnattrSetsigdefault(attr, all);
    c.spawnattrSetsigmask(attr, none);
    if (options.newProcessGroup) c.spawnattrSetpgroup(attr, 0);
    c.spawnattrSetflags(attr, flags);
    const env = options.env ?? Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
    const pidOut = [0];
    // Node marks fds 0–2 close-on-exec (measured: fdinfo flags 02100001), so without these
    // dup2(fd, fd) actions (which clear FD_CLOEXEC, glibc ≥ 2.29) the child had no stdio.
    const actions = stdioFileActions(options.inheritFds ?? []);
    let rc: number;
    try {
      if (options.foregroundFd !== undefined) {
        const add = addTcsetpgrpAction();
        if (!add) throw new ForegroundUnsupported('posix_spawn_file_actions_addtcsetpgrp_np needs glibc ≥ 2.35');
        const rcAdd = add(actions, options.foregroundFd);
        if (rcAdd !== 0) return { ret: -1, errno: rcAdd };
      }
      rc = c.posixSpawnp(pidOut, argv[0]!, actions, attr, [...argv, null], [...env, null]) as number;
    } finally {
      reaperC.faDestroy(actions);
    }
    // posix_spawn returns the error number instead of setting errno.
    if (rc !== 0) return { ret: -1, errno: rc };
    return { ret: pidOut[0]!, errno: 0 };
  } finally {
    c.spawnattrDestroy(attr);
  }
}

/** Decoded wait status (glibc `bits/waitstatus.h`). */
export type WaitStatus =
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: number; coreDumped: boolean }
  | { kind: 'stopped'; signal: number }
  | { kind: 'continued' };

/** Decode a raw `waitpid` status word. */
export function decodeWaitStatus(status: number): WaitStatus {
  const low = status & 0x7f;
  if (low === 0) return { kind: 'exited', code: (status >> 8) & 0xff };
  if (status === 0xffff) return { kind: 'continued' };
  if ((status & 0xff) === 0x7f) return { kind: 'stopped', signal: (status >> 8) & 0xff };
  return { kind: 'signaled', signal: low, coreDumped: (status & 0x80) !== 0 };
}

/**
 * The shell convention for an exit status: the child's exit code, or 128 + signal number when
 * a signal killed it (so SIGTERM → 143, SIGKILL → 137). Stopped/continued map to −1.
 */
export function exitStatusOf(status: WaitStatus): number {
  switch (status.kind) {
    case 'exited':
      return status.code;
    case 'signaled':
      return 128 + status.signal;
    default:
      return -1;
  }
}

// ---- ts-reaper additions (process exit, terminal foreground) ----

const reaperC = {
  exitNow: libc.func('_exit', 'void', ['int']),
  tcgetpgrp: libc.func('tcgetpgrp', 'int', ['int']),
  faInit: libc.func('posix_spawn_file_actions_init', 'int', ['void *']),
  faAddDup2: libc.func('posix_spawn_file_actions_adddup2', 'int', ['void *', 'int', 'int']),
  faDestroy: libc.func('posix_spawn_file_actions_destroy', 'int', ['void *']),
};

/** Bytes reserved for glibc's `posix_spawn_file_actions_t` (80 on x86_64; rounded up). */
const FILE_ACTIONS_BYTES = 256;

/**
 * File actions for {@link spawnDetached}: `dup2(fd, fd)` for each of fds 0–2 and `extra` that is
 * open, which makes the child inherit them even though they are close-on-exec in Node.
 */
function stdioFileActions(extra: readonly number[]): Buffer {
  const fa = Buffer.alloc(FILE_ACTIONS_BYTES);
  reaperC.faInit(fa);
  for (const fd of [0, 1, 2, ...extra]) {
    if (fcntl(fd, F_GETFD).ret >= 0) reaperC.faAddDup2(fa, fd, fd);
  }
  return fa;
}

/**
 * `_exit(2)`: end the process now with `code` (0–255), without running Node's teardown.
 * `process.exit()` joins every worker thread first, so it hangs while a worker is blocked in
 * a synchronous `waitpid` (measured: it waited for the child to exit). Everything written with
 * synchronous writes (`fs.writeSync`, stderr to a pipe/file/tty on Linux) is already out.
 * Never returns.
 */
export function exitNow(code: number): never {
  reaperC.exitNow(code);
  throw new Error('unreachable: _exit returned');
}

/**
 * `waitpid(2)` on a libuv thread-pool thread (koffi `.async`, ~20 µs round trip): the calling
 * thread does not block and `done` runs on the event loop. errno is per thread and not carried
 * back, so a failure is reported as ret −1 with errno 0 (from `waitpid(-1)`: ECHILD or EINTR).
 * @param status must stay untouched until `done` runs (the pool thread writes into it).
 */
export function waitpidAsync(pid: number, status: Int32Array, options: number, done: (r: CallResult) => void): void {
  c.waitpid.async(pid, status, options, (err: unknown, ret: number) => done({ ret: err ? -1 : ret, errno: 0 }));
}

/** `tcgetpgrp(3)`: the foreground process group of terminal `fd`, or −1 with errno (`ENOTTY`). */
export function tcgetpgrp(fd: number): CallResult {
  return result(reaperC.tcgetpgrp(fd));
}

// ---------------------------------------------------------------------------------------------
// Load generator additions: pipes, fcntl, raw read/write, poll, timerfd, eventfd.
// Constants: `include/uapi/asm-generic/fcntl.h`, `include/uapi/linux/timerfd.h` (TFD_* share
// O_CLOEXEC/O_NONBLOCK values), `include/uapi/linux/eventfd.h`, `include/uapi/asm-generic/poll.h`.

/** `O_NONBLOCK` / `O_CLOEXEC` for `pipe2`, `timerfd_create`, `eventfd` flags. */
export const O_NONBLOCK = 0o4000;
/** open/pipe2 flag: close the fd on exec (`include/uapi/asm-generic/fcntl.h`); below, fcntl commands and flags from the same header. */
export const O_CLOEXEC = 0o2000000;
/** `fcntl` commands and the close-on-exec descriptor flag. */
export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_GETFL = 3;
export const F_SETFL = 4;
export const FD_CLOEXEC = 1;
/** `poll(2)` event bits. */
export const POLLIN = 0x001;
/** `CLOCK_MONOTONIC`: the clock of `process.hrtime.bigint()` (`include/uapi/linux/time.h`). */
export const CLOCK_MONOTONIC = 1;
/** `timerfd_settime` flag: `it_value` is an absolute time. */
export const TFD_TIMER_ABSTIME = 1;

const lg = {
  pipe2: libc.func('pipe2', 'int', ['_Out_ int *', 'int']),
  fcntl: libc.func('fcntl', 'int', ['int', 'int', 'int']),
  read: libc.func('read', 'long', ['int', 'void *', 'ulong']),
  write: libc.func('write', 'long', ['int', 'void *', 'ulong']),
  poll: libc.func('poll', 'int', ['void *', 'ulong', 'int']),
  timerfdCreate: libc.func('timerfd_create', 'int', ['int', 'int']),
  timerfdSettime: libc.func('timerfd_settime', 'int', ['int', 'int', 'void *', 'void *']),
  eventfd: libc.func('eventfd', 'int', ['uint', 'int']),
};

/**
 * `pipe2(2)`: a pipe with `flags` (`O_CLOEXEC`, `O_NONBLOCK`) applied to both ends.
 * @returns `fds` [read end, write end] when `ret` is 0; otherwise errno (`EMFILE`, `ENFILE`).
 */
export function pipe2(flags: number): CallResult & { fds: [number, number] } {
  const out = [0, 0];
  const r = result(lg.pipe2(out, flags));
  return { ...r, fds: [out[0]!, out[1]!] };
}

/** `fcntl(fd, cmd, arg)` for the integer-argument commands (F_GETFD/F_SETFD/F_GETFL/F_SETFL). */
export function fcntl(fd: number, cmd: number, arg = 0): CallResult {
  return result(lg.fcntl(fd, cmd, arg));
}

/**
 * `read(2)` into `buf` (up to `buf.length` bytes).
 * @returns ret bytes read (0: end of file), or −1 with errno (`EAGAIN` on an empty non-blocking fd).
 */
export function read(fd: number, buf: Buffer): CallResult {
  return result(lg.read(fd, buf, buf.length));
}

/** `write(2)` of all of `buf` in one call. @returns ret bytes written or −1 with errno. */
export function write(fd: number, buf: Buffer): CallResult {
  return result(lg.write(fd, buf, buf.length));
}

/**
 * `poll(2)` on one fd with a zero timeout: the ready event bits (`POLLIN`…), or −1 on error.
 * Used to ask whether a pidfd is already readable (its process has exited) without blocking.
 */
export function pollOnce(fd: number, events: number): number {
  const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(events, 4);
  const r = lg.poll(pfd, 1, 0) as number;
  return r < 0 ? -1 : pfd.readInt16LE(6);
}

/** `timerfd_create(CLOCK_MONOTONIC, O_CLOEXEC|O_NONBLOCK)`: the fd or −1 with errno. */
export function timerfdCreate(): CallResult {
  return result(lg.timerfdCreate(CLOCK_MONOTONIC, O_CLOEXEC | O_NONBLOCK));
}

/**
 * Arm a timerfd to expire first at the absolute CLOCK_MONOTONIC time `firstNs` and then every
 * `intervalNs` (nanoseconds; 0: once). Reading it yields the number of expirations (u64).
 */
export function timerfdSetAbs(fd: number, firstNs: bigint, intervalNs: bigint): CallResult {
  const spec = Buffer.alloc(32); // struct itimerspec { timespec it_interval; timespec it_value; }
  spec.writeBigInt64LE(intervalNs / 1_000_000_000n, 0);
  spec.writeBigInt64LE(intervalNs % 1_000_000_000n, 8);
  spec.writeBigInt64LE(firstNs / 1_000_000_000n, 16);
  spec.writeBigInt64LE(firstNs % 1_000_000_000n, 24);
  return result(lg.timerfdSettime(fd, TFD_TIMER_ABSTIME, spec, null));
}

/** `eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)`: a wake-up fd for a thread blocked in epoll_wait. */
export function eventfdCreate(): CallResult {
  return result(lg.eventfd(0, O_CLOEXEC | O_NONBLOCK));
}

const lgSched = {
  gettid: libc.func('gettid', 'int', []),
  setpriority: libc.func('setpriority', 'int', ['int', 'int', 'int']),
};

/** `gettid(2)`: the calling thread's id (glibc ≥ 2.30). */
export function gettid(): number {
  return lgSched.gettid() as number;
}

/**
 * `setpriority(PRIO_PROCESS, tid, nice)` for one thread: on Linux the "process" argument of
 * PRIO_PROCESS is a thread id and the nice value is per thread (`kernel/sys.c`, sched(7)).
 * Negative values need CAP_SYS_NICE.
 * @returns ret 0 or −1 with errno (`EACCES`/`EPERM`: not allowed; `ESRCH`).
 */
export function setThreadNice(tid: number, nice: number): CallResult {
  return result(lgSched.setpriority(0 /* PRIO_PROCESS */, tid, nice));
}

/** `SCHED_FIFO` policy (`include/uapi/linux/sched.h`). */
export const SCHED_FIFO = 1;
const lgRt = {
  schedSetscheduler: libc.func('sched_setscheduler', 'int', ['int', 'int', '_In_ int *']),
};

/**
 * `sched_setscheduler(tid, SCHED_FIFO, {priority})` for one thread (a tid from {@link gettid}):
 * the thread then preempts every ordinary (CFS) task on its CPU when it wakes. Needs
 * CAP_SYS_NICE and, with cgroup v1 RT group scheduling, a non-zero `cpu.rt_runtime_us` (Docker
 * containers have 0 by default).
 * @returns ret 0 or −1 with errno (`EPERM`: not allowed; `EINVAL`: bad priority, 1–99).
 */
export function setThreadFifo(tid: number, priority: number): CallResult {
  return result(lgRt.schedSetscheduler(tid, SCHED_FIFO, [priority]));
}

/** sched_setattr / sched_getattr numbers for this CPU, or null where unknown (then ENOSYS). */
const SYS_SCHED_ATTR: { set: number; get: number } | null = arch === 'x64' ? { set: 314, get: 315 } : arch === 'arm64' ? { set: 274, get: 275 } : null;
/** `SCHED_FLAG_RESET_ON_FORK` (`include/uapi/linux/sched.h`): kept when the slice is set. */
const SCHED_FLAG_RESET_ON_FORK = 1n;
/** `sizeof(struct sched_attr)` as of SCHED_ATTR_SIZE_VER1 (`include/uapi/linux/sched/types.h`). */
const SCHED_ATTR_BYTES = 56;
const lgAttr = {
  schedSetattr: libc.func('syscall', 'long', ['long', 'int', 'void *', 'uint']),
  schedGetattr: libc.func('syscall', 'long', ['long', 'int', 'void *', 'uint', 'uint']),
};

/** `sched_getattr(tid)` into a fresh `struct sched_attr`, seen through a DataView. */
function readSchedAttr(tid: number): { view: DataView; r: CallResult } {
  const attr = new Uint8Array(SCHED_ATTR_BYTES);
  const r = SYS_SCHED_ATTR ? result(lgAttr.schedGetattr(SYS_SCHED_ATTR.get, tid, attr, SCHED_ATTR_BYTES, 0)) : { ret: -1, errno: Errno.ENOSYS };
  return { view: new DataView(attr.buffer), r };
}

/** Offset of `sched_runtime` in `struct sched_attr`, bytes. */
const SCHED_RUNTIME_AT = 24;

/**
 * Request an EEVDF time slice for one thread of the ordinary (`SCHED_OTHER`) class:
 * `sched_getattr` then `sched_setattr` with `sched_runtime` = `sliceNs`, policy and nice kept.
 * Since Linux 6.12 the fair scheduler takes `sched_runtime` as the thread's requested slice,
 * clamped to 0.1–100 ms (`kernel/sched/syscalls.c`, commit "sched/eevdf: Use
 * sched_attr::sched_runtime to set request/slice suggestion"); a shorter slice gives an earlier
 * virtual deadline, so the thread preempts a CPU hog when it wakes instead of waiting for the
 * hog's slice to end (`PREEMPT_SHORT`, `kernel/sched/fair.c`). It is not a priority: the thread's
 * share of CPU is unchanged, and no capability is needed. Older kernels accept and ignore it.
 * @param tid a thread id ({@link gettid}); 0 is the caller.
 * @param sliceNs requested slice, nanoseconds (> 0).
 * Policy, nice, priority and `SCHED_FLAG_RESET_ON_FORK` are kept as read; other flags (util
 * clamps, which need their own flag) are not set.
 * @returns ret 0 or −1 with errno (`ENOSYS` on a CPU other than x86_64/aarch64 or under a
 * seccomp filter without sched_setattr, `EPERM`, `ESRCH`, `EINVAL`); the granted slice is
 * {@link getThreadSlice}.
 */
export function setThreadSlice(tid: number, sliceNs: number): CallResult {
  const { view: v, r } = readSchedAttr(tid);
  if (r.ret < 0 || !SYS_SCHED_ATTR) return r;
  v.setUint32(0, SCHED_ATTR_BYTES, true); // size
  v.setBigUint64(8, v.getBigUint64(8, true) & SCHED_FLAG_RESET_ON_FORK, true); // sched_flags
  v.setBigUint64(SCHED_RUNTIME_AT, BigInt(Math.round(sliceNs)), true);
  return result(lgAttr.schedSetattr(SYS_SCHED_ATTR.set, tid, v, 0));
}

/**
 * The EEVDF slice of one thread as the kernel reports it (`sched_attr.sched_runtime` of
 * `sched_getattr`), nanoseconds: since Linux 6.12 the default (`sysctl_sched_base_slice`) or
 * what {@link setThreadSlice} obtained after clamping; 0 on older kernels, which do not report
 * (nor honour) a slice for ordinary threads. −1 with errno on failure.
 */
export function getThreadSlice(tid: number): { ns: number; errno: number } {
  const { view, r } = readSchedAttr(tid);
  if (r.ret < 0) return { ns: -1, errno: r.errno };
  return { ns: Number(view.getBigUint64(SCHED_RUNTIME_AT, true)), errno: 0 };
}

const affinity = {
  schedSetaffinity: libc.func('sched_setaffinity', 'int', ['int', 'size_t', 'void *']),
};

/**
 * `sched_setaffinity(2)`: restrict one thread (a tid; a pid names its main thread; 0 the caller)
 * to the given CPUs. Children forked afterwards inherit the mask. Same-user targets need no
 * capability. The CPUs must also be in the cgroup's cpuset, or the call fails with EINVAL.
 * @param cpus CPU numbers (0-based, < 1024).
 * @returns ret 0 or −1 with errno (`EINVAL`: no allowed CPU in the mask; `ESRCH`; `EPERM`).
 */
export function setAffinity(tid: number, cpus: readonly number[]): CallResult {
  const mask = Buffer.alloc(128);
  for (const cpu of cpus) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= 1024) throw new RangeError(`setAffinity: bad CPU number ${cpu}`);
    mask[cpu >> 3]! |= 1 << (cpu & 7);
  }
  return result(affinity.schedSetaffinity(tid, mask.length, mask));
}
