/**
 * The options of `reapbench run` normalized once (execa's pattern): every value validated,
 * every default taken from the one table (`RUN_DEFAULTS` in options.ts, the presets in
 * matrix.ts), the result frozen. Nothing else in the run reads the command line's options.
 */
import path from 'node:path';
import { usageError } from '../errors.js';
import { readBaseline, type BaselineRow } from './baseline.js';
import { checkNumber, planRuns, readMatrixFile, resolveMatrix, type Matrix, type MatrixOverrides, type PlannedRun } from './matrix.js';
import { RUN_DEFAULTS, type RunCliOptions } from './options.js';
import { INSTRUMENTS, type Instrument } from '../model/instrument.js';
import type { InitName } from '../model/inits.js';
import { configKey } from '../stats/config-key.js';
import { parseShard, sliceMatrix, WHOLE, type ShardSpec } from './shard.js';
import { checkTrendFiles, type TrendFiles } from './results-dir.js';

/** Everything a run does, decided before anything starts. Frozen. */
export interface RunRequest {
  /** The resolved matrix (every axis filled in). */
  readonly matrix: Matrix;
  /** Load generator runs (warm-up first); empty when only named scenarios were asked for. */
  readonly plan: readonly PlannedRun[];
  /** Recorded load runs planned (the plan without its warm-up), count. */
  readonly recordedRuns: number;
  /** Named scenarios (S1–S7) to run after the load matrix; empty when none. */
  readonly namedScenarios: readonly string[];
  /** `--shard`: the slice of `matrix` that `plan` and `namedScenarios` hold; 1 of 1 without it. */
  readonly shard: ShardSpec;
  /** Units (configurations and named scenarios, shard.ts) of the whole matrix (count). */
  readonly totalUnits: number;
  /** Base image mode. */
  readonly base: 'auto' | 'offline' | 'registry';
  /** Results root, absolute. */
  readonly outRoot: string;
  /** CI mode: a JSON line on stdout instead of the terminal report, no bar. */
  readonly ci: boolean;
  /** A progress bar is wanted (`--progress` and not `--ci`); the output object decides whether it can be drawn. */
  readonly progress: boolean;
  /** Pin the watcher and the workload to different CPUs. */
  readonly pin: boolean;
  /** `--instrument`: `auto` is resolved in the environment phase (it needs the kernel). */
  readonly instrument: 'auto' | Instrument;
  /** Print engine build output in full. */
  readonly verbose: boolean;
  /** `--baseline`: its path and rows; null without it. */
  readonly baseline: { readonly file: string; readonly rows: readonly BaselineRow[] } | null;
  /** `--p50-factor` (> 1, ×). */
  readonly p50Factor: number;
  /** `--export-bmf`, `--export-benchmark-action`: trend files written with the final report. */
  readonly trend: TrendFiles;
}

/** Matrix overrides from the CLI options (only those given). */
export function overridesFromCli(o: RunCliOptions): MatrixOverrides {
  const out: MatrixOverrides = {};
  if (o.preset !== undefined) out.preset = o.preset;
  if (o.inits !== undefined) out.inits = o.inits;
  if (o.scenario !== undefined) out.scenarios = o.scenario;
  if (o.limits !== undefined) out.limits = o.limits;
  if (o.rates !== undefined) out.rates = o.rates;
  if (o.lifetimeMs !== undefined) out.lifetime_ms = o.lifetimeMs;
  if (o.durationS !== undefined) out.duration_s = o.durationS;
  if (o.repetitions !== undefined) out.repetitions = o.repetitions;
  if (o.warmup === false) out.warmup = false;
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.runTimeoutS !== undefined) out.run_timeout_s = o.runTimeoutS;
  return out;
}

/**
 * The one request of a run from the command line's options (a matrix file's axes first, the
 * options given on the command line over them; an option absent from `o` takes its default).
 * Reads the matrix file and the baseline; starts nothing.
 * @throws ReapbenchError (exit 2) for a bad value, naming the option, what was expected and the
 *   value; for an unreadable or malformed matrix file or baseline; for a trend file
 *   (`--export-bmf`, `--export-benchmark-action`) that cannot be written (results-dir.ts
 *   `checkTrendFiles`).
 */
