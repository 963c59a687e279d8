/**
 * Shapes shared by the scenario library: the in-container observation (JSON protocol between the
 * workload and the harness), the host-side result of one scenario run, and the definition every
 * scenario module exports. Units are in the field names: `_s` seconds, `_ms` milliseconds; plain
 * names are counts. Nothing here imports the harness, so the in-container bundle stays small.
 */
import type { ProcStat } from '../procfs/stat.js';

/** CLI names of the scenarios, in library order (S1–S7). */
export const SCENARIO_NAMES = [
  'killed-parent-tree',
  'tool-leaves-helper',
  'probe-timeout',
  'double-fork-daemon',
  'init-not-pid1',
  'stop-latency',
  'limit-exhaustion',
] as const;
/** One scenario's CLI name. */
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** Numeric parameters of a scenario (cycles, intervals, lifetimes); every one has a default. */
export type ScenarioParams = Record<string, number>;

/** Who a process's parent is, seen from inside the container. */
export type ParentClass =
  /** PID 1 of the container (the init, the stub of S5, or the app itself with no init). */
  | 'pid1'
  /** The init under test when it is not PID 1 (S5): the workload's parent. */
  | 'init'
  /** A living process of the app (the workload or one of its tools) other than PID 1. */
  | 'app'
  /** Anything else (e.g. a parent that has exited since). */
  | 'other';

/** One process as read from `/proc/<pid>/stat` (src/procfs/stat.ts; `comm` at most 15 bytes) and `environ` for live ones. */
export interface ProcInfo extends Omit<ProcStat, 'nice'> {
  /** `RB_ROLE` from the environment (live processes only; zombies have no environment). */
  role: string | null;
  /** Class of the parent (see {@link ParentClass}). */
  parent: ParentClass;
}

/** Where the first fork failed and how it was seen. */
export interface ForkFailures {
  /** Failed forks seen anywhere (count): spawn errors, tagged shell failures, `can't fork` lines. */
  count: number;
  /** Time of the first failure since the workload started, s; null: none. */
  first_s: number | null;
  /** Level of the first failure (`spawn`, `helper`, `worker`, `grandchild`, `shell`…); null: none. */
  firstLevel: string | null;
  /** errno name of the first failure (`EAGAIN`); null: none or unknown. */
  firstErrno: string | null;
  /** First few error lines the workload saw (downstream errors), verbatim. */
  messages: string[];
}

/** One sample of the in-container observer. */
export interface ObserverSample {
  /** Seconds since the workload started. */
  t_s: number;
  /** Processes in state Z in the PID namespace (count). */
  zombies: number;
  /** `pids.current` (tasks) or null when unreadable. */
  pids_current: number | null;
}

/** What the in-container observer reports at the end of a workload (the `RB-RESULT` line). */
export interface Observation {
  scenario: ScenarioName;
  /** The workload's pid and its parent's. */
  pid: number;
  ppid: number;
  /** The init's pid when the init is not PID 1 (S5), else null. */
  initPid: number | null;
  /** `comm` of PID 1. */
  pid1Comm: string;
  /** Units of work done (cycles, runs, probes, requests). */
  cycles: number;
  /** Workload duration, s. */
  duration_s: number;
  /** Zombies at the end: total, grouped by parent class, and the first 40 of them. */
  zombies: { total: number; byParent: Record<ParentClass, number>; list: ProcInfo[] };
  /** Highest zombie count sampled (count). */
  zombiesPeak: number;
  /** Live processes of the workload (with an `RB_ROLE`) adopted by PID 1 or the init (count, list). */
  liveOrphans: { pid1: number; init: number; list: ProcInfo[] };
  /** Who the orphans' parent was when they exited (ppid at exit), e.g. `pid1:tini` → 6. */
  adopters: Record<string, number>;
  /** Processes other than PID 1, the init and the workload still present at the end (first 40). */
  leftovers: ProcInfo[];
  /** pids cgroup at the end (tasks); `peak` is the highest sampled `pids.current`; `max` is
   * `'max'` for no limit; null means not read. */
  pids: { current: number | null; max: number | 'max' | null; peak: number | null; eventsMax: number | null; baseline: number | null };
  /** Threads of the workload process itself (count). */
  appThreads: number;
  forkFailures: ForkFailures;
  /** Sampled series (every `sample_ms`). */
  series: ObserverSample[];
  /** Scenario-specific figures (S7 counts, S6 markers…). */
  extra: Record<string, number | string | boolean | null>;
}

/** Line prefixes of the protocol on the workload's stdout. */
export const RESULT_PREFIX = 'RB-RESULT ';

