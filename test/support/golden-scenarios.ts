/**
 * Fixed scenario results for the golden-file tests (test/unit/golden.test.ts). The plan, the
 * expectations, the judges and the verdicts are the scenario library's own, applied to fixed
 * observations, so every verdict reads as a real run prints it. The inits behave as documented,
 * except for the runs that exercise the other paths of the reports: an engine error, a timeout,
 * a workload that printed no result, a mismatch, an outcome accepted for a documented race, and
 * a variant that cannot be run (skipped, from the library's own plan).
 */
import { launchFor } from '../../src/runtime/init-launch.js';
import type { InitName } from '../../src/model/inits.js';
import type { JudgeInput, Judgement } from '../../src/scenarios/def.js';
import { compose, planMatrix, resolveParams, type Observation, type PlannedRun, type ScenarioResult } from '../../src/scenarios/index.js';
import type { ReportMeta } from '../../src/export/scenarios-md.js';
import { engineLabel } from '../../src/export/format.js';
import { ENV } from './bench-fixtures.js';

/** The report header of the fixture run: what the run's scenario phase (src/run/bench.ts) takes from argv, the clock and the engine. */
export const SCENARIO_META: ReportMeta = {
  command:
    'reapbench run --scenario tool-leaves-helper,init-not-pid1,stop-latency,limit-exhaustion --inits none,tini,docker-init,ts-reaper',
  startedAt: '2026-11-29T11:10:00.000Z',
  image: 'reapbench-app:test (offline)',
  engine: engineLabel(ENV),
};

/** What one fixture run saw: the container's end and the judge's input, or how the run broke. */
interface Seen {
  obs: Observation | null;
  exitCode: number | null;
  wall_s: number;
  stopLatency_s?: number;
  markers?: string[];
  hostPidsPeak: number | null;
  /** The engine refused the run (the message's first line). */
  error?: string;
  /** The run exceeded the scenario's hard timeout. */
  timedOut?: boolean;
  /** The last lines of the container's stderr, joined as the runner joins them. */
  stderrTail?: string;
}

/** An observation of a workload that left nothing behind; `over` adds what this run saw. */
function observation(over: Partial<Observation> & Pick<Observation, 'scenario' | 'cycles' | 'pid1Comm'>): Observation {
  return {
    pid: over.pid1Comm === 'app' ? 1 : 9,
    ppid: over.pid1Comm === 'app' ? 0 : 1,
    initPid: null,
    duration_s: 2.6,
    zombies: { total: 0, byParent: { pid1: 0, init: 0, app: 0, other: 0 }, list: [] },
    zombiesPeak: 1,
    liveOrphans: { pid1: 0, init: 0, list: [] },
    adopters: {},
    leftovers: [],
    pids: { current: 4, max: 64, peak: 9, eventsMax: 0, baseline: 3 },
    appThreads: 11,
    forkFailures: { count: 0, first_s: null, firstLevel: null, firstErrno: null, messages: [] },
    series: [],
    extra: {},
    ...over,
  };
}

/** Zombies held by `holder` (the parent class that has them), `total` of them. */
function held(total: number, holder: 'pid1' | 'init'): Observation['zombies'] {
  return { total, byParent: { pid1: holder === 'pid1' ? total : 0, init: holder === 'init' ? total : 0, app: 0, other: 0 }, list: [] };
}

/** The name an init shows as the adopter of orphans (`/proc/<pid>/comm`, Node scripts by name). */
function comm(init: InitName): string {
  return init === 'none' ? 'app' : init;
}

/** A reaping scenario (S2, S5) as documented: the expected outcome decides who holds the zombies. */
function reaping(p: PlannedRun, units: number, leaks: boolean): Seen {
  const s5 = p.def.name === 'init-not-pid1';
  const pid1Comm = s5 ? 'stub' : comm(p.init);
  const adopter = leaks ? `pid1:${pid1Comm}` : s5 ? `init:${comm(p.init)}` : `pid1:${pid1Comm}`;
  const obs = observation({
    scenario: p.def.name,
    cycles: units,
    pid1Comm,
    ...(s5 ? { initPid: p.init === 'none' ? null : 7 } : {}),
    zombies: leaks ? held(units, 'pid1') : held(0, 'pid1'),
    zombiesPeak: leaks ? units : 1,
    adopters: { [adopter]: units },
    pids: { current: leaks ? 4 + units : 4, max: 64, peak: 9 + (leaks ? units : 0), eventsMax: 0, baseline: 3 },
  });
  return { obs, exitCode: 0, wall_s: 3.4 + units * 0.1, hostPidsPeak: 9 + (leaks ? units : 0) };
}

