import { completedRuns, type EnvironmentRecord, type RunRecord, type RunState, type SummaryRow } from '../model/records.js';
import { initIndex } from '../stats/config-key.js';

/**
 * Number formatting for human-readable tables (terminal and markdown; CSV keeps full values).
 * null → `–`; integers as they are; otherwise 0–2 decimals by size, 2 significant digits
 * below 1 (`0.00213` → `0.0021`, `3.14159` → `3.14`, `12.345` → `12.3`, `1234.5` → `1235`).
 */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  if (abs < 1) return String(Number(v.toPrecision(2)));
  return v.toFixed(abs >= 100 ? 0 : abs >= 10 ? 1 : 2);
}

/**
 * The PARTIAL banner's clause about the run, for report.md and scenarios.md. With `reason` (the
 * run is over and was cut short, e.g. `interrupted by SIGINT after 7 of 12 runs`): "this run did
 * not finish (reason)". Without: the file was written while the run was going, and whether it
 * goes on cannot be known from the file (a second Ctrl-C or a crash leaves this version behind),
 * so it says only what is known.
 */
export function partialClause(reason?: string): string {
  return reason
    ? `this run did not finish (${reason})`
    : 'this run had not finished when this file was last written (still running, or stopped before the end)';
}

/** `n` and the noun, plural unless n is 1: `1 run`, `2 runs`; `many` for an irregular plural. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A median with its spread (max − min) when the spread is > 0: `12.3 (Δ1.5)`; else `12.3`. */
export function formatWithSpread(v: number | null, spread: number | null): string {
  if (v === null) return formatNumber(v);
  return spread !== null && spread > 0 ? `${formatNumber(v)} (Δ${formatNumber(spread)})` : formatNumber(v);
}

/**
 * A summary row's `orphans_before_failure` for a table, said for what it is: a run that survived
 * counts every orphan it made in the whole run (as runs.csv and summary.csv do), so a row whose
 * completed runs all survived is marked `750 (whole run)`, and one whose runs only partly
 * survived, whose median mixes both kinds, `438 (mixed)`; `–` without a value. Pure.
 */
export function formatOrphansBeforeFailure(
  r: Pick<SummaryRow, 'orphans_before_failure' | 'survived_runs' | 'runs' | 'failed_runs' | 'aborted_runs'>,
): string {
  const v = formatNumber(r.orphans_before_failure);
  const completed = completedRuns(r);
  if (r.orphans_before_failure === null || completed === 0 || r.survived_runs === 0) return v;
  return `${v} (${r.survived_runs === completed ? 'whole run' : 'mixed'})`;
}

/** How {@link leftOutPhrase} names the runs of each state that did not complete. */
const NOT_COMPLETED: Record<Exclude<RunState, 'completed'>, string> = {
  failed: 'failed',
  'timed-out': 'timed out',
  aborted: 'aborted',
};

/**
 * The one short phrase a chart's legend or caption carries for the runs it leaves out: a run
 * that did not complete (failed, timed out, aborted) has no figure in any median, and its
 * samples, when it has any, stop wherever it broke off, so a line drawn from them would read as a
 * measurement. Per init (in INITS order), its runs by state, e.g.
 * `left out, did not complete: tini (1 timed out), ts-reaper (2 failed)`; null when every run
 * completed. Pure.
 */
export function leftOutPhrase(runs: readonly Pick<RunRecord, 'init' | 'state'>[]): string | null {
  const left = runs.filter((r) => r.state !== 'completed');
  if (left.length === 0) return null;
  const inits = [...new Set(left.map((r) => r.init))].sort((a, b) => initIndex(a) - initIndex(b));
  const parts = inits.map((init) => {
    const counts = Object.entries(NOT_COMPLETED)
      .map(([state, words]) => ({ n: left.filter((r) => r.init === init && r.state === state).length, words }))
      .filter((c) => c.n > 0);
    return `${init} (${counts.map((c) => `${c.n} ${c.words}`).join(', ')})`;
  });
  return `left out, did not complete: ${parts.join(', ')}`;
}

/**
 * What ran the containers, for report.md's `engine` row and scenarios.md's header: the engine,
 * its version, its Engine API version and the cgroup version (`docker 20.10.24 (API 1.41),
 * cgroup v1`); for the namespace runtime, which has no engine and no API, that there is none and
 * what it runs on instead (`none: the namespace runtime (unshare, util-linux 2.38.1), cgroup v2`).
 * Pure.
 */
export function engineLabel(
  env: Pick<EnvironmentRecord, 'engine_name' | 'engine_version' | 'engine_api_version' | 'cgroup_version'>,
): string {
  // Records older than engine_name were all Docker's; those older than a null API version hold `-`.
  const name = env.engine_name ?? 'docker';
  const api = env.engine_api_version;
  const engine =
    name === 'namespace'
      ? `none: the namespace runtime (unshare, util-linux ${env.engine_version})`
      : api === null || api === '-'
        ? `${name} ${env.engine_version}`
        : `${name} ${env.engine_version} (API ${api})`;
  return `${engine}, cgroup v${env.cgroup_version}`;
}
