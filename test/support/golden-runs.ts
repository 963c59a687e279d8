/**
 * Fixed load-matrix results for the golden-file tests (test/unit/golden.test.ts): a complete
 * quick-preset run, the same run interrupted, and a troubled rate sweep with failed runs and
 * data-quality warnings; plus the raw load-generator files that events.ndjson is assembled from.
 * Built on realisticRun (seeded), then given the precision and consistency of what the runner
 * records (src/run/runner.ts toRecord). No clock, no unseeded randomness, no machine facts.
 */
import type { EnvironmentRecord, RunRecord, RunState } from '../../src/model/records.js';
import type { InitName } from '../../src/model/inits.js';
import type { RunConfig } from '../../src/model/config.js';
import type { LoadgenEvent, LoadgenOptionsRecord, LoadgenSummary, Percentiles } from '../../src/loadgen/types.js';
import { loadPhaseRate } from '../../src/loadgen/stats.js';
import { ENV, realisticRun } from './bench-fixtures.js';

/** The load generator's own figures per init that realisticRun leaves at makeRun's defaults. */
const PID1: Record<InitName, { rssKib: number; cpuMsPer1000: number; baselineTasks: number }> = {
  none: { rssKib: 68504, cpuMsPer1000: 380, baselineTasks: 17 },
  tini: { rssKib: 524, cpuMsPer1000: 27, baselineTasks: 9 },
  'dumb-init': { rssKib: 1050, cpuMsPer1000: 31, baselineTasks: 9 },
  'docker-init': { rssKib: 522, cpuMsPer1000: 28, baselineTasks: 9 },
  catatonit: { rssKib: 520, cpuMsPer1000: 26, baselineTasks: 9 },
  'ts-reaper': { rssKib: 55142, cpuMsPer1000: 51, baselineTasks: 14 },
  // The opt-in rows: no golden run uses them (the goldens are the six defaults).
  'none:python': { rssKib: 9000, cpuMsPer1000: 0, baselineTasks: 10 },
  'none:bash': { rssKib: 3500, cpuMsPer1000: 20, baselineTasks: 10 },
  'none:sh': { rssKib: 1000, cpuMsPer1000: 20, baselineTasks: 10 },
  supervisord: { rssKib: 20000, cpuMsPer1000: 60, baselineTasks: 11 },
  's6-svscan': { rssKib: 800, cpuMsPer1000: 30, baselineTasks: 10 },
  runit: { rssKib: 800, cpuMsPer1000: 30, baselineTasks: 10 },
};

/** Round to `digits` decimals, as the runner does before it records a figure. */
function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

/** ISO time `s` seconds after the fixed environment's start. */
function at(s: number): string {
  return new Date(Date.parse(ENV.started_at) + Math.round(s * 1000)).toISOString();
}

/** Where a run sits in its matrix: repetition, position in that repetition's order, index in the whole run. */
interface Slot {
  repetition: number;
  order: number;
  index: number;
}

/**
 * A completed run of `init` at `config`, as the runner records it: realisticRun's series,
 * histogram and seeded latencies, with counts, rates, tasks and PID 1 figures that agree with
 * one another. `over` replaces any field last.
 */
