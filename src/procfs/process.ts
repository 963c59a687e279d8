/**
 * The other per-process files of `/proc/<pid>/` that reapbench reads (proc(5)): `comm`,
 * `cmdline`, `environ`, and the `task/` directory. Each returns null when the process is gone or
 * the file cannot be read (`environ` of another user's process needs ptrace access).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** `/proc/<pid>/comm`: the command name (at most 15 bytes, TASK_COMM_LEN), without the newline. */
export function readComm(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** `/proc/<pid>/cmdline` split at its NUL bytes (empty for a zombie; the last element is ''). */
export function readCmdline(pid: number): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
  } catch {
    return null;
  }
}

/** `/proc/<pid>/environ` as read: `KEY=value` entries separated by NUL bytes (empty for a zombie). */
export function readEnviron(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return null;
  }
}

/** Thread ids of `pid` (the entries of `/proc/<pid>/task`; the main thread's is the pid). */
export function threadIds(pid: number): number[] | null {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((t) => Number.isInteger(t) && t > 0);
  } catch {
    return null;
  }
}
