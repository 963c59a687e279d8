import { stringify } from 'csv-stringify/sync';
import type { SummaryRow } from '../model/records.js';
import { csvValue } from './csv-value.js';
import { CONFIG_FIELDS } from '../model/config.js';

/**
 * Columns of summary.csv, in order: every field of {@link SummaryRow} (units in the names,
 * documented in results/README.md). Empty cells are nulls: `first_fork_failure_s` is empty
 * when every completed run survived; statistics are empty when no completed run had a value.
 */
export const SUMMARY_CSV_COLUMNS = [
  'init',
  ...CONFIG_FIELDS,
  'runs',
  'failed_runs',
  'aborted_runs',
  'survived_runs',
  'first_fork_failure_s',
  'first_fork_failure_spread_s',
  'orphans_before_failure',
  'zombies_peak',
  'reap_latency_p50_us',
  'reap_latency_p50_spread_us',
  'reap_latency_p90_us',
  'reap_latency_p99_us',
  'reap_latency_max_us',
  'unreaped',
  'pid1_cpu_ms',
  'pid1_rss_kib',
  'achieved_rate_per_s',
  'baseline_tasks',
  'effective_budget',
] as const satisfies readonly (keyof SummaryRow)[];

// Compile-time check: a field added to SummaryRow must be added above (and to results/README.md).
const allSummaryColumnsListed: Exclude<keyof SummaryRow, (typeof SUMMARY_CSV_COLUMNS)[number]> extends never ? true : never = true;
void allSummaryColumnsListed;

/** summary.csv: a header line, then one line per init × configuration in the given order. */
export function serializeSummaryCsv(summary: readonly SummaryRow[]): string {
  return stringify(
    summary.map((r) => SUMMARY_CSV_COLUMNS.map((c) => csvValue(r[c]))),
    { header: true, columns: [...SUMMARY_CSV_COLUMNS], record_delimiter: '\n' },
  );
}
