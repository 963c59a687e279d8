/**
 * The command name of one of ts-reaper's zombies, for the JSON reap line (`--log-format json`).
 * It is read between the wait thread's `waitid(WNOWAIT)` and its reap, so its cost lengthens the
 * zombie's life: hence raw system calls into one reused buffer instead of `readFileSync`.
 */
import { close, O_CLOEXEC, O_RDONLY, open, read } from '../ffi/fd.js';

/** TASK_COMM_LEN (16, `include/linux/sched.h`) bytes hold the name and its newline. */
const buf = Buffer.alloc(32);

/**
 * `/proc/<pid>/comm` without its newline (at most 15 bytes, latin1: the kernel stores bytes).
 * A zombie keeps its comm until it is reaped.
 * @returns the name, or null when the file cannot be opened or read (the pid was reaped, or
 *   /proc is not mounted). Never throws.
 */
export function zombieComm(pid: number): string | null {
  const fd = open(`/proc/${pid}/comm`, O_RDONLY | O_CLOEXEC);
  if (fd.ret < 0) return null;
  const n = read(fd.ret, buf).ret;
  close(fd.ret);
  if (n <= 0) return null;
  return buf.toString('latin1', 0, buf[n - 1] === 0x0a ? n - 1 : n);
}
