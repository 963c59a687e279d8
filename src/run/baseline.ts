/**
 * Compare the current summary with a stored summary.csv (a "baseline", e.g. from CI) and list
 * what changed.
 *
 * Thresholds, chosen for a noisy 2-core machine where the measured container, the watcher and
 * the engine compete for CPU:
 * - **Fork regression**: an init × configuration whose completed runs all survived in the
 *   baseline now has a fork failure in **more than half** of its completed runs. A single flaky
 *   repetition is reported (`fork-flaky`) but does not fail the check; a broken reaper fails in
 *   every repetition, so a majority is enough to catch it.
 * - **Latency regression**: the median reap-latency p50 is more than `p50Factor` (default
 *   **2.0**) times the baseline's **and** more than `p50MinDeltaUs` (default **10 µs**) above it.
 *   Repeated quick runs here move the p50 of the C inits by up to ~1.5× (scheduling, the
 *   watcher's own lag of several µs); a factor of 2 is beyond that noise, and the absolute floor
 *   keeps tiny values (3 µs → 8 µs) from tripping the ratio.
 * - **Missing in current**: a baseline cell not measured now (e.g. `--inits` narrowed, or a
 *   partial run) is listed, not a regression. Cells new in the current run are ignored.
 * Improvements (now survives, faster p50) are listed as information.
 */
import { readFile } from 'node:fs/promises';
import { parse } from 'csv-parse/sync';
import { INITS, type InitName } from '../model/inits.js';
import { completedRuns, type SummaryRow } from '../model/records.js';
import { usageError } from '../errors.js';
import { CONFIG_FIELDS, type CellKey } from '../model/config.js';
import { cellKey, compareCells, configLabel } from '../stats/config-key.js';
import { formatNumber } from '../export/format.js';
import { RUN_DEFAULTS } from './options.js';

/** Default: a p50 more than this many times the baseline's is a regression (`--p50-factor`'s default). */
export const DEFAULT_P50_FACTOR = RUN_DEFAULTS.p50Factor;
/** Default: and it must be at least this much worse in absolute terms, µs. */
export const DEFAULT_P50_MIN_DELTA_US = 10;

/** The columns of a baseline row that the comparison uses (a subset of summary.csv). */
export interface BaselineRow extends CellKey {
  /** Runs, failed runs and surviving runs (counts); null when the file has no such column. */
  runs: number | null;
  failed_runs: number | null;
  /** Runs cut short by an interrupt (count); null in a summary.csv from before the column existed (read as 0). */
  aborted_runs: number | null;
  survived_runs: number | null;
  /** Median time to first fork failure, s; null: survived. */
  first_fork_failure_s: number | null;
  /** Median reaping latency p50, µs; null: nothing reaped. */
  reap_latency_p50_us: number | null;
}

/** Columns a baseline file must have. */
export const BASELINE_REQUIRED_COLUMNS = ['init', ...CONFIG_FIELDS, 'first_fork_failure_s', 'reap_latency_p50_us'] as const;

/** What a finding is about. */
export type FindingKind =
  'fork-regression' | 'fork-flaky' | 'latency-regression' | 'missing-in-current' | 'now-survives' | 'latency-improved';

/** One difference between baseline and current, with a one-line message. */
export interface BaselineFinding {
  kind: FindingKind;
  /** True for the kinds that should fail CI: fork-regression, latency-regression. */
  regression: boolean;
  cell: CellKey;
  message: string;
}

/** All findings, the regressions among them, and their messages in order. */
export interface BaselineComparison {
  findings: BaselineFinding[];
  regressions: BaselineFinding[];
  messages: string[];
  /** Baseline configurations compared (count): measured now with at least one completed run. 0: the gate compared nothing. */
  compared: number;
}

/** Comparison thresholds (see the module comment for why these defaults). */
export interface BaselineOptions {
  /** p50 worse by more than this factor is a regression (> 1; default 2.0). */
  p50Factor?: number;
  /** …and by more than this many µs (≥ 0; default 10). */
  p50MinDeltaUs?: number;
}

/**
 * Compare baseline rows with the current summary (pure). Findings are sorted by cell.
 * @throws RangeError for a `p50Factor` ≤ 1 or a negative `p50MinDeltaUs`.
 */