/** S6 as documented: how long the stop took, its status, and which worker markers appeared. */
function stop(p: PlannedRun, outcome: string): Seen {
  const killed = outcome === 'sigkill-after-grace';
  const markers =
    p.caseName === 'sleep'
      ? []
      : outcome === 'handler-cut-short'
        ? ['ready', 'handler-started']
        : outcome === 'graceful'
          ? ['ready', 'handler-started', 'handler-finished']
          : ['ready'];
  const latency = killed ? 10.21 : outcome === 'graceful' ? 0.63 : p.variant.flags.length ? 0.18 : 0.12;
  return {
    obs: null,
    exitCode: killed ? 137 : 143,
    stopLatency_s: latency,
    markers,
    wall_s: 1.5 + latency + 0.35,
    hostPidsPeak: p.caseName === 'sleep' ? 3 : 12,
  };
}

/** S7 as documented: live and zombie children both fail at the same count, the init's tasks taken from the budget. */
function exhaustion(p: PlannedRun): Seen {
  // The goldens hold the six default inits only; an opt-in row would take the `none` figures.
  const count =
    ({ none: 53, tini: 52, 'dumb-init': 52, 'docker-init': 52, catatonit: 52, 'ts-reaper': 47 } as Partial<Record<string, number>>)[
      p.init
    ] ?? 53;
  const failS =
    (
      { none: 0.1, tini: 0.097, 'dumb-init': 0.094, 'docker-init': 0.091, catatonit: 0.093, 'ts-reaper': 0.083 } as Partial<
        Record<string, number>
      >
    )[p.init] ?? 0.1;
  const extra = {
    baseline_tasks: 64 - count,
    live_count: count,
    live_fail_s: failS,
    live_errno: 'EAGAIN',
    live_pids_at_failure: 64,
    live_downstream: 'spawnSync sh: EAGAIN',
    tasks_between_phases: 64 - count,
    zombie_count: count,
    zombie_fail_s: round(failS * 1.07),
    zombie_errno: 'EAGAIN',
    zombie_pids_at_failure: 64,
    zombie_downstream: 'spawnSync sh: EAGAIN',
  };
  // The zombie phase's children are still held (by the app, alive) when the observer reports.
  const zombies = { total: count, byParent: { pid1: 0, init: 0, app: count, other: 0 }, list: [] };
  const obs = observation({
    scenario: p.def.name,
    cycles: 2,
    pid1Comm: comm(p.init),
    zombies,
    zombiesPeak: count,
    pids: { current: 64, max: 64, peak: 64, eventsMax: 2, baseline: 64 - count },
    extra,
  });
  return { obs, exitCode: 0, wall_s: 1.9, hostPidsPeak: 64 };
}

/** Three decimals, as a figure read from a clock is kept. */
function round(x: number): number {
  return Number(x.toFixed(3));
}

/** Key of one planned run: `scenario|case|variant`. */
function key(p: PlannedRun): string {
  return `${p.def.name}|${p.caseName ?? ''}|${p.variant.label}`;
}

/** The runs that do not go as documented, by {@link key}. */
const DEVIATIONS: Record<string, (p: PlannedRun) => Seen> = {
  'tool-leaves-helper||ts-reaper': () => ({
    obs: null,
    exitCode: null,
    wall_s: 0,
    hostPidsPeak: null,
    error:
      '(HTTP code 500) server error - OCI runtime create failed: container_linux.go:380: starting container process caused: read init-p: connection reset by peer: unknown',
  }),
  'init-not-pid1||ts-reaper -s': () => ({
    obs: null,
    exitCode: 1,
    wall_s: 0.8,
    hostPidsPeak: 5,
    stderrTail:
      "Error: Cannot find module '/app/dist/scenario.mjs' | at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15) | Node.js v20.20.2",
  }),
  'stop-latency|launcher|ts-reaper -g': (p) => stop(p, 'handler-skipped'),
  'stop-latency|launcher|ts-reaper --shutdown group': (p) => stop(p, 'handler-cut-short'),
  'limit-exhaustion||docker-init': () => ({ obs: null, exitCode: 137, wall_s: 60.31, hostPidsPeak: 64, timedOut: true }),
};

