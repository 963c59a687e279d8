/**
 * The C library, loaded once for every binding in `src/ffi/`, and the result shape they share.
 *
 * Each area module (process.ts, wait.ts, spawn.ts, fd.ts, pidfd.ts, epoll.ts, sched.ts) declares
 * its own functions on this one handle, each C function once (a function called with two
 * argument shapes, such as `prctl` or `syscall`, has one prototype per shape). A program pays
 * only for the bindings of the modules it imports: declaring one costs a few µs at load time.
 *
 * Every wrapper returns the raw result and reads errno right after the call, so callers decide
 * what an error means. A synchronous call costs ~0.4–1.5 µs on the project's machines
 * (`npm run bench:micro`, case `ffi waitpid(WNOHANG)`).
 */
import koffi from 'koffi';

/** glibc's shared object (the soname of glibc ≥ 2.x on Linux, `ld.so(8)`). */
export const libc = koffi.load('libc.so.6');

/** Result of a libc call: `ret` as returned, `errno` read right after it (0 when `ret` ≥ 0). */
export interface CallResult {
  /** The raw return value (−1 on error for most calls). */
  ret: number;
  /** errno after the call (compare with `Errno` from errno.ts), or 0 when the call succeeded. */
  errno: number;
}

/**
 * Wrap a raw return value: errno is read (koffi keeps the calling thread's errno of the last
 * call) only when `ret` is negative, the failure convention of the system calls wrapped here
 * (intro(2)). A `long` return arrives as a bigint when large; every value here fits a number.
 */
export function callResult(ret: number | bigint): CallResult {
  const r = Number(ret);
  return { ret: r, errno: r < 0 ? koffi.errno() : 0 };
}