export function compareWithBaseline(
  baseline: readonly BaselineRow[],
  current: readonly SummaryRow[],
  options: BaselineOptions = {},
): BaselineComparison {
  const factor = options.p50Factor ?? DEFAULT_P50_FACTOR;
  const minDelta = options.p50MinDeltaUs ?? DEFAULT_P50_MIN_DELTA_US;
  if (!(factor > 1)) throw new RangeError(`Expected \`p50Factor\` to be a number > 1, got \`${factor}\``);
  if (!(minDelta >= 0)) throw new RangeError(`Expected \`p50MinDeltaUs\` to be ≥ 0, got \`${minDelta}\``);
  const now = new Map(current.map((r) => [cellKey(r), r]));
  const findings: BaselineFinding[] = [];
  const add = (kind: FindingKind, cell: CellKey, text: string): void => {
    const regression = kind === 'fork-regression' || kind === 'latency-regression';
    findings.push({ kind, regression, cell, message: `${regression ? 'REGRESSION' : 'note'}: ${cell.init} ${configLabel(cell)}: ${text}` });
  };
  for (const b of [...baseline].sort(compareCells)) {
    const c = now.get(cellKey(b));
    const cell = keyOf(b);
    if (!c || completedRuns(c) === 0) {
      add(
        'missing-in-current',
        cell,
        c ? 'no completed run now (all failed or aborted), not compared' : 'in the baseline but not measured now',
      );
      continue;
    }
    const completed = completedRuns(c);
    const forkFailing = completed - c.survived_runs;
    if (baselineSurvived(b)) {
      if (forkFailing * 2 > completed) {
        add(
          'fork-regression',
          cell,
          `survived in the baseline, now forks fail in ${forkFailing} of ${completed} runs (first after ${formatNumber(c.first_fork_failure_s)} s)`,
        );
      } else if (forkFailing > 0) {
        add(
          'fork-flaky',
          cell,
          `survived in the baseline, now forks fail in ${forkFailing} of ${completed} runs (minority: not counted as a regression)`,
        );
      }
    } else if (b.first_fork_failure_s !== null && forkFailing === 0) {
      add('now-survives', cell, `forks failed in the baseline (after ${formatNumber(b.first_fork_failure_s)} s), now every run survives`);
    }
    const bp = b.reap_latency_p50_us;
    const cp = c.reap_latency_p50_us;
    if (bp !== null && cp !== null) {
      if (cp > bp * factor && cp - bp > minDelta) {
        add(
          'latency-regression',
          cell,
          `reap latency p50 ${formatNumber(cp)} µs vs ${formatNumber(bp)} µs in the baseline (×${(cp / bp).toFixed(2)} > ×${factor})`,
        );
      } else if (bp > cp * factor && bp - cp > minDelta) {
        add(
          'latency-improved',
          cell,
          `reap latency p50 ${formatNumber(cp)} µs vs ${formatNumber(bp)} µs in the baseline (×${(cp / bp).toFixed(2)})`,
        );
      }
    }
  }
  const regressions = findings.filter((f) => f.regression);
  const compared = baseline.length - findings.filter((f) => f.kind === 'missing-in-current').length;
  return { findings, regressions, messages: findings.map((f) => f.message), compared };
}

/** Whether every completed baseline run survived (no fork failure). */
function baselineSurvived(b: BaselineRow): boolean {
  if (b.runs !== null && b.failed_runs !== null && b.survived_runs !== null) {
    const completed = b.runs - b.failed_runs - (b.aborted_runs ?? 0);
    return completed > 0 && b.survived_runs === completed;
  }
  return b.first_fork_failure_s === null;
}

function keyOf(r: CellKey): CellKey {
  return {
    init: r.init,
    scenario: r.scenario,
    pids_limit: r.pids_limit,
    rate_per_s: r.rate_per_s,
    lifetime_ms: r.lifetime_ms,
    duration_s: r.duration_s,
  };
}

/**
 * Parse the text of a summary.csv into baseline rows (pure).
 * @param source file name used in error messages.
 * @throws ReapbenchError (exit code 2) with a one-line message for a malformed file.
 */
export function parseBaselineCsv(text: string, source = 'baseline'): BaselineRow[] {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (err) {
    throw usageError(`${source} is not a valid CSV file: ${(err as Error).message.split('\n')[0]}`);
  }
  if (records.length === 0) throw usageError(`${source} has no data rows: expected a reapbench summary.csv`);
  if ('repetition' in records[0]! && !('runs' in records[0]!)) {
    throw usageError(`${source} is a runs.csv (one row per run): pass the summary.csv of the same results folder`);
  }
  const missing = BASELINE_REQUIRED_COLUMNS.filter((c) => !(c in records[0]!));
  if (missing.length > 0) {
    throw usageError(`${source} is not a reapbench summary.csv: missing column(s) ${missing.join(', ')}`);
  }
  return records.map((rec, i) => {
    const line = i + 2; // header is line 1
    const num = (col: string, nullable: boolean): number | null => {
      const raw = rec[col];
      if (raw === undefined) return null;
      if (raw === '') {
        if (nullable) return null;
        throw usageError(`${source} line ${line}: \`${col}\` is empty`);
      }
      const v = Number(raw);
      if (!Number.isFinite(v)) throw usageError(`${source} line ${line}: expected \`${col}\` to be a number, got \`${raw}\``);
      return v;
    };
    const init = rec.init ?? '';
    if (!(INITS as readonly string[]).includes(init)) {
      throw usageError(`${source} line ${line}: unknown init \`${init}\` (expected one of ${INITS.join(', ')})`);
    }
    if (!rec.scenario) throw usageError(`${source} line ${line}: \`scenario\` is empty`);
    return {
      init: init as InitName,
      scenario: rec.scenario,
      pids_limit: num('pids_limit', false)!,
      rate_per_s: num('rate_per_s', false)!,
      lifetime_ms: num('lifetime_ms', false)!,
      duration_s: num('duration_s', false)!,
      runs: num('runs', true),
      failed_runs: num('failed_runs', true),
      aborted_runs: num('aborted_runs', true),
      survived_runs: num('survived_runs', true),
      first_fork_failure_s: num('first_fork_failure_s', true),
      reap_latency_p50_us: num('reap_latency_p50_us', true),
    };
  });
}

/**
 * Read and parse a baseline summary.csv.
 * @throws ReapbenchError (exit code 2) with a one-line message when the file is missing,
 * unreadable or malformed.
 */
export async function readBaseline(file: string): Promise<BaselineRow[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? (err as Error).message);
    throw usageError(`Cannot read baseline \`${file}\` (${why}): pass the summary.csv of an earlier run`);
  }
  return parseBaselineCsv(text, `baseline \`${file}\``);
}