export function recordedRun(init: InitName, config: RunConfig, slot: Slot, over: Partial<RunRecord> = {}): RunRecord {
  const r = realisticRun(init, slot.repetition, config);
  const failed = r.first_fork_failure_s !== null;
  const made = failed ? r.orphans_before_failure : Math.round(config.rate_per_s * config.duration_s);
  // After the first failure the load generator keeps producing for 0.5 s, then drains for up to 2 s.
  const productionS = failed ? r.first_fork_failure_s! + 0.5 : config.duration_s * 1.002;
  const p50 = r.reap_latency_p50_us === null ? null : round(r.reap_latency_p50_us, 1);
  const p99 = r.reap_latency_p99_us === null ? null : round(r.reap_latency_p99_us, 1);
  const pid1 = PID1[init];
  return {
    ...r,
    order: slot.order,
    started_at: at(4 + slot.index * (config.duration_s + 2.5)),
    wall_s: round(failed ? productionS + 2 + 1.21 : config.duration_s + 1.87 + 0.013 * slot.index, 3),
    orphans_made: made,
    orphans_exited: made,
    orphans_reaped: made - r.unreaped,
    achieved_rate_per_s: round(loadPhaseRate(made, productionS, failed ? { s: r.first_fork_failure_s!, before: made } : null), 1),
    first_fork_failure_s: failed ? round(r.first_fork_failure_s!, 4) : null,
    pids_peak: Math.max(...r.series.map((p) => p.pids_current ?? 0)),
    baseline_tasks: pid1.baselineTasks,
    effective_budget: config.pids_limit - pid1.baselineTasks,
    reap_latency_p50_us: p50,
    reap_latency_p90_us: p50 === null ? null : round(p50 * 2.2, 1),
    reap_latency_p99_us: p99,
    reap_latency_max_us: p99 === null ? null : round(p99 * 2.9, 1),
    latency_method: 'pidfd-hup',
    littles_law_latency_us: p50 === null ? null : round(p50 * 1.08, 1),
    watcher_lag_p99_us: 9.6,
    pid1_cpu_ms: Math.round((pid1.cpuMsPer1000 * made) / 10000) * 10,
    pid1_rss_kib: pid1.rssKib,
    ...over,
  };
}

/**
 * A run that did not complete, as the runner records one whose load generator wrote no summary:
 * every figure from the summary zero or empty; the samples written until `untilS` (s) remain,
 * and the host's pids peak.
 */
export function unfinishedRun(
  run: RunRecord,
  state: Exclude<RunState, 'completed'>,
  reason: string,
  exitCode: number,
  wallS: number,
  untilS: number,
): RunRecord {
  const series = run.series.filter((p) => p.t_s <= untilS);
  return {
    ...run,
    state,
    failure_reason: reason,
    exit_code: exitCode,
    wall_s: wallS,
    orphans_made: 0,
    orphans_exited: 0,
    orphans_reaped: 0,
    unreaped: 0,
    missed: 0,
    achieved_rate_per_s: 0,
    first_fork_failure_s: null,
    orphans_before_failure: 0,
    fork_failures: 0,
    first_failure_level: null,
    first_failure_errno: null,
    zombies_peak: Math.max(0, ...series.map((p) => p.zombies)),
    zombie_sample_hz: 10,
    pids_peak: Math.max(0, ...series.map((p) => p.pids_current ?? 0)),
    pids_method: 'owned-parent',
    baseline_tasks: null,
    effective_budget: null,
    instrument_tasks: null,
    reap_latency_p50_us: null,
    reap_latency_p90_us: null,
    reap_latency_p99_us: null,
    reap_latency_max_us: null,
    latency_method: null,
    littles_law_latency_us: null,
    watcher_lag_p99_us: null,
    pid1_cpu_ms: null,
    pid1_rss_kib: null,
    series,
    latency_histogram: [],
  };
}

/** The quick preset's configuration (README: `npm run bench`). */
export const QUICK_CONFIG: RunConfig = { scenario: 'orphans', pids_limit: 128, rate_per_s: 250, lifetime_ms: 5, duration_s: 3 };

/** The shuffled order of each repetition of the quick run (fixed, as a seeded shuffle would give). */
const QUICK_ORDER: InitName[][] = [
  ['docker-init', 'none', 'ts-reaper', 'tini', 'catatonit', 'dumb-init'],
  ['tini', 'catatonit', 'none', 'dumb-init', 'ts-reaper', 'docker-init'],
];

/** A complete quick run: six inits, 2 repetitions, in run order; `none` fails forks, the rest survive, no warning. */
export const QUICK_RUNS: readonly RunRecord[] = QUICK_ORDER.flatMap((inits, repetition) =>
  inits.map((init, order) => recordedRun(init, QUICK_CONFIG, { repetition, order, index: repetition * 6 + order })),
);

/** Why the interrupted quick run is partial, worded as the bench words it. */
export const PARTIAL_REASON = 'interrupted by SIGINT after 7 of 12 runs; 1 run cut short, recorded as aborted';

/** The quick run interrupted during its 8th run: 7 completed runs and one aborted. */
export const PARTIAL_RUNS: readonly RunRecord[] = [
  ...QUICK_RUNS.slice(0, 7),
  unfinishedRun(QUICK_RUNS[7]!, 'aborted', 'interrupted', 137, 1.342, 0.5),
];

