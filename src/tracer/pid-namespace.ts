/**
 * The one fact about a container the tracer's matcher needs: its PID namespace's inode.
 */
import { statSync } from 'node:fs';

/**
 * Inode of the PID namespace of host process `pid` (`/proc/<pid>/ns/pid`, the number in its
 * `pid:[N]` link; `fs/nsfs.c`): for a container, pass the host pid of its PID 1.
 * @returns the inode, as the tracer reports it (`ns_common.inum`).
 * @throws Error (ENOENT) when the process is gone; EACCES without the right to ptrace-read it.
 */
export function pidNamespaceInode(pid: number): number {
  return statSync(`/proc/${pid}/ns/pid`).ino;
}
