/**
 * scenarios.md, as pure functions of the scenario results: a scenario × init table in markdown
 * (one cell per init, its variants on separate lines), a detail
 * table with the figures behind each verdict, and the whole report around them.
 */
import { INITS } from '../model/inits.js';
import { SCENARIO_NAMES, type ScenarioResult } from '../scenarios/types.js';
import { partialClause, plural } from './format.js';

// The terminal's scenario table (src/terminal/) reads results through this module.
export type { ScenarioResult };

/** Escape a cell for a markdown table (pipes and newlines). */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** A result's verdict with a mark when it differs from the expectation (`… ✗ (expected ok)`). Pure. */
export function marked(r: ScenarioResult): string {
  if (r.matches === false) return `${r.verdict} ✗ (expected ${r.expected.outcome})`;
  return r.verdict;
}

/** Row key of a result: `S6 stop-latency (launcher)`. */
export function rowKey(r: Pick<ScenarioResult, 'id' | 'scenario' | 'case'>): string {
  return `${r.id} ${r.scenario}${r.case ? ` (${r.case})` : ''}`;
}

/** The row keys ({@link rowKey}) in library order (scenario, then case as run). Pure. */
export function rows(results: readonly ScenarioResult[]): string[] {
  const order = new Map(SCENARIO_NAMES.map((name, i) => [name as string, i]));
  const keys: { key: string; rank: number; seen: number }[] = [];
  for (const [i, r] of results.entries()) {
    const key = rowKey(r);
    if (!keys.some((k) => k.key === key)) keys.push({ key, rank: order.get(r.scenario) ?? 99, seen: i });
  }
  return keys.sort((a, b) => a.rank - b.rank || a.seen - b.seen).map((k) => k.key);
}

/**
 * The headline table: one row per scenario (and case), one column per init; a cell lists the
 * init's variants run for that scenario, the plain one first, as `flags: verdict`.
 */
