/**
 * What every scenario module exports ({@link ScenarioDef}), the init traits the expectations are
 * derived from, and the judgement shared by the reaping scenarios (S1–S5).
 *
 * Expectations come from the inits' documented behaviour (their manuals and sources), never
 * from observations, so that a mismatch means something.
 */
import type { ContainerRuntime } from '../runtime/runtime.js';
import type { InitName } from '../model/inits.js';
import type { Expectation, Observation, Outcome, ScenarioName, ScenarioParams, VariantSpec } from './types.js';

/** How the host runs one scenario × init variant × case (argv, mounts, stop). */
export interface CommandPlan {
  /** Container argv (the init prefix already applied). */
  cmd: string[];
  /** `HostConfig.Init`. */
  engineInit: boolean;
  /** Bind the run's host scratch folder at this container path (S6 markers), or null. */
  outDir: string | null;
  /** `docker stop` this long after start, ms (S6), or null; after `stopAfterMarker`, when set. */
  stopAfterMs: number | null;
  /**
   * Count `stopAfterMs` from when the workload has written this marker into the scratch folder
   * (`outDir`), not from the start (S6: the worker's `ready`), so that a slow start cannot make
   * the stop come before the process it is about; waited for up to {@link MARKER_WAIT_MS}.
   */
  stopAfterMarker?: string | null;
  /** Grace period of that stop, s. */
  stopGraceS: number | null;
  /** Why the variant cannot be run as this scenario asks (then it is reported, not run). */
  notApplicable: string | null;
}

/** How long a run waits for its `stopAfterMarker` before it stops the container anyway, ms. */
export const MARKER_WAIT_MS = 60_000;

/** Everything a scenario's judge may look at. */
export interface JudgeInput {
  obs: Observation | null;
  init: InitName;
  flags: string[];
  caseName: string | null;
  params: ScenarioParams;
  exitCode: number | null;
  stopLatency_s: number | null;
  /** Marker files the workload wrote into the host scratch folder (S6), by name. */
  markers: Set<string>;
  /** Figures a host-side helper measured (S3: probes run). */
  host: Record<string, number>;
}

/** A judge's answer: the observed outcome, the one-line verdict and the figures behind it. */
export interface Judgement {
  outcome: Outcome;
  verdict: string;
  figures: Record<string, number | string | boolean | null>;
}

/** Host-side work during a run (S3's probes), started when the container is up. */
export type HostHelper = (
  runtime: ContainerRuntime,
  containerId: string,
  params: ScenarioParams,
  signal: AbortSignal,
) => Promise<Record<string, number>>;

/** One scenario of the library. */
export interface ScenarioDef {
  /** `S1`…`S7`. */
  id: string;
  name: ScenarioName;
  /** One line for reports. */
  title: string;
  /** Default parameters (small: the whole library × inits runs in a few minutes). */
  defaults: ScenarioParams;
  /** Default `pids.max` of the container (tasks). */
  pidsLimit: number;
  /** Sub-cases (S6), or `[null]`. */
  cases: (string | null)[];
  /** Which init variants are relevant for this scenario (flags lists per init). */
  variants: (init: InitName) => VariantSpec[];
  /** argv and run settings for an init prefix. */
  command: (prefix: string[], engineInit: boolean, params: ScenarioParams, caseName: string | null) => CommandPlan;
  /** The expected outcome for an init variant (see module doc). */
  expect: (init: InitName, flags: string[], caseName: string | null) => Expectation;
  /** Observed outcome and verdict. */
  judge: (input: JudgeInput) => Judgement;
  /** Hard timeout of one container run, ms. */
  timeoutMs: (params: ScenarioParams) => number;
  /** Host-side helper (S3), if any. */
  host?: HostHelper;
  /** The in-container workload (`node /app/dist/scenario.mjs <name>`), if the scenario has one. */
  workload?: (params: ScenarioParams, argv: string[]) => Promise<void>;
}

/** What an init variant does, as documented (tini, dumb-init and catatonit: their manuals and sources). */
export interface InitTraits {
  /** Reaps every child, adopted or not, while it is PID 1. */
  reapsAsPid1: boolean;
  /** Registers as a child subreaper when it is not PID 1 (orphans below it come to it). */
  subreaperWhenNotPid1: boolean;
  /** Forwards SIGTERM to the child's whole process group (not just the child). */
  signalsGroup: boolean;
  /** After the child exits, signals the remaining group and waits for it before exiting. */
  waitsForGroup: boolean;
  /** Can be started below another PID 1 at all (the engine's init cannot). */
  canNest: boolean;
  /**
   * Acts on SIGTERM as PID 1 (forwards it, or shuts down). False for the apps as PID 1: none of
   * them installs a handler, and the kernel drops a default-action signal sent to a PID
   * namespace's init (`kernel/signal.c` `sig_task_ignored`, `SIGNAL_UNKILLABLE`).
   */
  handlesSigterm: boolean;
}