/** The troubled sweep's configuration at each rate (a sweep: two rates at one limit). */
function troubledConfig(rate: number): RunConfig {
  return { scenario: 'orphans', pids_limit: 64, rate_per_s: rate, lifetime_ms: 2, duration_s: 2 };
}

/** The order of each repetition of the troubled sweep: [init, rate]. */
const TROUBLED_ORDER: [InitName, number][][] = [
  [
    ['ts-reaper', 1000],
    ['none', 5000],
    ['tini', 5000],
    ['tini', 1000],
    ['ts-reaper', 5000],
    ['none', 1000],
  ],
  [
    ['tini', 5000],
    ['none', 1000],
    ['ts-reaper', 5000],
    ['tini', 1000],
    ['none', 5000],
    ['ts-reaper', 1000],
  ],
];

/** The environment of the troubled sweep: the fixed one, with the command and matrix that asked for the sweep. */
export const TROUBLED_ENV: EnvironmentRecord = {
  ...ENV,
  argv: [
    'run',
    '--inits',
    'none,tini,ts-reaper',
    '--limits',
    '64',
    '--rates',
    '1000,5000',
    '--lifetime-ms',
    '2',
    '--duration-s',
    '2',
    '--seed',
    '42',
  ],
  matrix: {
    preset: 'quick',
    inits: ['none', 'tini', 'ts-reaper'],
    scenarios: ['orphans'],
    limits: [64],
    rates: [1000, 5000],
    lifetime_ms: 2,
    duration_s: 2,
    repetitions: 2,
    warmup: true,
    seed: 42,
    run_timeout_s: 60,
    pin: '0:1',
  },
};

/** What the load generator's stderr ended with when ts-reaper's runs at 5000/s crashed. */
export const OOM_LINE = 'FATAL ERROR: Ineffective mark-compacts near heap limit | Allocation failed - JavaScript heap out of memory';

/**
 * A troubled rate sweep (limit 64, 1000 and 5000 orphans/s, none, tini, ts-reaper, 2
 * repetitions): tini's first run at 5000/s timed out and its second fell short of the rate and
 * missed orphans; both of ts-reaper's runs at 5000/s failed (no completed run in that cell); the
 * watcher lagged behind tini's latencies at 1000/s.
 */
export const TROUBLED_RUNS: readonly RunRecord[] = TROUBLED_ORDER.flatMap((cells, repetition) =>
  cells.map(([init, rate], order) => {
    const slot = { repetition, order, index: repetition * 6 + order };
    const run = recordedRun(init, troubledConfig(rate), slot);
    if (init === 'tini' && rate === 5000 && repetition === 0) {
      return unfinishedRun(run, 'timed-out', 'container exceeded the run timeout and was killed', 137, 60.412, 2);
    }
    if (init === 'tini' && rate === 5000) {
      return recordedRun(init, troubledConfig(rate), slot, {
        orphans_made: 6241,
        orphans_exited: 6241,
        orphans_reaped: 6241,
        orphans_before_failure: 6241,
        achieved_rate_per_s: 3114.3,
        missed: 702,
      });
    }
    if (init === 'ts-reaper' && rate === 5000) {
      return unfinishedRun(
        run,
        'failed',
        `no summary from the load generator (exit 134, SIGABRT): ${OOM_LINE}`,
        134,
        3.93 + repetition,
        1.2,
      );
    }
    if (init === 'tini' && rate === 1000) return { ...run, watcher_lag_p99_us: 48.5 };
    return run;
  }),
);

/** File name of a run's raw load-generator output (as src/run/runner.ts rawName names it). */
function rawName(run: RunRecord, index: number): string {
  return `${String(index).padStart(3, '0')}-${run.init}-${run.scenario}-L${run.pids_limit}-R${run.rate_per_s}-r${run.repetition}.ndjson`;
}

/** Percentiles of a fixture run (µs), or all null with n = 0. */
function percentiles(n: number, ...[p50, p90, p99, max]: (number | null)[]): Percentiles {
  return p50 === null || p50 === undefined
    ? { n: 0, p50_us: null, p90_us: null, p99_us: null, max_us: null, mean_us: null }
    : { n, p50_us: p50, p90_us: p90 ?? null, p99_us: p99 ?? null, max_us: max ?? null, mean_us: round(p50 * 1.3, 3) };
}

