import type { InitName } from '../model/inits.js';
import { completedRuns, type EnvironmentRecord, type RunRecord, type SummaryRow } from '../model/records.js';
import { cellKey, compareCells, configLabel, initIndex } from '../stats/config-key.js';
import { medianOrNull } from '../stats/summary.js';
import { engineLabel, formatNumber, formatOrphansBeforeFailure, formatWithSpread, partialClause, plural } from './format.js';
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
    ...notesSection(summary, env),
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
    'runs.csv (one row per run), summary.csv (one row per init × configuration), env.json, events.ndjson[.gz] (raw events of the load generator inside the container; empty for runs measured by the kernel instrument, whose figures are in runs.csv and records.json), charts/*.svg, records.json (every record in full, for reapbench merge). Every column is explained in `results/README.md` of the reapbench source tree (not in this folder).',
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
    ['engine', engineLabel(env)],
    ...(env.engine_choice ? [['runtime', env.engine_choice] as [string, string]] : []),
    ["the engine's init (`docker-init` row)", env.engine_init ?? 'docker-init'],
    // The namespace runtime has no image: its reason says what stands in for one.
    ...(env.base_mode === 'host'
      ? [['image', env.base_reason] as [string, string]]
      : [
          ['image', `${env.image} ${env.image_id.slice(0, 19)}`] as [string, string],
          ['base image', `${env.base_mode}: ${env.base_reason}`] as [string, string],
        ]),
    ['command', `reapbench ${env.argv.join(' ')}`.trim()],
    ...shardRows(env),
  ];
  return ['## Environment', '', '| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${cell(v)} |`), ''];
}

/**
 * The environment rows of a sharded run: which shard (none for a whole matrix, 1 of 1), or for a
 * merged folder which shards it joined, which are missing, which had nothing to run, and each
 * shard's machine and command (the rows above are the first shard's).
 */
