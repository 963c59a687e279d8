/**
 * Pure statistics of a run: percentiles (simple-statistics, linear interpolation = R type 7) and
 * Little's law. No I/O here.
 */
import { mean, quantileSorted } from 'simple-statistics';
import type { Percentiles, SampleEvent } from './types.js';

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * p50/p90/p99/max/mean of `values` (µs), rounded to 0.001 µs.
 * @returns all-null fields (n = 0) for an empty set.
 */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { n: 0, p50_us: null, p90_us: null, p99_us: null, max_us: null, mean_us: null };
  const s = Float64Array.from(values).sort();
  const a = Array.from(s);
  return {
    n: a.length,
    p50_us: r3(quantileSorted(a, 0.5)),
    p90_us: r3(quantileSorted(a, 0.9)),
    p99_us: r3(quantileSorted(a, 0.99)),
    max_us: r3(a[a.length - 1]!),
    mean_us: r3(mean(a)),
  };
}

/**
 * The orphan rate a run achieved while it was making orphans, per s: orphans forked ÷ the time
 * spent forking them, the load phase only. Until a fork fails that is the whole production
 * (`made` ÷ `productionS`). Once one has failed the load no longer makes orphans at its pace: the
 * forks that follow fail, production stops after a grace period and the orphans drain, so that
 * time would count against the rate; the load phase is then t0 → the first failed fork, and the
 * rate that of the orphans forked before it. Pure.
 * @param made orphans forked during the whole production (count).
 * @param productionS t0 → end of production, s.
 * @param firstFailure the first failed fork: `s` after t0 and the orphans forked `before` it
 *   (count); null when no fork failed.
 * @returns orphans per s, unrounded; 0 when the load phase took no time (the first fork failed at t0).
 */
export function loadPhaseRate(made: number, productionS: number, firstFailure: { s: number; before: number } | null): number {
  const [count, s] = firstFailure === null ? [made, productionS] : [firstFailure.before, firstFailure.s];
  return s > 0 ? count / s : 0;
}

/** Result of {@link littlesLaw}. */
export interface LittleResult {
  /** L: mean zombie count over the scans in the window. */
  meanZombies: number;
  /** λ: exits per second in the window. */
  exitRatePerS: number;
  /** W = L ÷ λ, µs. */
  latencyUs: number;
  /** Window length, s. */
  windowS: number;
}

/**
 * Little's law (L = λ·W) as an independent check of the per-orphan latencies: W = mean zombie
 * count (from /proc scans, which know nothing of pidfds) ÷ exit rate, over the window
 * [fromUs, toUs] (µs since t0), which should cover the steady state of production.
 * @param exitUs exit times of orphans (µs since t0).
 * @returns null when the window is shorter than 0.2 s, has fewer than 5 scans, or no exits.
 */
export function littlesLaw(samples: readonly SampleEvent[], exitUs: readonly number[], fromUs: number, toUs: number): LittleResult | null {
  const windowS = (toUs - fromUs) / 1e6;
  if (windowS < 0.2) return null;
  const z = samples.filter((s) => s.zombies !== null && s.t_us >= fromUs && s.t_us <= toUs).map((s) => s.zombies!);
  if (z.length < 5) return null;
  const exits = exitUs.filter((t) => t >= fromUs && t <= toUs).length;
  if (exits === 0) return null;
  const L = mean(z);
  const lambda = exits / windowS;
  return { meanZombies: r3(L), exitRatePerS: r3(lambda), latencyUs: r3((L / lambda) * 1e6), windowS: r3(windowS) };
}
