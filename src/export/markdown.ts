import type { InitName } from '../model/inits.js';
import { completedRuns, type EnvironmentRecord, type RunRecord, type SummaryRow } from '../model/records.js';
import { cellKey, compareCells, configLabel, initIndex } from '../stats/config-key.js';
import { medianOrNull } from '../stats/summary.js';
import { formatNumber, formatWithSpread, partialClause, plural } from './format.js';
import { INIT_DESCRIPTIONS } from '../model/init-notes.js';
import { zombieHoldersSection } from './holders-md.js';

/** What report.md is made of. */
export interface MarkdownInput {
  runs: readonly RunRecord[];
  summary: readonly SummaryRow[];
  env: EnvironmentRecord | null;
  /** The run was interrupted (or is still going): the report carries a PARTIAL banner. */
  partial: boolean;
  /** Why it is partial (one line), e.g. `interrupted by SIGINT`; absent while the run is still going. */
  partialReason?: string;
  /** Data-quality warnings (one line each, see stats/quality.ts); omitted or empty: none. */
  warnings?: readonly string[];
  /** Charts written next to the report (paths relative to report.md); omitted: no chart section. */
  charts?: readonly { file: string; title: string }[];
}

/**
 * report.md: a PARTIAL banner when the run was interrupted, the environment, the summary
 * table (medians over completed runs; Δ = spread, max − min), how each figure was measured, who
 * held the zombies (kernel instrument only), notes per init, the runs that did not complete (failed, timed out, aborted)
 * with their reasons, and links to the charts. Pure.
 */
export function renderMarkdown(input: MarkdownInput): string {
  const { runs, summary, env, partial } = input;
  const out: string[] = ['# reapbench report', ''];
  if (partial) {
    out.push(
      `> **PARTIAL**: ${partialClause(input.partialReason && oneLine(input.partialReason))}. ` +
        `It holds the ${plural(runs.filter((r) => r.state !== 'aborted').length, 'run')} measured until then; configurations may be missing or have fewer repetitions.`,
      '',
    );
  }
  out.push(
    ...environmentSection(env),
    ...summarySection(summary),
    ...howMeasuredSection(runs, summary, env),
    ...zombieHoldersSection(runs),
    ...notesSection(summary),
  );
  if (input.warnings && input.warnings.length > 0) {
    out.push('## Data quality', '', ...input.warnings.map((w) => `- ${oneLine(w)}`), '');
  }
  out.push(...failedSection(runs));
  if (input.charts) out.push(...chartsSection(input.charts));
  out.push(
    '## Files',
    '',
    // Not a relative link: this folder is wherever --out put it, and holds no README.
    'runs.csv (one row per run), summary.csv (one row per init × configuration), env.json, events.ndjson[.gz] (raw load-generator events), charts/*.svg, records.json (every record in full, for reapbench merge). Every column is explained in `results/README.md` of the reapbench source tree (not in this folder).',
    '',
  );
  return out.join('\n');
}