/**
 * Observed outcome of one run, before it is compared with the expectation. Reaping scenarios:
 * `reaped` / `leaks` / `cannot-help`; S6: how the stop went; S7: whether the counts agree.
 */
export type Outcome =
  | 'reaped'
  | 'leaks'
  | 'cannot-help'
  | 'stopped'
  | 'sigkill-after-grace'
  | 'handler-skipped'
  | 'handler-cut-short'
  | 'graceful'
  | 'equal-counts'
  | 'unequal-counts'
  | 'not-applicable'
  | 'error';

/** What a correct harness should show for one scenario × init variant, and why. */
export interface Expectation {
  outcome: Outcome;
  /** One line: why this is expected (documented behaviour of the init). */
  reason: string;
  /**
   * Set when the init cannot help by design (an orphan whose parent is alive; a process that
   * escaped with setsid): the verdict then says so instead of crediting or blaming the init.
   */
  cannotHelp?: string;
  /**
   * Other outcomes that are equally correct because the documented behaviour leaves a race
   * (S6: a group-signalled worker's handler may or may not start before the container is torn
   * down). The reason says which race.
   */
  alsoAccept?: Outcome[];
}

/** An init plus flags, as a column of the report. */
export interface VariantSpec {
  /** Label shown in reports (`tini -s`, `dumb-init`, `none`). */
  label: string;
  /** Flags inserted after the init's binary. */
  flags: string[];
}

/**
 * How one scenario run ended (tinybench-style discriminant), the same words as a load run's
 * `RunState` plus `skipped` (not applicable to this init).
 */
export type ScenarioState = 'completed' | 'failed' | 'timed-out' | 'aborted' | 'skipped';

/** Result of one scenario × init variant × case run ({@link runScenario}). */
/**
 * What the kernel instrument (src/tracer/) saw of one scenario container, from outside it: exact
 * where the in-container observer samples, and blind to nothing the container does.
 */
export interface KernelFigures {
  /** Most zombies at once in the container's PID namespace (count). */
  zombiesPeak: number;
  /** Zombies no wait reaped before the container ended (count): still zombies when the trace
   * ended, or released by the kernel when the namespace's PID 1 exited. */
  zombiesAtEnd: number;
  /** The parent holding most of those, as `<comm> (pid <n in the container>) ×<count>`; null when none. */
  heldBy: string | null;
  /** First fork that a limit refused (EAGAIN), s since the container started; null: none. */
  firstEagain_s: number | null;
  /** comm of the process whose fork failed first; null: none. */
  firstEagainComm: string | null;
  /** Events the kernel instrument lost (count); null when unknown. */
  lost: number | null;
}

export interface ScenarioResult {
  /** `S1`…`S7` and the CLI name. */
  id: string;
  scenario: ScenarioName;
  /** Sub-case (S6: `sleep`, `launcher`, `launcher-setsid`), or null. */
  case: string | null;
  /** PID 1 choice and the variant label (`tini -s`). */
  init: string;
  variant: string;
  flags: string[];
  state: ScenarioState;
  /** Why the run did not complete or was skipped (one line), or null. */
  failureReason: string | null;
  params: ScenarioParams;
  /** `pids.max` of the container (tasks). */
  pidsLimit: number;
  /** Observed outcome and the one-line verdict for the table. */
  outcome: Outcome;
  verdict: string;
  expected: Expectation;
  /** Whether the observed outcome is the expected one (null: nothing to compare). */
  matches: boolean | null;
  /** Container exit status (128 + signal when killed), or null. */
  exitCode: number | null;
  /** Container run wall time, s. */
  wall_s: number;
  /** S6: `docker stop` request → exit, s; null elsewhere. */
  stopLatency_s: number | null;
  /** Host-side pids cgroup peak (tasks) and rejected forks (`pids.events` max, count). */
  hostPidsPeak: number | null;
  hostForkRejections: number | null;
  /**
   * How those two were read (runtime/host-cgroup.ts `PidsMethod`): `owned-parent` (exact peak;
   * rejections exact on cgroup v2, a lower bound from readings on v1), `sampled` (both lower
   * bounds), `unavailable`; null when no container ran.
   */
  hostPidsMethod: 'owned-parent' | 'sampled' | 'unavailable' | null;
  /** Figures the verdict was derived from (flat, for CSV). */
  figures: Record<string, number | string | boolean | null>;
  /** The kernel instrument's view of the same container (a cross-check of the in-container
   * observation the verdict comes from); null when it was not used or could not attach. */
  kernel: KernelFigures | null;
  /** The in-container observation (null when the workload printed none). */
  observation: Observation | null;
}