/** The options record the bench passes to the load generator for `run`. */
function loadgenOptions(run: RunRecord, file: string): LoadgenOptionsRecord {
  return {
    rate_per_s: run.rate_per_s,
    lifetime_ms: run.lifetime_ms,
    batch: 1,
    inflight: 1,
    count: null,
    duration_s: run.duration_s,
    after_failure: 'stop',
    grace_ms: 500,
    drain_ms: 2000,
    sample_hz: 50,
    scan_every: 1,
    forkloop_ms: 0,
    watch_method: 'auto',
    poll_interval_us: 50,
    watcher_nice: 0,
    watcher_rt_priority: 0,
    watcher_spin: false,
    pin: '0:1',
    out: `/results/${file}`,
  };
}

/**
 * The raw lines the load generator wrote for `run`: start, two orphans, the first three
 * samples, the first fork failure if any, and (only for a completed run) the summary.
 */
export function rawEvents(run: RunRecord, file: string): LoadgenEvent[] {
  const options = loadgenOptions(run, file);
  // /proc/1/comm: Node for none and ts-reaper (a Node program), the binary's name otherwise.
  const where = {
    pid1_comm: run.init === 'none' || run.init === 'ts-reaper' ? 'node' : run.init,
    kernel: ENV.kernel,
    cgroup_dir: '/sys/fs/cgroup/pids',
    cgroup_version: 1 as const,
  };
  const events: LoadgenEvent[] = [
    {
      type: 'start',
      schema: 1,
      started_at: run.started_at,
      options,
      pid: run.init === 'none' ? 1 : 7,
      ...where,
      watch_method: 'pidfd-hup',
    },
  ];
  // Every init but none reaps; a run without a recorded p50 (it did not finish) reaped at a typical 17.4 µs.
  const reaped = run.init !== 'none';
  for (const [i, created] of [412.316, 4412.907].entries()) {
    const exit = round(created + run.lifetime_ms * 1000 + 61.2, 3);
    const reap = reaped ? exit + (run.reap_latency_p50_us ?? 17.4) : null;
    events.push({
      type: 'orphan',
      pid: 31 + 2 * i,
      created_us: created,
      watched_us: created + 38.5,
      exit_us: exit,
      exit_self_us: round(exit - 7.25, 3),
      reap_us: reap === null ? null : round(reap, 3),
      latency_us: reap === null ? null : round(reap - exit, 3),
      latency_self_us: reap === null ? null : round(reap - exit + 7.25, 3),
      state: reaped ? 'reaped' : 'zombie',
      late: false,
      coalesced: false,
      method: 'pidfd-hup',
    });
  }
  for (const p of run.series.slice(0, 3)) {
    events.push({
      type: 'sample',
      t_us: Math.round(p.t_s * 1e6),
      pids_current: p.pids_current,
      pids_max: run.pids_limit,
      pids_events_max: 0,
      zombies: p.zombies,
      orphans_live: 1,
      orphans_zombie: p.zombies,
      pid1_cpu_ms: 10,
      pid1_rss_kb: PID1[run.init].rssKib,
      loadgen_threads: 7,
      collect_ms: 0.412,
    });
  }
  if (run.first_fork_failure_s !== null) {
    events.push({
      type: 'fork_failure',
      t_us: round(run.first_fork_failure_s * 1e6, 3),
      level: 'orphan',
      errno: 11,
      errno_name: 'EAGAIN',
      orphans_made_before: run.orphans_before_failure,
    });
  }
  if (run.state === 'completed') events.push(rawSummary(run, options, where));
  return events;
}

