/**
 * Process identity, signals, the subreaper flag, process groups and the terminal's foreground
 * group, and immediate exit: kernel `kernel/sys.c` (prctl, getpid, gettid, getpgid),
 * `kernel/signal.c` (kill), `kernel/exit.c` (_exit), `drivers/tty/tty_jobctrl.c` (the
 * terminal's foreground group, TIOCGPGRP/TIOCSPGRP behind tcgetpgrp/tcsetpgrp).
 */
import { libc, callResult, type CallResult } from './libc.js';

/** `prctl` option to mark the caller a child subreaper (`include/uapi/linux/prctl.h`). */
export const PR_SET_CHILD_SUBREAPER = 36;
/** `prctl` option to read the subreaper flag (`include/uapi/linux/prctl.h`). */
export const PR_GET_CHILD_SUBREAPER = 37;
/** `prctl` option to set the calling thread's name, the comm (`include/uapi/linux/prctl.h`). */
export const PR_SET_NAME = 15;

const c = {
  getpid: libc.func('getpid', 'int', []),
  gettid: libc.func('gettid', 'int', []),
  kill: libc.func('kill', 'int', ['int', 'int']),
  // Two prototypes of prctl(2): an integer second argument (set) and an out-pointer (get).
  prctl: libc.func('prctl', 'int', ['int', 'ulong', 'ulong', 'ulong', 'ulong']),
  prctlGet: libc.func('prctl', 'int', ['int', 'void *', 'ulong', 'ulong', 'ulong']),
  prctlStr: libc.func('prctl', 'int', ['int', 'str', 'ulong', 'ulong', 'ulong']),
  getpgid: libc.func('getpgid', 'int', ['int']),
  tcgetpgrp: libc.func('tcgetpgrp', 'int', ['int']),
  tcsetpgrp: libc.func('tcsetpgrp', 'int', ['int', 'int']),
  exitNow: libc.func('_exit', 'void', ['int']),
};

/** The calling process's pid in its own PID namespace (`getpid(2)`; 1 for a namespace's init). Never fails. */
export function getpid(): number {
  return c.getpid() as number;
}

/**
 * The calling thread's id (`gettid(2)`, glibc ≥ 2.30): the main thread's tid is the pid; other
 * threads have their own. The sched.ts calls take it. Never fails.
 */
export function gettid(): number {
  return c.gettid() as number;
}

/**
 * `kill(2)`: send `signal` (a number from `os.constants.signals`; 0 only probes) to `pid`
 * (> 0 a process, < −1 the process group −pid, −1 every process the caller may signal).
 * @returns ret 0 or −1 with errno (`ESRCH`: no such process or group; `EPERM`: not allowed;
 * `EINVAL`: bad signal).
 */
export function kill(pid: number, signal: number): CallResult {
  return callResult(c.kill(pid, signal));
}

/**
 * Mark (true) or unmark (false) the calling process as a child subreaper: orphans among its
 * descendants are re-parented to it instead of to PID 1 (`prctl(2)` `PR_SET_CHILD_SUBREAPER`,
 * Linux ≥ 3.4; re-parenting in `kernel/exit.c` `find_new_reaper()`).
 * @returns ret 0 or −1 with errno (`EINVAL` on a kernel without the option).
 */
export function setChildSubreaper(on: boolean): CallResult {
  return callResult(c.prctl(PR_SET_CHILD_SUBREAPER, on ? 1 : 0, 0, 0, 0));
}

/**
 * Set the calling thread's name, its comm (`prctl(2)` `PR_SET_NAME`): what `/proc/<pid>/comm`,
 * `ps` and the kernel's events show for the thread group when the caller is its leader (the
 * main thread). The kernel keeps the first 15 bytes. Threads created afterwards inherit it;
 * the command line (`/proc/<pid>/cmdline`) is left as it is.
 * @returns ret 0 or −1 with errno (`EFAULT` only for a bad pointer, which koffi never passes).
 */
export function setThreadName(name: string): CallResult {
  return callResult(c.prctlStr(PR_SET_NAME, name, 0, 0, 0));
}

/**
 * Whether the calling process is a child subreaper (`prctl(2)` `PR_GET_CHILD_SUBREAPER`, which
 * writes the flag into an int). False also when the call fails (`EINVAL`: kernel < 3.4).
 */
export function isChildSubreaper(): boolean {
  const out = new Int32Array(1);
  const ret = c.prctlGet(PR_GET_CHILD_SUBREAPER, out, 0, 0, 0) as number;
  return ret === 0 && out[0] !== 0;
}

/**
 * `getpgid(2)`: the process group of `pid` (0: the caller).
 * @returns ret the group id, or −1 with errno (`ESRCH`: no such process).
 */
export function getpgid(pid: number): CallResult {
  return callResult(c.getpgid(pid));
}

/**
 * `tcgetpgrp(3)`: the foreground process group of the terminal open on `fd`.
 * @returns ret the group id, or −1 with errno (`ENOTTY`: not a terminal, or not the caller's
 * controlling terminal; `EBADF`).
 */
export function tcgetpgrp(fd: number): CallResult {
  return callResult(c.tcgetpgrp(fd));
}

/**
 * `tcsetpgrp(3)`: make process group `pgid` the foreground group of the terminal open on `fd`
 * (the caller's controlling terminal; a background caller needs SIGTTOU ignored or blocked).
 * @returns ret 0 or −1 with errno (`ENOTTY`, `EPERM`: group in another session, `EINVAL`, `EBADF`).
 */
export function tcsetpgrp(fd: number, pgid: number): CallResult {
  return callResult(c.tcsetpgrp(fd, pgid));
}

/**
 * `_exit(2)`: end the process now with `code` (0–255), without running Node's teardown.
 * `process.exit()` joins every worker thread first, so it hangs while a worker is blocked in
 * a synchronous `waitpid` (measured: it waited for the child to exit). Everything written with
 * synchronous writes (`fs.writeSync`, stderr to a pipe/file/tty on Linux) is already out.
 * Never returns and cannot fail.
 */
export function exitNow(code: number): never {
  c.exitNow(code);
  throw new Error('unreachable: _exit returned');
}
