import { stringify } from 'csv-stringify/sync';
import type { RunRecord } from '../model/records.js';
import { csvValue } from './csv-value.js';
import { CONFIG_FIELDS } from '../model/config.js';

/** RunRecord fields that are not CSV columns (arrays, kept for charts). */
type NonScalarField = 'series' | 'latency_histogram' | 'zombies_by_parent';
/** RunRecord fields that are runs.csv columns. */
export type RunsCsvColumn = Exclude<keyof RunRecord, NonScalarField>;

/**
 * Columns of runs.csv, in order: every scalar field of {@link RunRecord} (units in the names,
 * documented in results/README.md). `series`, `latency_histogram` and `zombies_by_parent` are left out.
 */
export const RUNS_CSV_COLUMNS = [
  'init',
  ...CONFIG_FIELDS,
  'repetition',
  'order',
  'state',
  'failure_reason',
  'started_at',
  'wall_s',
  'exit_code',
  'orphans_made',
  'orphans_exited',
  'orphans_reaped',
  'unreaped',
  'missed',
  'achieved_rate_per_s',
  'first_fork_failure_s',
  'orphans_before_failure',
  'fork_failures',
  'first_failure_level',
  'first_failure_errno',
  'first_failure_comm',
  'zombies_peak',
  'zombies_held_by',
  'zombie_sample_hz',
  'pids_peak',
  'pids_method',
  'baseline_tasks',
  'effective_budget',
  'instrument_tasks',
  'reap_latency_p50_us',
  'reap_latency_p90_us',
  'reap_latency_p99_us',
  'reap_latency_max_us',
  'latency_method',
  'pidfd_latency_p50_us',
  'pidfd_latency_p99_us',
  'lost_events',
  'littles_law_latency_us',
  'watcher_lag_p99_us',
  'pid1_cpu_ms',
  'pid1_rss_kib',
] as const satisfies readonly RunsCsvColumn[];

// Compile-time check: a scalar field added to RunRecord must be added above (and to
// results/README.md), or this line stops compiling.
const allRunColumnsListed: Exclude<RunsCsvColumn, (typeof RUNS_CSV_COLUMNS)[number]> extends never ? true : never = true;
void allRunColumnsListed;

/** runs.csv: a header line, then one line per run in the given order (RFC 4180, `\n` ends). */
export function serializeRunsCsv(runs: readonly RunRecord[]): string {
  return stringify(
    runs.map((r) => RUNS_CSV_COLUMNS.map((c) => csvValue(r[c]))),
    { header: true, columns: [...RUNS_CSV_COLUMNS], record_delimiter: '\n' },
  );
}
