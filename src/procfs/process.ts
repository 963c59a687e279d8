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

/**
 * Children of every thread of `pid`, from `/proc/<pid>/task/<tid>/children` (proc(5); the kernel
 * lists a child under the thread that is its parent, and an orphan re-parented to a
 * multi-threaded reaper may land on any of its live threads: `find_new_reaper`, kernel
 * `kernel/exit.c`). Zombies included. A snapshot: children that come or go meanwhile may be
 * missed or listed.
 * @returns pids, or null when the files do not exist (a kernel without CONFIG_PROC_CHILDREN)
 *   or `pid` is gone.
 */
export function childrenOfAllThreads(pid: number): number[] | null {
  const tids = threadIds(pid);
  if (tids === null) return null;
  const out: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch (e) {
      // ENOENT for the thread's own directory means that thread is gone; for the file, no
      // CONFIG_PROC_CHILDREN: told apart by the task directory still being there.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && threadIds(pid)?.includes(tid)) return null;
      continue;
    }
    for (const word of text.trim().split(/\s+/)) if (word !== '') out.push(Number(word));
  }
  return out;
}