/** Traits of `init` with `flags` (see {@link InitTraits}). */
export function traitsOf(init: InitName, flags: string[]): InitTraits {
  const has = (f: string): boolean => flags.includes(f);
  const plain = { subreaperWhenNotPid1: false, signalsGroup: false, waitsForGroup: false, canNest: true };
  switch (init) {
    case 'none':
    // Python's subprocess waits for its own child's pid only (CPython Lib/subprocess.py `_wait`).
    case 'none:python':
      return { ...plain, reapsAsPid1: false, handlesSigterm: false };
    // A shell waiting for its foreground job calls waitpid(-1), which reaps any child, adopted
    // or not (bash jobs.c `waitchld`, dash src/jobs.c `dowait`, busybox shell/ash.c `waitproc`).
    case 'none:bash':
    case 'none:sh':
      return { ...plain, reapsAsPid1: true, handlesSigterm: false };
    case 'tini':
      return { ...plain, reapsAsPid1: true, subreaperWhenNotPid1: has('-s'), signalsGroup: has('-g'), handlesSigterm: true };
    case 'docker-init':
      return { ...plain, reapsAsPid1: true, canNest: false, handlesSigterm: true };
    case 'dumb-init':
      // Default: the child gets its own session and signals go to its group; -c: the child only.
      return { ...plain, reapsAsPid1: true, signalsGroup: !has('-c'), handlesSigterm: true };
    case 'catatonit':
      // Registers as subreaper by itself when it is not PID 1.
      return { ...plain, reapsAsPid1: true, subreaperWhenNotPid1: true, signalsGroup: has('-g'), handlesSigterm: true };
    case 'ts-reaper': {
      const shutdownGroup = flags.join(' ').includes('--shutdown group');
      // Default subreaper mode is `auto`: registers when not PID 1 (ts-reaper --help).
      return {
        ...plain,
        reapsAsPid1: true,
        subreaperWhenNotPid1: !has('--no-subreaper'),
        signalsGroup: has('-g') || shutdownGroup,
        waitsForGroup: shutdownGroup,
        handlesSigterm: true,
      };
    }
    // Supervisors reap any child (supervisor supervisord.py `reap`: waitpid(-1, WNOHANG); the s6
    // and runit manuals), stop their one service with SIGTERM to its pid (not its group) on
    // SIGTERM (runsvdir: exits at once instead), and register as no subreaper.
    case 'supervisord':
    case 's6-svscan':
    case 'runit':
      return { ...plain, reapsAsPid1: true, handlesSigterm: true };
  }
}

/** Why an app as PID 1 ({@link APP_PID1_REASONS}) leaves or reaps adopted orphans, for expectations. */
const APP_PID1_REASONS: Partial<Record<InitName, string>> = {
  none: 'no init: the app is PID 1 and reaps only its own children',
  'none:python': 'the Python app is PID 1 and its subprocess waits for its own child only',
  'none:bash': 'bash is PID 1 and, waiting for its foreground job, reaps any child with waitpid(-1)',
  'none:sh': 'the shell is PID 1 and, waiting for its foreground job, reaps any child with waitpid(-1)',
};

/** The plain variant of every init (no flags). */
export function baseVariant(init: InitName): VariantSpec[] {
  return [{ label: init, flags: [] }];
}

/** `tini -s` style label. */
export function variant(init: InitName, ...flags: string[]): VariantSpec {
  return { label: flags.length ? `${init} ${flags.join(' ')}` : init, flags };
}