/** The summary line of a completed run, its figures taken from the run's record. */
function rawSummary(
  run: RunRecord,
  options: LoadgenOptionsRecord,
  where: Pick<LoadgenSummary, 'pid1_comm' | 'kernel' | 'cgroup_dir' | 'cgroup_version'>,
): LoadgenSummary {
  const ff =
    run.first_fork_failure_s === null
      ? null
      : {
          t_us: round(run.first_fork_failure_s * 1e6, 3),
          level: 'orphan' as const,
          errno: 11,
          errno_name: 'EAGAIN',
          orphans_made_before: run.orphans_before_failure,
        };
  const latency = percentiles(
    run.orphans_reaped,
    run.reap_latency_p50_us,
    run.reap_latency_p90_us,
    run.reap_latency_p99_us,
    run.reap_latency_max_us,
  );
  const little = run.littles_law_latency_us;
  return {
    type: 'summary',
    schema: 1,
    state: 'completed',
    options,
    is_pid1: run.init === 'none',
    ...where,
    orphans_made: run.orphans_made,
    orphans_exited: run.orphans_exited,
    orphans_reaped: run.orphans_reaped,
    orphans_zombie: run.unreaped,
    orphans_live: 0,
    orphans_missed: run.missed,
    orphans_late: 0,
    orphans_coalesced: 0,
    orphans_unaccounted: 0,
    t0_ns: 1_000_000_000,
    // As recordedRun's: 0.5 s of production after the first failure.
    production_s:
      run.first_fork_failure_s === null ? round(run.orphans_made / run.achieved_rate_per_s, 3) : round(run.first_fork_failure_s + 0.5, 3),
    achieved_rate_per_s: run.achieved_rate_per_s,
    forkloop_rate_per_s: null,
    fork_failures: run.fork_failures,
    fork_failures_by_level: { helper: 0, intermediate: 0, orphan: run.fork_failures },
    first_fork_failure: ff,
    time_to_first_fork_failure_us: ff?.t_us ?? null,
    pids_events_max_delta: run.fork_failures,
    baseline_tasks: run.baseline_tasks,
    pids_max: run.pids_limit,
    effective_budget: run.effective_budget,
    instrument_tasks: run.instrument_tasks ?? 8,
    loadgen_threads: 7,
    loadgen_threads_max: 7,
    latency_method: 'pidfd-hup',
    latency_resolution_us: null,
    latency,
    latency_self: percentiles(
      run.orphans_reaped,
      ...[run.reap_latency_p50_us, run.reap_latency_p90_us, run.reap_latency_p99_us, run.reap_latency_max_us].map((v) =>
        v === null ? null : round(v + 7.25, 3),
      ),
    ),
    exit_observation_lag: percentiles(run.orphans_exited, 7.25, 12.5, 61.2, 840.5),
    watcher_lag: percentiles(200, 3.1, 5.4, run.watcher_lag_p99_us, 212.7),
    watch_delay: percentiles(run.orphans_made, 38.5, 71.2, 402.9, 1210.4),
    event_loop_delay: percentiles(150, 1012.7, 1105.3, 2087.4, 4301.2),
    // Little's law: mean zombies L = exit rate λ × mean lifetime W.
    little_mean_zombies: little === null ? null : round((little * run.achieved_rate_per_s) / 1e6, 4),
    little_exit_rate_per_s: little === null ? null : run.achieved_rate_per_s,
    little_latency_us: little,
    little_ratio: little === null || latency.mean_us === null ? null : round(little / latency.mean_us, 2),
    little_window_s: little === null ? null : run.duration_s,
    samples: run.series.length,
    sample_collect_mean_ms: 0.398,
    zombies_max: run.zombies_peak,
    pid1_cpu_ms: run.pid1_cpu_ms,
    pid1_rss_kb_max: run.pid1_rss_kib,
    warnings: [],
    wall_s: round(run.wall_s - 0.9, 3),
    out: options.out,
  };
}

/**
 * The raw folder after the first three runs of the troubled sweep, as the runner leaves it:
 * `<run>.ndjson` for a run whose load generator finished, `<run>.ndjson.partial` for the one
 * killed by the run timeout (its last line cut off), and a stale `.partial` of a finished run,
 * which the writer ignores. File name → content.
 */
export function troubledRawFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [index, run] of TROUBLED_RUNS.slice(0, 3).entries()) {
    const name = rawName(run, index);
    const lines = rawEvents(run, name).map((e) => JSON.stringify(e));
    if (run.state === 'completed') {
      out[name] = `${lines.join('\n')}\n`;
    } else {
      out[`${name}.partial`] = `${lines.join('\n')}\n{"type":"sample","t_us":1060`;
    }
  }
  const first = rawName(TROUBLED_RUNS[0]!, 0);
  out[`${first}.partial`] = `${JSON.stringify(rawEvents(TROUBLED_RUNS[0]!, first)[0])}\n`;
  return out;
}
