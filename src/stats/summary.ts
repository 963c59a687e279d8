import { median } from 'simple-statistics';
import type { RunRecord, SummaryRow } from '../model/records.js';
import { cellKey, compareCells, groupBy } from './config-key.js';

// The runner calls histogram() per run; it lives in its own module and is re-exported here.
export { histogram } from './histogram.js';

/** Numeric RunRecord fields that are summarized as a plain median over completed runs. */
const MEDIAN_FIELDS = [
  'orphans_before_failure',
  'zombies_peak',
  'reap_latency_p50_us',
  'reap_latency_p90_us',
  'reap_latency_p99_us',
  'reap_latency_max_us',
  'unreaped',
  'pid1_cpu_ms',
  'pid1_rss_kib',
  'achieved_rate_per_s',
  'baseline_tasks',
  'effective_budget',
] as const satisfies readonly (keyof RunRecord & keyof SummaryRow)[];

/**
 * Aggregate runs into one {@link SummaryRow} per init × configuration (grouped on init,
 * scenario, pids_limit, rate_per_s, lifetime_ms, duration_s), sorted by configuration and then
 * init in `INITS` order.
 *
 * - `runs` counts every record; `failed_runs` those whose `state` is `failed` or `timed-out`;
 *   `aborted_runs` those cut short by an interrupt (`aborted`), which say nothing about the
 *   init. Only completed runs enter any median or spread.
 * - `survived_runs`: completed runs with no fork failure (`first_fork_failure_s === null`).
 * - `first_fork_failure_s` (s): median over the completed runs in which a fork failed; null
 *   when none did. `first_fork_failure_spread_s` (s): max − min over the same runs.
 * - Every other statistic is the median over completed runs of the per-run value, ignoring
 *   nulls (null when no completed run has a value); units are those of the field.
 *   `reap_latency_p50_spread_us` (µs) is max − min of the per-run p50.
 * Medians of an even number of values are the mean of the middle two (simple-statistics).
 */
export function summarize(runs: readonly RunRecord[]): SummaryRow[] {
  const rows = groupBy(runs, cellKey).map(summarizeCell);
  return rows.sort(compareCells);
}

/** Summarize the runs of one cell (all share init and configuration). */
function summarizeCell(group: RunRecord[]): SummaryRow {
  const first = group[0]!;
  const done = group.filter((r) => r.state === 'completed');
  const failTimes = done.map((r) => r.first_fork_failure_s).filter((v): v is number => v !== null);
  const p50s = values(done, 'reap_latency_p50_us');
  const medians = Object.fromEntries(MEDIAN_FIELDS.map((f) => [f, medianOrNull(values(done, f))])) as Record<
    (typeof MEDIAN_FIELDS)[number],
    number | null
  >;
  return {
    init: first.init,
    scenario: first.scenario,
    pids_limit: first.pids_limit,
    rate_per_s: first.rate_per_s,
    lifetime_ms: first.lifetime_ms,
    duration_s: first.duration_s,
    runs: group.length,
    failed_runs: group.filter((r) => r.state === 'failed' || r.state === 'timed-out').length,
    aborted_runs: group.filter((r) => r.state === 'aborted').length,
    survived_runs: done.length - failTimes.length,
    first_fork_failure_s: medianOrNull(failTimes),
    first_fork_failure_spread_s: spreadOrNull(failTimes),
    ...medians,
    reap_latency_p50_spread_us: spreadOrNull(p50s),
  };
}

/** Non-null, finite values of one numeric field. */
function values(runs: readonly RunRecord[], field: keyof RunRecord): number[] {
  const out: number[] = [];
  for (const r of runs) {
    const v = r[field];
    if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/** Median, or null for an empty list. */
export function medianOrNull(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : median([...xs]);
}

/** Spread (max − min), or null for an empty list. */
export function spreadOrNull(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : Math.max(...xs) - Math.min(...xs);
}