export async function normalizeRunOptions(o: Partial<RunCliOptions>): Promise<RunRequest> {
  const opt = { ...RUN_DEFAULTS, ...definedOnly(o) };
  // path.resolve('') is the current folder: an empty --out (an unset variable) would write there.
  if (opt.out.trim() === '') throw usageError('Expected `--out` to name a folder, got an empty string');
  const fileOverrides = opt.matrix ? await readMatrixFile(opt.matrix) : {};
  const matrix = resolveMatrix({ ...fileOverrides, ...overridesFromCli(opt as RunCliOptions) });
  const p50Factor = checkNumber('p50-factor', opt.p50Factor, { minExclusive: 1 });
  const baseline = opt.baseline ? { file: opt.baseline, rows: Object.freeze(await readBaseline(opt.baseline)) } : null;
  const trend = await checkTrendFiles(opt);
  // The plain orphan load goes through the load generator matrix; named scenarios (S1–S7)
  // through the scenario library.
  // A shard keeps its configurations and scenarios; the matrix stays whole (env.json, fingerprint).
  const shard = opt.shard === undefined ? WHOLE : parseShard(opt.shard);
  const slice = sliceMatrix(matrix, shard);
  const plan = matrix.scenarios.includes('orphans')
    ? planRuns({ ...matrix, scenarios: ['orphans'] }, (c) => slice.loadConfigs.has(configKey(c)))
    : [];
  const ci = opt.ci ?? false;
  return Object.freeze({
    matrix: Object.freeze(matrix),
    plan: Object.freeze(plan),
    recordedRuns: plan.filter((r) => r.repetition >= 0).length,
    // The user's order, as without --shard; the slice decides only which.
    namedScenarios: Object.freeze(matrix.scenarios.filter((s) => s !== 'orphans' && slice.scenarios.includes(s))),
    shard,
    totalUnits: slice.totalUnits,
    base: opt.base as RunRequest['base'],
    outRoot: path.resolve(opt.out),
    ci,
    progress: opt.progress && !ci,
    pin: opt.pin,
    instrument: checkInstrument(opt.instrument),
    verbose: opt.verbose,
    baseline: baseline && Object.freeze(baseline),
    p50Factor,
    trend,
  });
}

/**
 * `--instrument`'s value.
 * @throws ReapbenchError (exit 2) for anything but `auto`, `ebpf`, `pidfd`, `both` (`host` is for `--image`).
 */
function checkInstrument(v: string): 'auto' | Instrument {
  if (v === 'auto' || (INSTRUMENTS as readonly string[]).includes(v)) return v as 'auto' | Instrument;
  if (v === 'host')
    throw usageError("`--instrument host` measures a user's image only: add --image <ref>, or use auto, ebpf, pidfd or both");
  throw usageError(`Expected \`--instrument\` to be one of auto, ${INSTRUMENTS.join(', ')}, got \`${v}\``);
}

/** `o` without its undefined values, so that they do not hide a default. */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A PID 1 choice left out of a run because it has no meaning on its runtime, and why (one line). */
export interface LeftOutInit {
  init: InitName;
  why: string;
}

/**
 * The request on a runtime where some PID 1 choices have no meaning (the engine's own init,
 * `docker-init`, on the namespace runtime, which has no engine): their load runs and scenario
 * variants are left out, and the caller says so in a line, rather than recorded as failed runs
 * that would count as failures of the choice. The warm-up, when it was of a choice left out,
 * takes the first choice kept in the same configuration. The whole matrix stays in env.json
 * (prepared before), so that shards of one matrix still merge.
 * @param notApplicable why `init` has no meaning on the runtime (one line), or null when it has.
 * @returns the request (the same object when nothing is left out) and the choices left out.
 * @throws ReapbenchError (exit 2) when every choice is left out: nothing would run.
 */
export function withoutInapplicable(
  req: RunRequest,
  notApplicable: (init: InitName) => string | null,
): { req: RunRequest; leftOut: LeftOutInit[] } {
  const leftOut = req.matrix.inits.flatMap((init) => {
    const why = notApplicable(init);
    return why === null ? [] : [{ init, why }];
  });
  if (leftOut.length === 0) return { req, leftOut };
  const gone = new Set(leftOut.map((l) => l.init));
  const inits = req.matrix.inits.filter((i) => !gone.has(i));
  if (inits.length === 0)
    throw usageError(
      `Expected a PID 1 choice that runs on this runtime, got only ${leftOut.map((l) => `${l.init} (${l.why})`).join(', ')}; use --engine docker or podman`,
    );
  const plan = req.plan.flatMap((r) => {
    if (!gone.has(r.init)) return [r];
    return r.repetition < 0 ? [{ ...r, init: inits[0]! }] : [];
  });
  return {
    req: Object.freeze({
      ...req,
      matrix: Object.freeze({ ...req.matrix, inits }),
      plan: Object.freeze(plan),
      recordedRuns: plan.filter((r) => r.repetition >= 0).length,
    }),
    leftOut,
  };
}
