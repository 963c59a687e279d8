/**
 * Periodic samples at a fixed low rate: the pids cgroup files, a /proc scan for zombies, PID 1's
 * CPU time and RSS, the load generator's thread count. The readers are procfs/scan.ts (allocation
 * free) and procfs/pids-cgroup.ts, all synchronous (no libuv thread pool, whose 4 threads would
 * add tasks to the cgroup); one sample costs well under a millisecond per hundred processes here
 * (≈ 12 µs per /proc/<pid>/stat; measured in every sample as `collect_ms`).
 */
import { readPids, type PidsCgroup } from '../procfs/pids-cgroup.js';
import { countZombies, ownThreads, pid1Usage } from '../procfs/scan.js';
import type { SampleEvent } from './types.js';

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
