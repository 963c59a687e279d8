/**
 * Trend files for tracking results across commits (`--export-bmf`, `--export-benchmark-action`):
 * the load summary as Bencher's Metric Format (BMF) and as github-action-benchmark's
 * `customSmallerIsBetter` input. Pure converters; the one writer (run/results-dir.ts) writes them
 * with the final report of `reapbench run` and of `reapbench merge`.
 *
 * One benchmark per summary row, named by {@link benchmarkName}; its measures are
 * {@link TREND_MEASURES}, each the summary's median (summary.csv's figure). Every figure is
 * smaller-is-better. The bounds of a measure are the min and max over the completed runs of the
 * row, given for the measures whose spread (max − min) summary.csv reports, so that
 * `upper − lower` is that spread; the other measures carry a value only.
 */
import type { CellKey } from '../model/config.js';
import type { RunRecord, SummaryRow } from '../model/records.js';
import { completedRuns } from '../model/records.js';
import { cellKey, groupBy } from '../stats/config-key.js';
import { formatNumber } from './format.js';

/**
 * The measures of each benchmark, in file order: the measure's slug (BMF key, and the suffix of
 * a github-action-benchmark name), the summary field it reads, its unit, and the per-run field
 * whose min and max over completed runs bound it (null: no bounds, as summary.csv has no spread
 * for it).
 */
export const TREND_MEASURES = [
  { slug: 'reap-latency-p50-us', field: 'reap_latency_p50_us', unit: 'us', bounds: 'reap_latency_p50_us' },
  { slug: 'reap-latency-p99-us', field: 'reap_latency_p99_us', unit: 'us', bounds: null },
  { slug: 'reap-latency-max-us', field: 'reap_latency_max_us', unit: 'us', bounds: null },
  { slug: 'first-fork-failure-s', field: 'first_fork_failure_s', unit: 's', bounds: 'first_fork_failure_s' },
] as const satisfies readonly {
  slug: string;
  field: keyof SummaryRow;
  unit: string;
  bounds: (keyof RunRecord & keyof SummaryRow) | null;
}[];

/** One measure of one BMF benchmark: `value`, and `lower_value`/`upper_value` when bounded (units of the measure). */
export interface BmfMetric {
  value: number;
  lower_value?: number;
  upper_value?: number;
}

/** A BMF document: benchmark name → measure slug → metric. */
export type Bmf = Record<string, Record<string, BmfMetric>>;

/**
 * One entry of github-action-benchmark's `customSmallerIsBetter` input. `range` and `extra` are
 * free text the action shows next to the value.
 */
export interface BenchmarkActionEntry {
  /** `<benchmark name> <measure slug>`, e.g. `tini/orphans/L128/R250 reap-latency-p50-us`. */
  name: string;
  /** `us` (microseconds) or `s` (seconds). */
  unit: string;
  value: number;
  /** `min <lower>, max <upper>` over completed runs, for the bounded measures. */
  range?: string;
  /** How many runs the figure comes from, e.g. `2 of 2 runs completed`. */
  extra?: string;
}

/** What the converters read: the load view's summary and the runs it was computed from. */
export interface TrendInput {
  /** One row per init × configuration (stats/summary.ts). */
  summary: readonly SummaryRow[];
  /** The runs `summary` was made from; only completed runs give bounds, as they alone give medians. */
  runs: readonly RunRecord[];
}

/** One measure of one row, before it takes either file's shape. */
interface TrendPoint {
  benchmark: string;
  slug: string;
  unit: string;
  value: number;
  bounds: { lower: number; upper: number } | null;
  extra: string;
}

/**
 * The benchmark name of a summary row: `<init>/<scenario>/L<pids_limit>/R<rate_per_s>`, e.g.
 * `tini/orphans/L128/R250`. Lifetime and duration are left out: a matrix has one of each, so the
 * name is unique within a file, and it stays the same series when they change (a change a
 * tracker then shows as a step). Pure.
 */
export function benchmarkName(c: CellKey): string {
  return `${c.init}/${c.scenario}/L${c.pids_limit}/R${c.rate_per_s}`;
}

/**
 * Every measure of every row that has a value, in summary order then {@link TREND_MEASURES}
 * order. A null statistic is left out (a row whose completed runs all survived has no
 * `first-fork-failure-s`; one with no reaped orphan, no latency); a row with no completed run has
 * none, so an interrupted run's trend holds only what was measured.
 */
function trendPoints(input: TrendInput): TrendPoint[] {
  const done = new Map(
    groupBy(
      input.runs.filter((r) => r.state === 'completed'),
      cellKey,
    ).map((g) => [cellKey(g[0]!), g]),
  );
  const points: TrendPoint[] = [];
  for (const row of input.summary) {
    const runs = done.get(cellKey(row)) ?? [];
    for (const m of TREND_MEASURES) {
      const value = row[m.field];
      if (value === null) continue;
      const field = m.bounds;
      const per = field === null ? [] : runs.map((r) => r[field]).filter((v): v is number => v !== null && Number.isFinite(v));
      const completed = completedRuns(row);
      points.push({
        benchmark: benchmarkName(row),
        slug: m.slug,
        unit: m.unit,
        value,
        bounds: per.length > 0 ? { lower: Math.min(...per), upper: Math.max(...per) } : null,
        extra:
          m.field === 'first_fork_failure_s'
            ? `forks failed in ${completed - row.survived_runs} of ${completed} completed runs`
            : `${completed} of ${row.runs} runs completed`,
      });
    }
  }
  return points;
}

/**
 * The BMF document of a load view: `{ "<benchmark>": { "<measure>": { value, lower_value?,
 * upper_value? } } }`, benchmarks in summary order, measures in {@link TREND_MEASURES} order,
 * figures in the measure's unit (µs or s) unrounded. Rows without any measure are left out; an
 * empty summary gives `{}`. Pure.
 */
export function toBmf(input: TrendInput): Bmf {
  const out: Bmf = {};
  for (const p of trendPoints(input)) {
    const metric: BmfMetric = { value: p.value };
    if (p.bounds) {
      metric.lower_value = p.bounds.lower;
      metric.upper_value = p.bounds.upper;
    }
    (out[p.benchmark] ??= {})[p.slug] = metric;
  }
  return out;
}

/**
 * The `customSmallerIsBetter` array of a load view: one entry per measure of every row (the
 * same points as {@link toBmf}, in the same order), `range` for the bounded ones (numbers as
 * the reports print them), `extra` the runs behind the figure. Pure.
 */
export function toBenchmarkAction(input: TrendInput): BenchmarkActionEntry[] {
  return trendPoints(input).map((p) => ({
    name: `${p.benchmark} ${p.slug}`,
    unit: p.unit,
    value: p.value,
    ...(p.bounds ? { range: `min ${formatNumber(p.bounds.lower)}, max ${formatNumber(p.bounds.upper)}` } : {}),
    extra: p.extra,
  }));
}

/** The text of a trend file: `value` as indented JSON and a final newline. Pure. */
export function serializeTrend(value: Bmf | BenchmarkActionEntry[]): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
