/**
 * Allocation-free readers of `/proc/<pid>/stat` (proc(5)) for the load generator's sampler, which
 * scans every process of the measured container at 10 Hz from inside it: one reused buffer, no
 * strings for the per-process fields (≈ 12 µs per process here; `readFileSync` costs ~5× more:
 * fstat, allocation, decoding). All reads are synchronous (no libuv thread pool, whose threads
 * would add tasks to the pids cgroup). Field numbers are proc(5)'s, counted from 1.
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';

/** Reused read buffer: one /proc/<pid>/stat line is < 1 KiB (proc(5)). */
const statBuf = Buffer.alloc(1024);

/** System clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux ABIs in use). */
const CLK_TCK = 100;
/** Page size, KiB (4 KiB on x86_64 and the usual aarch64 kernels): field 24 (rss) counts pages. */
const PAGE_KB = 4;

/**
 * Read /proc/<pid>/stat into {@link statBuf} with open/read/close on a reused buffer.
 * @returns the index of the byte after the command's closing ")" and the length read, or null
 * when the process is gone.
 */
function loadStat(pid: number | 'self'): { at: number; len: number } | null {
  let fd = -1;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
    const len = readSync(fd, statBuf, 0, statBuf.length, 0);
    const close = statBuf.lastIndexOf(41 /* ) */, len);
    return close < 0 ? null : { at: close + 2, len };
  } catch {
    return null; // gone meanwhile
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Fields of /proc/<pid>/stat after the command name (proc(5): field 3 is index 0); allocates. */
function statFields(pid: number | 'self'): string[] | null {
  const r = loadStat(pid);
  return r ? statBuf.toString('latin1', r.at, r.len).split(' ') : null;
}

/**
 * Count the processes of the caller's PID namespace in state Z (field 3), except those whose
 * parent (field 4) is `excludeParent` (the load generator passes its helper, whose intermediates
 * are its own short-lived zombies). Allocates nothing per process.
 */
export function countZombies(excludeParent = -1): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const r = loadStat(Number(name));
    if (!r || statBuf[r.at] !== 90 /* Z */) continue;
    let ppid = 0;
    for (let i = r.at + 2; i < r.len && statBuf[i] !== 32; i++) ppid = ppid * 10 + statBuf[i]! - 48;
    if (ppid !== excludeParent) n++;
  }
  return n;
}

/** Threads of the calling process (/proc/self/stat field 20, num_threads); 0 if unreadable. */
export function ownThreads(): number {
  const f = statFields('self');
  return f ? Number(f[17]) : 0;
}

/** PID 1's CPU time (fields 14 + 15, user + system; ms) and RSS (field 24; KiB), or nulls if unreadable. */
export function pid1Usage(): { cpuMs: number | null; rssKb: number | null } {
  return processUsage(1);
}

/**
 * A process's CPU time (fields 14 + 15 of /proc/<pid>/stat, user + system, in clock ticks of
 * 10 ms: ms) and RSS (field 24, pages: KiB), or nulls when unreadable (gone, or another PID
 * namespace's /proc). The host reads a container's PID 1 through its host pid.
 */
export function processUsage(pid: number): { cpuMs: number | null; rssKb: number | null } {
  const f = statFields(pid);
  if (!f) return { cpuMs: null, rssKb: null };
  return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK, rssKb: Number(f[21]) * PAGE_KB };
}