/** What a planned run saw: its deviation, or the documented behaviour of its init. */
function seen(p: PlannedRun, params: Record<string, number>): Seen {
  const deviation = DEVIATIONS[key(p)];
  if (deviation) return deviation(p);
  const expected = p.def.expect(p.init, p.variant.flags, p.caseName).outcome;
  if (p.def.name === 'stop-latency') return stop(p, expected);
  if (p.def.name === 'limit-exhaustion') return exhaustion(p);
  return reaping(p, params.runs ?? params.cycles ?? 1, expected === 'leaks');
}

/**
 * The result the scenario runner records for `p` given what it saw (the same steps as
 * runScenario in src/scenarios/run.ts, without a container).
 */
function scenarioResult(p: PlannedRun): ScenarioResult {
  const params = resolveParams(p.def);
  const expected = p.def.expect(p.init, p.variant.flags, p.caseName);
  const launch = launchFor(p.init, p.variant.flags);
  const plan = p.def.command(launch.prefix, launch.engineInit, params, p.caseName);
  const common = {
    id: p.def.id,
    scenario: p.def.name,
    case: p.caseName,
    init: p.init,
    variant: p.variant.label,
    flags: p.variant.flags,
    params,
    pidsLimit: p.def.pidsLimit,
    expected,
    observation: null,
  };
  if (plan.notApplicable) {
    const none = {
      exitCode: null,
      wall_s: 0,
      stopLatency_s: null,
      hostPidsPeak: null,
      hostForkRejections: null,
      hostPidsMethod: null,
      figures: {},
      kernel: null,
    };
    return {
      ...common,
      ...none,
      state: 'skipped',
      failureReason: plan.notApplicable,
      outcome: 'not-applicable',
      verdict: `n/a: ${plan.notApplicable}`,
      matches: expected.outcome === 'not-applicable',
    };
  }
  const s = seen(p, params);
  const input: JudgeInput = {
    obs: s.obs,
    init: p.init,
    flags: p.variant.flags,
    caseName: p.caseName,
    params,
    exitCode: s.exitCode,
    stopLatency_s: s.stopLatency_s ?? null,
    markers: new Set(s.markers),
    host: {},
  };
  const judged: Judgement = s.error ? { outcome: 'error', verdict: `error: ${s.error}`, figures: {} } : p.def.judge(input);
  const composed = compose(expected, judged);
  const timeout = `timed out after ${(p.def.timeoutMs(params) / 1000).toFixed(0)} s`;
  return {
    ...common,
    state: s.error ? 'failed' : s.timedOut ? 'timed-out' : 'completed',
    failureReason: s.error ?? (s.timedOut ? 'hard timeout' : judged.outcome === 'error' ? (s.stderrTail ?? null) : null),
    outcome: judged.outcome,
    verdict: s.timedOut ? timeout : composed.verdict,
    matches: s.timedOut ? null : composed.matches,
    exitCode: s.exitCode,
    wall_s: s.wall_s,
    stopLatency_s: s.stopLatency_s ?? null,
    hostPidsPeak: s.hostPidsPeak,
    hostForkRejections: s.hostPidsPeak === null ? null : p.def.name === 'limit-exhaustion' ? 2 : 0,
    hostPidsMethod: s.hostPidsPeak === null ? null : 'owned-parent',
    figures: judged.figures,
    // The kernel's cross-check: in these fixtures, whatever the observation left as zombies.
    kernel:
      s.hostPidsPeak === null
        ? null
        : {
            zombiesPeak: s.obs?.zombiesPeak ?? 0,
            zombiesAtEnd: s.obs?.zombies.total ?? 0,
            heldBy: s.obs && s.obs.zombies.total > 0 ? `node (pid 1) ×${s.obs.zombies.total}` : null,
            firstEagain_s: null,
            firstEagainComm: null,
            lost: 0,
          },
    observation: s.obs,
  };
}

/**
 * Results of S2, S5, S6 (cases sleep and launcher) and S7 under none, tini, docker-init and
 * ts-reaper with their relevant variants, in the order the scenario matrix runs them.
 */
export const SCENARIO_RESULTS: readonly ScenarioResult[] = planMatrix({
  scenarios: ['tool-leaves-helper', 'init-not-pid1', 'stop-latency', 'limit-exhaustion'],
  inits: ['none', 'tini', 'docker-init', 'ts-reaper'],
})
  .filter((p) => p.caseName !== 'launcher-setsid')
  .map(scenarioResult);