/** Format a number with one decimal, dropping `.0` for integers. */
export function num(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** `fork failed at 1.2 s (EAGAIN, worker level)`, or '' when nothing failed. */
export function forkFailureText(obs: Observation): string {
  const f = obs.forkFailures;
  if (f.first_s === null) return '';
  return `fork failed at ${f.first_s.toFixed(1)} s (${f.firstErrno ?? '?'}, ${f.firstLevel ?? '?'} level)`;
}

/**
 * Zombies left per cycle: total ÷ cycles, or, once a fork has failed (later cycles could not
 * build their tree), the count at the last cycle before the first failure ÷ that cycle.
 */
export function perCycle(obs: Observation): number | null {
  const early = obs.extra.per_cycle;
  if (typeof early === 'number') return early;
  return obs.cycles > 0 ? obs.zombies.total / obs.cycles : null;
}

/** The common figures of a reaping scenario, flat for CSV. */
export function reapingFigures(obs: Observation): Judgement['figures'] {
  return {
    cycles: obs.cycles,
    zombies_end: obs.zombies.total,
    zombies_pid1: obs.zombies.byParent.pid1,
    zombies_init: obs.zombies.byParent.init,
    zombies_app: obs.zombies.byParent.app,
    zombies_other: obs.zombies.byParent.other,
    zombies_peak: obs.zombiesPeak,
    zombies_per_cycle: perCycle(obs),
    live_orphans_pid1: obs.liveOrphans.pid1,
    live_orphans_init: obs.liveOrphans.init,
    adopters: Object.entries(obs.adopters)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
    leftover_sessions: [
      ...new Set(obs.leftovers.map((p) => `${p.comm}/${p.state}:pgid=${p.pgid},sid=${p.sid}${p.sid === p.pid ? '(leader)' : ''}`)),
    ]
      .slice(0, 6)
      .join(' '),
    pids_current: obs.pids.current,
    pids_max: obs.pids.max,
    pids_peak: obs.pids.peak,
    pids_baseline: obs.pids.baseline,
    fork_failures: obs.forkFailures.count,
    first_fork_failure_s: obs.forkFailures.first_s,
    first_failure_level: obs.forkFailures.firstLevel,
    first_failure_errno: obs.forkFailures.firstErrno,
    downstream_error: obs.forkFailures.messages[0] ?? null,
  };
}

/**
 * Judge a reaping scenario: `reaped` when no zombie is left, `cannot-help` when the zombies'
 * parent is still a living app process (not the init's to reap), `leaks` otherwise.
 * @param unit what one cycle is called in the verdict (`cycle`, `run`, `probe`, `request`).
 */
export function judgeReaping(obs: Observation | null, unit: string): Judgement {
  if (!obs) return { outcome: 'error', verdict: 'error: the workload printed no result', figures: {} };
  const figures = reapingFigures(obs);
  const z = obs.zombies;
  const fork = forkFailureText(obs);
  const tail = fork ? `; ${fork}` : '';
  if (z.total === 0) {
    return {
      outcome: 'reaped',
      verdict: `ok${obs.liveOrphans.pid1 + obs.liveOrphans.init ? ` (${obs.liveOrphans.pid1 + obs.liveOrphans.init} orphans still alive)` : ''}${tail}`,
      figures,
    };
  }
  const per = perCycle(obs) ?? z.total;
  const where = z.byParent.init > 0 ? 'the init' : z.byParent.pid1 > 0 ? `PID 1 (${obs.pid1Comm})` : 'a living parent';
  if (z.byParent.app > 0 && z.byParent.pid1 === 0 && z.byParent.init === 0) {
    return { outcome: 'cannot-help', verdict: `cannot help: parent alive (${z.total} zombies held by app processes)${tail}`, figures };
  }
  const rounded = Math.round(per * 10) / 10;
  return {
    outcome: 'leaks',
    verdict: `leaks ${num(rounded)} ${rounded === 1 ? 'zombie' : 'zombies'}/${unit}, ${z.total} held by ${where}${tail}`,
    figures,
  };
}

/**
 * Expectation of S1–S4: any PID 1 that reaps every child ({@link InitTraits.reapsAsPid1}: the inits,
 * the supervisors, a shell waiting for its job) leaves no zombie; one that does not (no init, Python) leaks.
 */
export function expectReapingAsPid1(init: InitName, perCycle: string): Expectation {
  const app = APP_PID1_REASONS[init];
  // Observed here, not documented: runsvdir reaps on its own timer, not on SIGCHLD (zombies
  // held 0.5–1 s under the orphan load), so a count at the scenario's end finds some or none.
  if (init === 'runit')
    return {
      outcome: 'reaped',
      alsoAccept: ['leaks'],
      reason: `runsvdir reaps any child, but late (on its own timer, not on SIGCHLD): zombies may still be there when counted (${perCycle} at most)`,
    };
  // supervisord reaps once per turn of its main loop, which wakes on its pipes or its 1 s poll
  // timeout, not on SIGCHLD (supervisord.py `reap`): a count at the end may land before the
  // turn that reaps (seen once in a loaded suite: 1 zombie in S2).
  if (init === 'supervisord')
    return {
      outcome: 'reaped',
      alsoAccept: ['leaks'],
      reason: `supervisord reaps any child, but once per turn of its loop (up to 1 s late): zombies may still be there when counted (${perCycle} at most)`,
    };
  if (!traitsOf(init, []).reapsAsPid1)
    return { outcome: 'leaks', reason: `${app ?? `${init} does not reap adopted orphans`} (${perCycle})` };
  return { outcome: 'reaped', reason: app ?? `${init} is PID 1 and reaps every child, adopted or not` };
}

/** Node in the image and the bundled workload. */
export const NODE = 'node';
/** Path of the in-container scenario workload bundle inside the image. */
export const WORKLOAD = '/app/dist/scenario.mjs';

/** argv of the in-container workload for a scenario. */
export function workloadArgv(name: string, params: ScenarioParams): string[] {
  return [NODE, WORKLOAD, name, JSON.stringify(params)];
}

/** The plan for a workload that simply runs behind the init prefix. */
export function plainPlan(prefix: string[], engineInit: boolean, name: string, params: ScenarioParams): CommandPlan {
  return {
    cmd: [...prefix, ...workloadArgv(name, params)],
    engineInit,
    outDir: null,
    stopAfterMs: null,
    stopGraceS: null,
    notApplicable: null,
  };
}
