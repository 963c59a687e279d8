/**
 * Periodic samples at a fixed low rate: the pids cgroup files, a /proc scan for zombies, PID 1's
 * CPU time and RSS, the load generator's thread count. All reads are synchronous (no libuv thread
 * pool, whose 4 threads would add tasks to the cgroup); one sample costs well under a
 * millisecond per hundred processes here (≈ 12 µs per /proc/<pid>/stat; measured in every
 * sample as `collect_ms`).
 */
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { readPids, type PidsCgroup } from './cgroup.js';
import type { SampleEvent } from './types.js';


/** Reused read buffer: one /proc/<pid>/stat line is < 1 KiB (proc(5)). */
const statBuf = Buffer.alloc(1024);

/**
 * Read /proc/<pid>/stat into {@link statBuf} with open/read/close on a reused buffer
 * (readFileSync costs ~5× more: fstat, allocation, string decoding).
 * @returns the index of the byte after the command's closing ")" and the length read, or null.
 */
function readStat(pid: number | 'self'): { at: number; len: number } | null {
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

/** Fields of /proc/<pid>/stat after the command name (proc(5): field 3 is index 0). */
function statFields(pid: number | 'self'): string[] | null {
  const r = readStat(pid);
  return r ? statBuf.toString('latin1', r.at, r.len).split(' ') : null;
}

/** System clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux ABIs in use). */
const CLK_TCK = 100;
const PAGE_KB = 4;

/** Count processes in state Z whose parent is not `excludeParent` (the helper's intermediates). */
export function countZombies(excludeParent: number): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const r = readStat(Number(name));
    if (!r || statBuf[r.at] !== 90 /* Z */) continue;
    let ppid = 0;
    for (let i = r.at + 2; i < r.len && statBuf[i] !== 32; i++) ppid = ppid * 10 + statBuf[i]! - 48;
    if (ppid !== excludeParent) n++;
  }
  return n;
}

/** Threads of this process (/proc/self/stat field 20). */
export function ownThreads(): number {
  const f = statFields('self');
  return f ? Number(f[17]) : 0;
}

/** PID 1's CPU time (user + system, ms) and RSS (KiB), or nulls if unreadable. */
export function pid1Usage(): { cpuMs: number | null; rssKb: number | null } {
  const f = statFields(1);
  if (!f) return { cpuMs: null, rssKb: null };
  return { cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK, rssKb: Number(f[21]) * PAGE_KB };
}

/** Sources a sample reads besides /proc. */
export interface SampleSources {
  cgroup: PidsCgroup | null;
  /** Pid of the helper (its zombie intermediates are not counted), or 0. */
  helperPid: () => number;
  /** Live counters from the watcher: [live orphans, zombie orphans]. */
  orphanCounts: () => { live: number; zombie: number };
  /** CLOCK_MONOTONIC ns of t0 (production start; before it, samples get negative times). */
  t0Ns: () => number;
}

/** What the summary needs from the samples. */
export interface SampleStats {
  samples: SampleEvent[];
}

/**
 * Take samples every `1000 / hz` ms until stopped (a Node interval timer: its own delay is the
 * event-loop delay, reported separately). The /proc scan runs every `scanEvery`-th sample.
 * @param emit receives each sample as it is taken.
 */
export class Sampler {
  readonly samples: SampleEvent[] = [];
  private timer: NodeJS.Timeout | null = null;
  private n = 0;

  constructor(
    private readonly src: SampleSources,
    private readonly hz: number,
    private readonly scanEvery: number,
    private readonly emit: (s: SampleEvent) => void,
  ) {}

  /** Take one sample now. */
  sample(): SampleEvent {
    const start = performance.now();
    const tNs = Number(process.hrtime.bigint());
    const p = this.src.cgroup ? readPids(this.src.cgroup) : null;
    const scan = this.n % this.scanEvery === 0;
    const zombies = scan ? countZombies(this.src.helperPid()) : null;
    const pid1 = pid1Usage();
    const o = this.src.orphanCounts();
    this.n++;
    const s: SampleEvent = {
      type: 'sample',
      t_us: round3((tNs - this.src.t0Ns()) / 1e3),
      pids_current: p?.current ?? null,
      pids_max: p?.max ?? null,
      pids_events_max: p?.eventsMax ?? null,
      zombies,
      orphans_live: o.live,
      orphans_zombie: o.zombie,
      pid1_cpu_ms: pid1.cpuMs,
      pid1_rss_kb: pid1.rssKb,
      loadgen_threads: ownThreads(),
      collect_ms: round3(performance.now() - start),
    };
    this.samples.push(s);
    this.emit(s);
    return s;
  }

  /** Start periodic sampling (idempotent). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sample(), 1000 / this.hz);
  }

  /** Stop periodic sampling (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** Round to 3 decimals (µs values keep ns resolution). */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
