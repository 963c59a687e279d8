/**
 * Waiting for children and decoding what they left: `waitpid(2)`, `waitid(2)` (kernel
 * `kernel/exit.c`), the wait status word (glibc `bits/waitstatus.h`) and the shell's 128+signal
 * convention for an exit status.
 */
import { libc, callResult, type CallResult } from './libc.js';

/** `waitpid`/`waitid` option: return at once when no child is ready (`include/uapi/linux/wait.h`). */
export const WNOHANG = 1;
/** `waitid` option: report children that have exited (`include/uapi/linux/wait.h`). */
export const WEXITED = 4;
/** `waitid` option: leave the child waitable, i.e. peek (`include/uapi/linux/wait.h`). */
export const WNOWAIT = 0x01000000;
/** `waitid` idtype: any child (`include/uapi/linux/wait.h`). */
export const P_ALL = 0;

const c = {
  waitpid: libc.func('waitpid', 'int', ['int', 'void *', 'int']),
  waitid: libc.func('waitid', 'int', ['int', 'int', 'void *', 'int']),
};

/**
 * `waitpid(2)` with the status written into `status[0]`.
 * @param pid which child: −1 any, > 0 that child, < −1 that process group.
 * @param status an `Int32Array` of length ≥ 1 reused across calls (no allocation per call);
 *   decode it with {@link decodeWaitStatus}.
 * @param options `WNOHANG`, `__WALL`, or 0 (blocks the calling thread).
 * @returns ret: the reaped pid, 0 (WNOHANG and none ready) or −1 with errno (`ECHILD`: no such
 * child; `EINTR`: a signal arrived while blocked; `EINVAL`: bad options).
 */
export function waitpid(pid: number, status: Int32Array, options: number): CallResult {
  return callResult(c.waitpid(pid, status, options));
}

/**
 * `waitid(2)` into a caller-owned 128-byte `siginfo_t` buffer. With `WNOWAIT` it peeks at an
 * exited child without reaping it. Fields (x86_64 and aarch64, `include/uapi/asm-generic/siginfo.h`):
 * `si_code` int32 at byte 8, `si_pid` int32 at byte 16, `si_status` int32 at byte 24; `si_pid` is
 * 0 when `WNOHANG` found no child ready.
 * @param idtype `P_ALL` (id ignored), `P_PID` 1 or `P_PGID` 2.
 * @param options `WEXITED`, with `WNOHANG`/`WNOWAIT`/`__WALL`.
 * @returns ret 0 or −1 with errno (`ECHILD`: no such child; `EINTR`; `EINVAL`).
 */
export function waitid(idtype: number, id: number, siginfo: Uint8Array, options: number): CallResult {
  return callResult(c.waitid(idtype, id, siginfo, options));
}

/** Decoded wait status (glibc `bits/waitstatus.h`). */
export type WaitStatus =
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: number; coreDumped: boolean }
  | { kind: 'stopped'; signal: number }
  | { kind: 'continued' };

/**
 * Decode a raw `waitpid` status word (glibc `bits/waitstatus.h`: low 7 bits the killing signal
 * or 0 for a normal exit, bit 7 the core dump, bits 8–15 the exit code or the stopping signal;
 * 0x7f in the low byte means stopped, 0xffff continued). Pure; never fails.
 */
export function decodeWaitStatus(status: number): WaitStatus {
  const low = status & 0x7f;
  if (low === 0) return { kind: 'exited', code: (status >> 8) & 0xff };
  if (status === 0xffff) return { kind: 'continued' };
  if ((status & 0xff) === 0x7f) return { kind: 'stopped', signal: (status >> 8) & 0xff };
  return { kind: 'signaled', signal: low, coreDumped: (status & 0x80) !== 0 };
}

/**
 * The shell convention for an exit status (POSIX `sh(1)`, "Exit Status"; bash(1) "EXIT
 * STATUS"): the child's exit code, or 128 + signal number when a signal killed it (so SIGTERM
 * → 143, SIGKILL → 137). Stopped/continued map to −1. Pure.
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
