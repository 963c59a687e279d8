/**
 * ts-reaper's adopted processes, and sending them a forwarded signal (`--signal-adopted`).
 *
 * ts-reaper starts one process, the command; every other child it has is an orphan the kernel
 * re-parented to it (as PID 1 of its namespace, or as a child subreaper). Such an orphan left
 * the command's process tree, often on purpose (a daemon that forked twice, a `setsid` job),
 * so neither the command nor its process group (`-g`) passes a signal on to it.
 *
 * Only ts-reaper's own children are signalled, not their descendants: an adopted process is
 * the head of whatever it started, as the command is of its own tree without `-g`.
 */
import { close } from '../ffi/fd.js';
import { Errno } from '../ffi/errno.js';
import { pidfdOpen, pidfdSendSignal } from '../ffi/pidfd.js';
import { kill } from '../ffi/process.js';
import { childrenOfAllThreads } from '../procfs/process.js';
import { allStats, readStat } from '../procfs/stat.js';

/** Which children count as adopted, for one signal. */
export interface AdoptedScope {
  /** ts-reaper's own pid (1 as PID 1), whose children are listed. */
  self: number;
  /** The command's pid: never adopted. */
  command: number;
  /**
   * A process group already signalled as a whole (the command's, with `-g`): its members are
   * skipped so that none gets the signal twice. Null: skip none.
   */
  skipGroup: number | null;
}

/** What {@link signalAdopted} did. */
export interface AdoptedReport {
  /** Adopted processes the signal was sent to. */
  sent: number;
  /** Sends that failed other than with ESRCH (gone meanwhile, which is normal): errno values. */
  errors: number[];
}

/**
 * Pids of ts-reaper's children other than the command: from each thread's
 * `/proc/<self>/task/<tid>/children`, or, on a kernel without those files, from the parent pid of
 * every process in /proc. A snapshot, zombies included (the caller skips them).
 */
export function adoptedChildren(self: number, command: number): number[] {
  const listed = childrenOfAllThreads(self) ?? allStats().flatMap((s) => (s.ppid === self ? [s.pid] : []));
  return listed.filter((pid) => pid !== command);
}

/**
 * Send `signal` (1–64) to every adopted process of `scope` that is alive and outside
 * `scope.skipGroup`. A pid read from /proc could be reaped and reused before the signal goes: each
 * process is opened as a pidfd first, then checked to be ts-reaper's child, and signalled through
 * the pidfd, which never reaches a later process with the same pid (if the pid was reused
 * between the open and the check, the pidfd's process is gone and the send fails with ESRCH).
 * When `pidfd_open` fails otherwise (ENOSYS: Linux < 5.3 or a seccomp filter; EMFILE) it falls
 * back to `kill` after the same check, with that narrow window open. Never throws; costs one /proc read per thread of
 * ts-reaper plus two per adopted process.
 */
export function signalAdopted(scope: AdoptedScope, signal: number): AdoptedReport {
  const report: AdoptedReport = { sent: 0, errors: [] };
  for (const pid of adoptedChildren(scope.self, scope.command)) {
    const fd = pidfdOpen(pid);
    if (fd.ret < 0 && fd.errno === Errno.ESRCH) continue; // gone (reaped) since the listing
    try {
      const stat = readStat(pid);
      // A zombie cannot act on a signal; a process in the skipped group already has it.
      if (stat === null || stat.ppid !== scope.self || stat.state === 'Z' || stat.state === 'X') continue;
      if (scope.skipGroup !== null && stat.pgid === scope.skipGroup) continue;
      const r = fd.ret >= 0 ? pidfdSendSignal(fd.ret, signal) : kill(pid, signal);
      if (r.ret === 0) report.sent++;
      else if (r.errno !== Errno.ESRCH) report.errors.push(r.errno);
    } finally {
      if (fd.ret >= 0) close(fd.ret);
    }
  }
  return report;
}