export function scenarioMatrixMarkdown(results: readonly ScenarioResult[]): string {
  const inits = INITS.filter((i) => results.some((r) => r.init === i));
  const lines = [`| scenario | ${inits.join(' | ')} |`, `|---|${inits.map(() => '---').join('|')}|`];
  for (const key of rows(results)) {
    const cells = inits.map((init) => {
      const rs = results.filter((r) => rowKey(r) === key && r.init === init);
      if (rs.length === 0) return '–';
      return rs.map((r) => cell(r.flags.length ? `**${r.flags.join(' ')}**: ${marked(r)}` : marked(r))).join('<br>');
    });
    lines.push(`| ${cell(key)} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The figures most worth a column in the detail table, when present. */
const DETAIL_FIGURES = [
  'zombies_end',
  'zombies_peak',
  'adopters',
  'live_orphans_pid1',
  'fork_failures',
  'first_fork_failure_s',
  'pids_peak',
  'pids_max',
  'stop_latency_s',
  'handler_started',
  'handler_finished',
  'live_count',
  'zombie_count',
  'baseline_tasks',
  'zombie_downstream',
  'leftover_sessions',
];

function fig(v: unknown): string {
  if (v === null || v === undefined || v === '') return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return String(v);
}

/**
 * The outcomes an expectation accepts, the documented one first: `handler-skipped (or
 * handler-cut-short)`. A race's other outcome is named so that a verdict showing it does not
 * read as contradicting the expected column.
 */
function expectedOutcomes(e: ScenarioResult['expected']): string {
  return e.alsoAccept?.length ? `${e.outcome} (or ${e.alsoAccept.join(', or ')})` : e.outcome;
}

/** One row per run: verdict, expectation, match, exit status, wall time and key figures. */
export function detailMarkdown(results: readonly ScenarioResult[]): string {
  const lines = ['| scenario | init | verdict | expected (why) | match | exit | wall s | figures |', '|---|---|---|---|---|---|---|---|'];
  for (const r of results) {
    const figures = DETAIL_FIGURES.filter((k) => fig(r.figures[k]) !== '')
      .map((k) => `${k}=${fig(r.figures[k])}`)
      .join(', ');
    const match = r.matches === null ? '–' : r.matches ? 'yes' : '**no**';
    lines.push(
      `| ${cell(rowKey(r))} | ${cell(r.variant)} | ${cell(r.verdict)} | ${cell(`${expectedOutcomes(r.expected)}: ${r.expected.reason}`)} | ${match} | ${r.exitCode ?? ''} | ${r.wall_s.toFixed(1)} | ${cell(figures)} |`,
    );
  }
  return lines.join('\n');
}

/** Facts printed above the tables. */
export interface ReportMeta {
  /** The command that produced the results. */
  command: string;
  /** ISO time the run started. */
  startedAt: string;
  /** Image tag and base mode (`offline`/`registry`). */
  image: string;
  /**
   * The engine, its versions and the cgroup version, e.g. `docker 20.10.24 (API 1.41), cgroup v1`
   * (written by `engineLabel`); older results say `Docker 20.10.24, cgroup v1`.
   */
  engine: string;
  /**
   * The table is incomplete: `true` while the run is going (the file is rewritten after each
   * run), or why it ended short (e.g. `interrupted by SIGINT after 3 of 28 runs`); absent when
   * it is complete.
   */
  partial?: string | true;
  /**
   * Set in a folder `reapbench merge` wrote: which shards it joined, one line (e.g. `shards 1, 2
   * of 3`), shown under the command, which is the first shard's; absent otherwise.
   */
  merged?: string;
}

/** scenarios.md: the command, a PARTIAL banner when unfinished, headline table, counts, legend and details. Pure. */
export function renderScenariosMarkdown(results: readonly ScenarioResult[], meta: ReportMeta): string {
  // Every run lands in exactly one count: failed or timed out, interrupted, as expected, not, or
  // ended without a verdict to compare (e.g. the workload printed no observation).
  const failed = results.filter((r) => r.state === 'failed' || r.state === 'timed-out');
  const aborted = results.filter((r) => r.state === 'aborted');
  const ended = results.filter((r) => r.state === 'completed' || r.state === 'skipped');
  const mismatches = ended.filter((r) => r.matches === false);
  const noVerdict = ended.filter((r) => r.matches === null).length;
  return [
    '# Scenario library: which PID 1 fixes which pattern',
    '',
    `Command: \`${meta.command}\` — ${meta.startedAt}, image ${meta.image}, ${meta.engine}.`,
    '',
    ...(meta.merged ? [`Merged by reapbench merge from ${meta.merged}; each shard's command and machine are in env.json.`, ''] : []),
    ...(meta.partial
      ? [`> **PARTIAL**: ${partialClause(meta.partial === true ? undefined : meta.partial)}; scenarios and inits may be missing.`, '']
      : []),
    scenarioMatrixMarkdown(results),
    '',
    `${plural(results.length, 'run')}; ${ended.filter((r) => r.matches === true).length} as expected, ${mismatches.length} not${mismatches.length ? ` (${mismatches.map((r) => `${rowKey(r)} / ${r.variant}`).join('; ')})` : ''}; ${failed.length} failed or timed out${aborted.length ? `; ${aborted.length} interrupted` : ''}${noVerdict > 0 ? `; ${noVerdict} without a verdict` : ''}.`,
    '',
    "Reading it: `ok` = no zombie left; `leaks N zombies/unit` = zombies left per cycle, with who holds them; `cannot help: …` = the init is not in a position to help by design (an orphan whose parent is alive, a process outside the signalled group), neither its failure nor its success; S6 gives stop latency, exit status (137 = SIGKILL after the grace, 143 = SIGTERM honoured) and whether the worker's SIGTERM handler ran; ✗ marks a result that differs from the documented behaviour.",
    '',
    '## Details',
    '',
    detailMarkdown(results),
    '',
  ].join('\n');
}
