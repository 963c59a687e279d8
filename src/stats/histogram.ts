import type { LatencyBin } from '../model/records.js';

/** Lower edge of the first histogram bin, µs. */
export const HISTOGRAM_MIN_US = 1;
/** Upper edge of the last histogram bin, µs (10 s). */
export const HISTOGRAM_MAX_US = 10_000_000;
/** Default number of bins: 4 per decade over the 7 decades from 1 µs to 10 s. */
export const HISTOGRAM_DEFAULT_BINS = 28;

/**
 * Log-spaced histogram of latencies (µs) with `bins` bins from 1 µs to 10 s; every bin is
 * returned, empty ones with count 0, so histograms of different runs line up bin by bin.
 * Values below 1 µs are counted in the first bin and values of 10 s or more in the last
 * (clamped, so counts always add up to the number of finite inputs); NaN and ±Infinity are
 * ignored. Edges are rounded to 3 decimals (ns).
 */
export function histogram(latencies_us: readonly number[], bins: number = HISTOGRAM_DEFAULT_BINS): LatencyBin[] {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`Expected \`bins\` to be a positive integer, got \`${bins}\``);
  }
  const lo = Math.log10(HISTOGRAM_MIN_US);
  const step = (Math.log10(HISTOGRAM_MAX_US) - lo) / bins;
  const edge = (i: number): number => Math.round(10 ** (lo + i * step) * 1000) / 1000;
  const out: LatencyBin[] = [];
  for (let i = 0; i < bins; i++) out.push({ lo_us: edge(i), hi_us: edge(i + 1), count: 0 });
  for (const v of latencies_us) {
    if (Number.isNaN(v) || v === Infinity || v === -Infinity) continue;
    const raw = v <= HISTOGRAM_MIN_US ? 0 : Math.floor((Math.log10(v) - lo) / step);
    let i = Math.min(Math.max(raw, 0), bins - 1);
    // Correct for floating-point error at the (rounded) edges.
    while (i > 0 && v < out[i]!.lo_us) i--;
    while (i < bins - 1 && v >= out[i]!.hi_us) i++;
    out[i]!.count++;
  }
  return out;
}

/**
 * Sum histograms bin by bin (bins matched on `lo_us`/`hi_us`, e.g. the repetitions of one init),
 * sorted by `lo_us`. Counts are orphans.
 */
export function mergeHistograms(histograms: readonly (readonly LatencyBin[])[]): LatencyBin[] {
  const byEdges = new Map<string, LatencyBin>();
  for (const h of histograms) {
    for (const b of h) {
      const k = `${b.lo_us}|${b.hi_us}`;
      const acc = byEdges.get(k);
      if (acc) acc.count += b.count;
      else byEdges.set(k, { lo_us: b.lo_us, hi_us: b.hi_us, count: b.count });
    }
  }
  return [...byEdges.values()].sort((a, b) => a.lo_us - b.lo_us || a.hi_us - b.hi_us);
}