function shardRows(env: EnvironmentRecord): [string, string][] {
  const m = env.merged;
  if (m) {
    const missing = m.missing.length > 0 ? `; missing: ${m.missing.join(', ')}` : '';
    const empty = m.empty.length > 0 ? `; nothing to run: ${m.empty.join(', ')}` : '';
    return [
      ['shards', `merged ${m.shards.join(', ')} of ${m.count} (matrix ${m.fingerprint})${missing}${empty}`],
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
    formatOrphansBeforeFailure(r),
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
 * How each figure of report.md's tables was measured and where it stops being exact. First the
 * reaping latency per method the runs recorded (whatever value `latency_method` holds) with the
 * orphans it never measured (`missed`); then one line per other figure, method and limits, with a
 * clause for each source present among the completed runs: the kernel and the host's /proc
 * (`instrument_tasks` 0: `orphanage solo`, or a user's image), the in-container load generator
 * (`pidfd-…` or `both`), a user's image (scenario `image`). Last, per row, the latency method,
 * missed orphans, the watcher's lag and the p50. From the completed runs, as the summary.
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
  // `--instrument both`: the kernel's latencies, and the watcher in the container for the rest.
  const both = done.some((r) => r.latency_method === 'ebpf' && r.instrument_tasks !== 0);
  // orphanage solo's rows: an image's have no intermediates, and count no orphan as missed.
  const kernelAlone = done.some((r) => r.latency_method === 'ebpf' && r.instrument_tasks === 0 && r.scenario !== 'image');
  const watcher = [...allMethods].some((m) => m !== null && m !== 'ebpf');
  const head = ['init', 'configuration', 'latency method', 'missed orphans (of made)', 'watcher lag p99 µs', 'reap p50 µs'];
  const text: string[] = [];
  if (kernel)
    text.push(
      'Rows measured by `ebpf`: per orphan, from the SIGCHLD its exit generated to the return of the `wait4`/`waitid` that reaped it, both seen by eBPF tracepoints in the kernel, outside the container (`src/tracer/`): exact to the nanosecond, and nothing of the tracer runs in the container.',
    );
  if (kernelAlone)
    text.push(
      "Missed orphans there are those that exited before their intermediate did and were adopted already as zombies (their wait includes the intermediate's life), or events the kernel lost (`lost_events`).",
    );
  if (both)
    text.push(
      "Rows measured with `--instrument both` (`instrument_tasks` > 0) also ran the pidfd watcher in the container: their missed orphans are the watcher's (gone before it could open their pidfd), and its p50 and p99 are kept beside the kernel's in runs.csv (`pidfd_latency_p50_us`, `pidfd_latency_p99_us`).",
    );
  if (watcher)
    text.push(
      'Rows measured by a `pidfd-…` method: per orphan, from its exit to its reaping, seen through a pidfd by a watcher inside the container that is not its parent (see `src/loadgen/types.ts`). ' +
        "Orphans that exited before the watcher could open their pidfd (missed) are in no percentile. When the watcher's own p99 lag exceeds the p50 it measured, the latencies of that row are upper bounds set by the instrument.",
    );
  const figures = figureNotes(done, summary, env);
  return [
    '## How measured',
    '',
    ...(text.length ? [text.join(' '), ''] : []),
    'Each figure of the tables, its method and its limits:',
    '',
    ...figures.map((f) => `- ${f}`),
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i < 3 ? '---' : '--:')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
    '',
  ];
}

/**
 * One line per figure of report.md's tables: what it is, how it was measured and its limits,
 * with a clause per source present in `done` (the completed runs): the kernel and the host's
 * /proc (`instrument_tasks` 0) for `orphanage solo`'s rows and for a user's image's (scenario
 * `image`, `run --image`), apart where the two differ; the in-container load generator
 * (`pidfd-…`, or `both`). A figure with no source present says only what it is. Pure.
 */
/** What an `image rows read from the host` clause says where a figure does not say more. */
const HOST_ONLY_DEFAULT = "read from the host's /proc every 100 ms while PID 1 lived";

function figureNotes(done: readonly RunRecord[], summary: readonly SummaryRow[], env: EnvironmentRecord | null): string[] {
  // An image's rows are measured by the kernel instrument, or without it from the host's
  // readings alone (`run --image --instrument host`: no latency method, zombies sampled).
  const imageHost = done.some((r) => r.scenario === 'image' && r.latency_method === null);
  const image = done.some((r) => r.scenario === 'image' && r.latency_method !== null);
  const solo = done.some((r) => r.instrument_tasks === 0 && r.scenario !== 'image');
  const inside = done.some((r) => r.instrument_tasks !== 0);
  // `host`: the method of the kernel and the host's /proc, the same for solo's rows and an
  // image's, or [solo's, an image's] where they differ; `load`: the in-container load generator's;
  // `hostOnly`: an image's rows read from the host without the kernel instrument.
  const by = (host: string | readonly [string, string], load: string, hostOnly = HOST_ONLY_DEFAULT): string => {
    const [forSolo, forImage] = typeof host === 'string' ? [host, null] : host;
    return [
      solo || (image && forImage === null) ? `from outside (kernel and host): ${forSolo}` : '',
      image && forImage !== null ? `image rows: ${forImage}` : '',
      imageHost ? `image rows read from the host without the kernel instrument: ${hostOnly}` : '',
      inside ? `from the in-container load generator: ${load}` : '',
    ]
      .filter(Boolean)
      .join('; ');
  };
  const hz = [...new Set(done.map((r) => r.zombie_sample_hz).filter((v): v is number => v !== null))];
  const sampled = hz.length
    ? `sampled at ${hz.map(formatNumber).join(' or ')} Hz (a count of the processes in state Z in /proc), so a zombie that lives shorter than ${hz.map((h) => formatNumber(1000 / h)).join(' or ')} ms can be missed`
    : "sampled at the load generator's scan rate (not recorded in these runs), so a short-lived zombie can be missed";
  const tick = env?.clk_tck;
  const cpuTick = tick
    ? `counted in clock ticks: its resolution is ${formatNumber(1000 / tick)} ms (CLK_TCK ${tick}, from \`getconf CLK_TCK\` on the host), so small values are rounded to ticks`
    : 'counted in clock ticks of 1/CLK_TCK s (CLK_TCK could not be read on the host; the load generator assumes 100, i.e. 10 ms)';
  const noneInside = inside && summary.some((r) => r.init === 'none');
  const lines: string[][] = [
    [
      '**rate /s**: the target orphan rate, set, not measured; the rate reached is `achieved_rate_per_s` in runs.csv, and a data-quality warning says when it fell short.',
      image ? 'Image rows: 0, there is no synthetic load.' : '',
    ],
    [
      '**survived**: completed runs in which no fork failed, as *first fork failure* sees failures (next line).',
      "Limit: only over the run's production time (`dur` in the configuration) and its drain; a longer run may still fail.",
    ],
    [
      '**first fork failure s**: time from the start of orphan production to the first fork that failed, to 0.1 ms; the median over the completed runs in which one failed (Δ their spread), `survived` when none did, `no completed run` when no run completed.',
      sentence(
        by(
          `the first \`clone\`/\`fork\` of any process in the container that returned EAGAIN (a pids limit refused it), from its tracepoint: PID 1 creating a thread counts too, other errors (ENOSYS from \`clone3\` under seccomp) do not${image ? "; image rows count from the container's start" : ''}`,
          "the first of its own forks (helper, intermediate, orphan) that failed, whatever the errno, timed where it failed: a fork that failed in another process (PID 1's) is not seen",
          "the first reading (every 100 ms) at which the container's `pids.events` counted a refused fork: up to 100 ms late, and which process failed is unknown",
        ),
      ),
    ],
    [
      "**orphans before failure**: the orphans the workload made before its first fork failed, by the workload's own count; in a run that survived, every orphan it made in the whole run (its `orphans_made`, as runs.csv and summary.csv count it).",
      'So a row whose runs all survived is marked "(whole run)", and one whose runs only partly survived "(mixed)": its median mixes the two kinds.',
      sentence(
        by(
          [
            "`orphanage solo` counts up to its own first failure, which may come after the kernel's first EAGAIN when another process (PID 1) failed first",
            "the adopted orphans the kernel saw forked before the first EAGAIN (the image's own processes; there is no workload of reapbench)",
          ],
          'the load generator counts up to its first failure',
          'not counted: the host cannot tell an adopted orphan from another process, so the 0 there means unknown',
        ),
      ),
    ],
    [
      '**zombies peak**: the most zombies at once in a run, median over the runs (so 1.5 is possible).',
      sentence(
        by(
          'counted from the kernel events of every exit and reap: exact',
          sampled,
          "the processes in state Z in the container's PID namespace, in the host's /proc every 100 ms: a zombie reaped between two readings is missed",
        ),
      ),
    ],
    [
      "**reap p50, p99 µs**: each run's percentile (interpolated between order statistics) of its orphans' zombie lifetimes, then the median over the runs (Δ the spread of the p50s); the method of each row is in the table below.",
      'Limit: a p99 over fewer than 100 reaped orphans lies between its largest values.',
    ],
    [
      '**unreaped**: orphans still zombies when the run ended, median over the runs.',
      sentence(
        by(
          [
            'the adopted orphans whose exit the kernel saw and that no `wait4`/`waitid` reaped before PID 1 exited (the kernel then releases them itself), after a drain of the orphan lifetime + 0.5 s',
            'the zombies in the container when `docker stop` was requested, from the kernel events',
          ],
          'the orphans the watcher saw exit and not reaped at the end of its drain (up to 2 s, less once every orphan has exited and none was reaped for 0.5 s)',
          "the zombies in the host's /proc when `docker stop` was requested",
        ),
      ),
      'Limit: an orphan never measured (missed) is in no count, and an init that reaps later than the drain counts as leaving it.',
    ],
    [
      '**PID 1 CPU ms**: user + system time of PID 1 during the run.',
      sentence(
        by(
          "read from the host's /proc every 100 ms while PID 1 lived: its whole life up to the last reading, so the work of at most its last 100 ms is missing",
          'from /proc/1/stat inside the container, at the end of the run less at its start',
        ),
      ),
      `It is ${cpuTick}.`,
    ],
    [
      '**PID 1 RSS KiB**: the highest resident set size of PID 1 among readings of its /proc stat (rss × 4 KiB pages).',
      sentence(
        by(
          'read from the host every 100 ms while PID 1 lived',
          "read inside the container at each of the load generator's samples (50 Hz)",
        ),
      ),
      'Limit: a peak between two readings is missed, so it is a lower bound; a kernel with pages other than 4 KiB is misread.',
    ],
    noneInside
      ? [
          'Under `none` measured by the in-container load generator, PID 1 is the load generator itself (Node): its CPU time and RSS are those of the instrument, not of an init.',
        ]
      : [],
    ["**missed orphans (of made)**: made by the workload's own count; missed as the latency method of the row defines it (above)."],
    [
      "**watcher lag p99 µs**: the in-container watcher's delay from the expiry of a 100 Hz timer in its own epoll set to its wake-up, p99 of a run, median over the runs: every exit and reap it observed is late by about this much.",
      '`–` where no watcher ran (the kernel instrument alone).',
    ],
  ];
  return lines.map((parts) => parts.filter(Boolean).join(' ')).filter(Boolean);
}

/** `s` with a capital first letter and a final period, or '' for ''. */
function sentence(s: string): string {
  return s ? `${s[0]!.toUpperCase()}${s.slice(1)}.` : '';
}

function notesSection(summary: readonly SummaryRow[], env: EnvironmentRecord | null): string[] {
  const inits = [...new Set(summary.map((r) => r.init))].sort((a, b) => initIndex(a) - initIndex(b));
  if (inits.length === 0) return [];
  const out = ['## Notes per init', ''];
  // The docker-init row is whatever the engine's --init is: on Podman, catatonit.
  // Under `run --image` the workload is the user's image: `none` is its own entrypoint.
  const imageOnly = summary.every((r) => r.scenario === 'image');
  const describe = (init: string): string =>
    init === 'docker-init' && env?.engine_init && env.engine_name !== 'docker'
      ? `The engine's own init (\`HostConfig.Init\`): on ${env.engine_name}, ${env.engine_init}.`
      : init === 'none' && imageOnly
        ? "No init: the image's own entrypoint and cmd are PID 1."
        : (INIT_DESCRIPTIONS[init as keyof typeof INIT_DESCRIPTIONS] ?? '');
  const hostOnly = env?.instrument?.used === 'host';
  for (const init of inits) out.push(`- **${init}**: ${describe(init)} ${initFacts(init, summary, hostOnly)}`.trimEnd());
  out.push('');
  return out;
}

/** Data-derived sentences about one init over all its configurations. */
function initFacts(init: InitName, summary: readonly SummaryRow[], hostOnly = false): string {
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
  facts.push(
    p50.length
      ? `Reaping latency p50 ${range(p50)} µs.`
      : hostOnly
        ? "No reaping latency: the host's readings alone cannot time a reap."
        : 'No orphan was seen reaped.',
  );
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
