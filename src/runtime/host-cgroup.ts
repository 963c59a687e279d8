/**
 * Host-side view of a container's pids cgroup: `pids.current`, `pids.max`, `pids.peak` and the
 * `max` counter of `pids.events`, sampled from the host's cgroup filesystem while the container
 * runs. This is the cross-check of what the load generator reports from inside.
 *
 * Facts (kernel `kernel/cgroup/pids.c`, `Documentation/admin-guide/cgroup-v2.rst`):
 * `pids.current` counts tasks (threads too) and zombies until they are reaped; `pids.events`
 * `max` counts forks rejected because the limit was reached; `pids.peak` is the high-water mark
 * (Linux ≥ 6.1; absent on older kernels, where the sampled maximum is used instead).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';

/** pids figures of one container, counts of tasks. `null` where the host could not read them. */
export interface PidsFigures {
  /** Highest `pids.current` seen (tasks), or `pids.peak` when the kernel has it and it is higher. */
  peak: number | null;
  /** `pids.max` (tasks); `null` for `max` (no limit) or unreadable. */
  max: number | null;
  /** Last `pids.current` read before the container stopped (tasks). */
  last: number | null;
  /** `pids.events` `max`: forks rejected by the limit (count). */
  eventsMax: number | null;
  /** Number of samples taken. */
  samples: number;
  /** Directory that was read, or null when none was found (remote engine, unknown layout). */
  path: string | null;
}

/**
 * Candidate host paths of a container's pids cgroup, for cgroup v1 and v2 with the `cgroupfs` and
 * `systemd` drivers. Returns the first that exists, or null.
 */
export function findPidsCgroup(containerId: string, root = '/sys/fs/cgroup'): string | null {
  const candidates = [
    `${root}/pids/docker/${containerId}`,
    `${root}/pids/system.slice/docker-${containerId}.scope`,
    `${root}/docker/${containerId}`,
    `${root}/system.slice/docker-${containerId}.scope`,
  ];
  return candidates.find((p) => existsSync(`${p}/pids.current`)) ?? null;
}

async function readNumber(file: string): Promise<number | null> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (text === 'max') return null;
    const n = Number(text);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

async function readEventsMax(file: string): Promise<number | null> {
  try {
    const text = await readFile(file, 'utf8');
    const m = /^max\s+(\d+)/m.exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Samples a container's pids cgroup every `intervalMs` until {@link PidsSampler.stop}.
 * Reads fail silently once the container is gone (the cgroup is removed when it stops).
 */
export class PidsSampler {
  private timer: NodeJS.Timeout | undefined;
  private path: string | null = null;
  private readonly figures: PidsFigures = { peak: null, max: null, last: null, eventsMax: null, samples: 0, path: null };
  private busy = false;

  /** @param intervalMs sampling period, ms (default 50 ms = 20 Hz). */
  constructor(private readonly containerId: string, private readonly intervalMs = 50) {}

  /** Start sampling (the container must exist). */
  start(): void {
    this.path = findPidsCgroup(this.containerId);
    this.figures.path = this.path;
    if (!this.path) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
  }

  /** Take one sample now (also called on a timer). */
  async sample(): Promise<void> {
    if (!this.path || this.busy) return;
    this.busy = true;
    try {
      const [current, max, peak, eventsMax] = await Promise.all([
        readNumber(`${this.path}/pids.current`),
        readNumber(`${this.path}/pids.max`),
        readNumber(`${this.path}/pids.peak`),
        readEventsMax(`${this.path}/pids.events`),
      ]);
      if (current === null) return;
      const f = this.figures;
      f.samples += 1;
      f.last = current;
      f.max = max;
      f.peak = Math.max(f.peak ?? 0, current, peak ?? 0);
      if (eventsMax !== null) f.eventsMax = eventsMax;
    } finally {
      this.busy = false;
    }
  }

  /** Stop sampling and return the figures. */
  stop(): PidsFigures {
    clearInterval(this.timer);
    return { ...this.figures };
  }
}