function environmentSection(env: EnvironmentRecord | null): string[] {
  if (!env) return ['## Environment', '', 'Not recorded.', ''];
  const rows: [string, string][] = [
    ['reapbench', `${env.reapbench_version}${env.git_commit ? ` (${env.git_commit.slice(0, 12)})` : ''}`],
    ['started', env.started_at],
    ['node', env.node_version],
    ['kernel', env.kernel],
    ['CPU', `${env.cpu_model} × ${env.cpus}`],
    ['engine', `${env.engine_version} (API ${env.engine_api_version}), cgroup v${env.cgroup_version}`],
    ['image', `${env.image} ${env.image_id.slice(0, 19)}`],
    ['base image', `${env.base_mode}: ${env.base_reason}`],
    ['command', `reapbench ${env.argv.join(' ')}`.trim()],
    ...shardRows(env),
  ];
  return ['## Environment', '', '| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`), ''];
}

/**
 * The environment rows of a sharded run: which shard (none for a whole matrix, 1 of 1), or for a
 * merged folder which shards it joined, which are missing, and each shard's machine and command
 * (the rows above are the first shard's).
 */
function shardRows(env: EnvironmentRecord): [string, string][] {
  const m = env.merged;
  if (m) {
    const missing = m.missing.length > 0 ? `; missing: ${m.missing.join(', ')}` : '';
    return [
      ['shards', `merged ${m.shards.join(', ')} of ${m.count} (matrix ${m.fingerprint})${missing}`],
      ...m.environments.map((e): [string, string] => [
        `shard ${e.shard?.index ?? '?'}`,
        `${e.started_at}, ${e.cpu_model} × ${e.cpus}, kernel ${e.kernel}: reapbench ${e.argv.join(' ')}`,
      ]),
    ];
  }
  if (env.shard && env.shard.count > 1) return [['shard', `${env.shard.index} of ${env.shard.count} (matrix ${env.shard.fingerprint})`]];
  return [];
}

function summarySection(summary: readonly SummaryRow[]): string[] {
  const head = [
    'init',
    'scenario',
    'pids limit',
    'rate /s',
    'runs (failed, aborted)',
    'survived',
    'first fork failure s',
    'orphans before failure',
    'zombies peak',
    'reap p50 µs',
    'reap p99 µs',
    'unreaped',
    'PID 1 CPU ms',
    'PID 1 RSS KiB',
  ];
  const rows = [...summary].sort(compareCells).map((r) => [
    `\`${r.init}\``,
    r.scenario,
    String(r.pids_limit),
    String(r.rate_per_s),
    `${r.runs} (${r.failed_runs}, ${r.aborted_runs})`,
    `${r.survived_runs}/${completedRuns(r)}`,
    // No fork failure in a cell where no run completed is no evidence of survival.
    r.first_fork_failure_s !== null
      ? formatWithSpread(r.first_fork_failure_s, r.first_fork_failure_spread_s)
      : completedRuns(r) > 0
        ? 'survived'
        : 'no completed run',
    formatNumber(r.orphans_before_failure),
    formatNumber(r.zombies_peak),
    formatWithSpread(r.reap_latency_p50_us, r.reap_latency_p50_spread_us),
    formatNumber(r.reap_latency_p99_us),
    formatNumber(r.unreaped),
    formatNumber(r.pid1_cpu_ms),
    formatNumber(r.pid1_rss_kib),
  ]);
  if (rows.length === 0) return ['## Summary', '', 'No run was recorded.', ''];
  return [
    '## Summary',
    '',
    'Medians over the completed repetitions; Δ is the spread (max − min). "failed": crashed or timed out; "aborted": cut short by an interrupt. "survived": completed runs in which no fork failed.',
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i < 3 ? '---' : '--:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    '',
  ];
}

/**
 * How each figure of the summary was measured and where it stops being exact: per row the
 * latency method the runs recorded (whatever value `latency_method` holds), the orphans never
 * measured (`missed`) and the watcher's lag; then the zombie sampling rate and the resolution of
 * PID 1's CPU time. From the completed runs, as the summary.
 */
function howMeasuredSection(runs: readonly RunRecord[], summary: readonly SummaryRow[], env: EnvironmentRecord | null): string[] {
  if (summary.length === 0) return [];
  const done = runs.filter((r) => r.state === 'completed');
  const rows = [...summary].sort(compareCells).map((s) => {
    const rs = done.filter((r) => cellKey(r) === cellKey(s));
    const methods = [...new Set(rs.map((r) => r.latency_method).filter((m): m is string => m !== null))];
    const missed = rs.reduce((a, r) => a + r.missed, 0);
    const made = rs.reduce((a, r) => a + r.orphans_made, 0);
    const lags = rs.map((r) => r.watcher_lag_p99_us).filter((v): v is number => v !== null);
    return [
      `\`${s.init}\``,
      configLabel(s),
      methods.length ? methods.map((m) => `\`${m}\``).join(', ') : '–',
      rs.length ? `${missed} of ${made}` : '–',
      formatNumber(medianOrNull(lags)),
      formatNumber(s.reap_latency_p50_us),
    ];
  });
  const allMethods = new Set(done.map((r) => r.latency_method));
  const kernel = allMethods.has('ebpf');
  const watcher = [...allMethods].some((m) => m !== null && m !== 'ebpf');
  const hz = [...new Set(runs.map((r) => r.zombie_sample_hz).filter((v): v is number => v !== null))];
  const sampled = hz.length
    ? `sampled at ${hz.map(formatNumber).join(' or ')} Hz inside the container (a count of the processes in state Z in /proc), so a zombie that lives shorter than ${hz.map((h) => formatNumber(1000 / h)).join(' or ')} ms can be missed`
    : "sampled inside the container at the load generator's scan rate (not recorded in these runs)";
  const tick = env?.clk_tck;
  const cpu = tick
    ? `counted in clock ticks: its resolution is ${formatNumber(1000 / tick)} ms (CLK_TCK ${tick}, from \`getconf CLK_TCK\` on the host), so small values are rounded to ticks`
    : 'counted in clock ticks of 1/CLK_TCK s (CLK_TCK could not be read on the host; the load generator assumes 100, i.e. 10 ms)';
  const head = ['init', 'configuration', 'latency method', 'missed orphans (of made)', 'watcher lag p99 µs', 'reap p50 µs'];
  const text: string[] = [];
  if (kernel)
    text.push(
      'Rows measured by `ebpf`: per orphan, from the SIGCHLD its exit generated to the return of the `wait4`/`waitid` that reaped it, both seen by eBPF tracepoints in the kernel, outside the container (`src/tracer/`): exact to the nanosecond, with nothing of the instrument in the container (`instrument_tasks` 0). ' +
        "Missed orphans there are those that exited before their intermediate did and were adopted already as zombies (their wait includes the intermediate's life), or events the kernel lost (`lost_events`). " +
        "Zombies peak: counted from the same events, every exit and reap. PID 1 CPU ms: read from the host's /proc every 100 ms while PID 1 lived, up to the last reading.",
    );
  if (watcher)
    text.push(
      'Rows measured by a `pidfd-…` method: per orphan, from its exit to its reaping, seen through a pidfd by a watcher inside the container that is not its parent (see `src/loadgen/types.ts`). ' +
        "Orphans that exited before the watcher could open their pidfd (missed) are in no percentile. When the watcher's own p99 lag exceeds the p50 it measured, the latencies of that row are upper bounds set by the instrument. " +
        `Zombies peak: ${sampled}. PID 1 CPU ms: user + system time of PID 1 from /proc/1/stat.`,
    );
  text.push(`PID 1 CPU time is ${cpu}.`);
  return [
    '## How measured',
    '',
    text.join(' '),
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i < 3 ? '---' : '--:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    '',
  ];
}

function notesSection(summary: readonly SummaryRow[]): string[] {
  const inits = [...new Set(summary.map((r) => r.init))].sort((a, b) => initIndex(a) - initIndex(b));
  if (inits.length === 0) return [];
  const out = ['## Notes per init', ''];
  for (const init of inits) out.push(`- **${init}**: ${INIT_DESCRIPTIONS[init] ?? ''} ${initFacts(init, summary)}`.trimEnd());
  out.push('');
  return out;
}

/** Data-derived sentences about one init over all its configurations. */
function initFacts(init: InitName, summary: readonly SummaryRow[]): string {
  const rows = summary.filter((r) => r.init === init);
  const measured = rows.filter((r) => completedRuns(r) > 0);
  const failing = measured.filter((r) => r.first_fork_failure_s !== null);
  const facts: string[] = [];
  if (measured.length === 0) return 'No completed run.';
  facts.push(
    failing.length === 0
      ? `Survived every configuration measured (${measured.length}).`
      : `Forks failed in ${failing.length} of ${plural(measured.length, 'configuration')}, first after ${range(failing.map((r) => r.first_fork_failure_s))} s and ${range(failing.map((r) => r.orphans_before_failure))} orphans.`,
  );
  const p50 = measured.map((r) => r.reap_latency_p50_us).filter((v): v is number => v !== null);
  facts.push(p50.length ? `Reaping latency p50 ${range(p50)} µs.` : 'No orphan was seen reaped.');
  const unreaped = Math.max(...measured.map((r) => r.unreaped ?? 0));
  if (unreaped > 0) facts.push(`Up to ${formatNumber(unreaped)} orphans left unreaped at the end of a run.`);
  const failedRuns = rows.reduce((s, r) => s + r.failed_runs, 0);
  if (failedRuns > 0) facts.push(`${plural(failedRuns, 'run')} failed or timed out (see below).`);
  const abortedRuns = rows.reduce((s, r) => s + r.aborted_runs, 0);
  if (abortedRuns > 0) facts.push(`${plural(abortedRuns, 'run')} cut short by the interrupt (see below).`);
  return facts.join(' ');
}

function failedSection(runs: readonly RunRecord[]): string[] {
  const failed = runs.filter((r) => r.state !== 'completed');
  if (failed.length === 0) return ['## Runs that did not complete', '', 'None: every run completed.', ''];
  return [
    '## Runs that did not complete',
    '',
    'Recorded, counted in `failed_runs` (failed, timed-out) or `aborted_runs` (cut short by an interrupt), and left out of every median.',
    '',
    '| init | configuration | repetition | state | reason |',
    '|---|---|--:|---|---|',
    ...[...failed]
      .sort((a, b) => compareCells(a, b) || a.repetition - b.repetition)
      .map(
        (r) =>
          `| \`${r.init}\` | ${cell(configLabel(r))} | ${r.repetition} | ${r.state} | ${cell(r.failure_reason ?? '(no reason recorded)')} |`,
      ),
    '',
  ];
}

function chartsSection(charts: readonly { file: string; title: string }[]): string[] {
  if (charts.length === 0) return [];
  return ['## Charts', '', ...charts.flatMap((c) => [`### ${c.title}`, '', `![${c.title}](${c.file})`, '']), ''];
}

/** `a–b` over the non-null values (or `a` when they are equal). */
function range(xs: readonly (number | null)[]): string {
  const v = xs.filter((x): x is number => x !== null);
  if (v.length === 0) return '–';
  const lo = Math.min(...v);
  const hi = Math.max(...v);
  return lo === hi ? formatNumber(lo) : `${formatNumber(lo)}–${formatNumber(hi)}`;
}

/** Escape a value for a markdown table cell (pipes, newlines). */
function cell(s: string): string {
  return oneLine(s).replace(/\|/g, '\\|');
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
