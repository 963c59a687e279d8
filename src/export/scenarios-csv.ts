/**
 * scenarios.csv: one row per scenario run, the figures flattened into `fig_<name>` columns.
 */
import { stringify } from 'csv-stringify/sync';
import type { ScenarioResult } from '../scenarios/types.js';

/** Fixed CSV columns, in order; figures follow as `fig_<name>` columns (union over results). */
const CSV_COLUMNS = [
  'id',
  'scenario',
  'case',
  'init',
  'variant',
  'state',
  'verdict',
  'outcome',
  'expected',
  'expected_reason',
  'matches',
  'exit_code',
  'wall_s',
  'stop_latency_s',
  'pids_limit',
  'host_pids_peak',
  'host_fork_rejections',
  'host_pids_method',
  'kernel_zombies_peak',
  'kernel_zombies_end',
  'kernel_held_by',
  'kernel_first_eagain_s',
  'kernel_lost',
  'params',
  'failure_reason',
] as const;

/** scenarios.csv: one row per scenario run (RFC 4180 via csv-stringify). Pure. */
export function serializeScenariosCsv(results: readonly ScenarioResult[]): string {
  const figureKeys = [...new Set(results.flatMap((r) => Object.keys(r.figures)))].sort();
  const records = results.map((r) => [
    r.id,
    r.scenario,
    r.case ?? '',
    r.init,
    r.variant,
    r.state,
    r.verdict,
    r.outcome,
    r.expected.outcome,
    r.expected.reason,
    r.matches === null ? '' : String(r.matches),
    r.exitCode ?? '',
    r.wall_s.toFixed(3),
    r.stopLatency_s === null ? '' : r.stopLatency_s.toFixed(3),
    r.pidsLimit,
    r.hostPidsPeak ?? '',
    r.hostForkRejections ?? '',
    r.hostPidsMethod ?? '',
    r.kernel?.zombiesPeak ?? '',
    r.kernel?.zombiesAtEnd ?? '',
    r.kernel?.heldBy ?? '',
    r.kernel?.firstEagain_s ?? '',
    r.kernel?.lost ?? '',
    Object.entries(r.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    r.failureReason ?? '',
    ...figureKeys.map((k) => {
      const v = r.figures[k];
      return v === null || v === undefined ? '' : String(v);
    }),
  ]);
  return stringify(records, { header: true, columns: [...CSV_COLUMNS, ...figureKeys.map((k) => `fig_${k}`)] });
}
