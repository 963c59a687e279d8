/**
 * The benchmark matrix: presets, per-axis overrides from the command line or a JSON/YAML file,
 * validation (one message template per kind of value), and expansion into ordered runs.
 */
import { readFile } from 'node:fs/promises';
import YAML from 'yaml';
import { asUsage, usageError } from '../errors.js';
import { checkNumber as checkValue, type NumberRule } from '../validate.js';
import { parseInits } from './inits.js';
import { RUN_DEFAULTS } from './options.js';
import { rng } from '../rng.js';
import { DEFAULT_INITS, type InitName } from '../model/inits.js';
import type { RunConfig } from '../model/config.js';
import type { RunRecord } from '../model/records.js';
import { SCENARIO_NAMES } from '../scenarios/types.js';

/** A resolved matrix: every axis filled in. */
export interface Matrix {
  /** Preset the matrix started from. */
  preset: PresetName;
  /** PID 1 choices, canonical order. */
  inits: InitName[];
  /** Scenarios (`orphans` is the plain orphan load). */
  scenarios: string[];
  /** pids limits (`pids.max`, tasks). */
  limits: number[];
  /** Target orphan rates, per s. */
  rates: number[];
  /** Orphan lifetime, ms. */
  lifetime_ms: number;
  /** Orphan production time per run, s. */
  duration_s: number;
  /** Recorded repetitions of every cell (count). */
  repetitions: number;
  /** Discard one warm-up run before the first repetition. */
  warmup: boolean;
  /** Seed for the per-repetition order shuffle. */
  seed: number;
  /** Hard timeout of one container run, s. */
  run_timeout_s: number;
}

/** Smallest `--limits` value accepted (tasks): the load generator and ts-reaper need ~25 of them. */
export const MIN_PIDS_LIMIT = 32;

/** Preset names. `quick` is the default and finishes in under 2 minutes with warm images. */
export type PresetName = 'quick' | 'full';

/** Presets: `quick` one configuration; `full` a rate sweep up to saturation at several limits. */
export const PRESETS: Record<PresetName, Omit<Matrix, 'preset' | 'seed'>> = {
  quick: {
    inits: [...DEFAULT_INITS],
    scenarios: ['orphans'],
    limits: [128],
    // One workload CPU makes ~500 orphans/s here (two forks each); 250/s leaves it headroom so
    // that latency reflects the init, not a saturated CPU. `full` sweeps up to saturation.
    rates: [250],
    lifetime_ms: 5,
    duration_s: 3,
    repetitions: 2,
    warmup: true,
    run_timeout_s: 60,
  },
  full: {
    inits: [...DEFAULT_INITS],
    scenarios: ['orphans'],
    limits: [64, 256],
    rates: [100, 250, 500, 1000, 2000],
    lifetime_ms: 5,
    duration_s: 5,
    repetitions: 3,
    warmup: true,
    run_timeout_s: 90,
  },
};

/** Overrides as they come from the CLI or a matrix file (strings or values). */
export interface MatrixOverrides {
  preset?: string;
  inits?: string | string[];
  scenarios?: string | string[];
  limits?: string | number[];
  rates?: string | number[];
  lifetime_ms?: string | number;
  duration_s?: string | number;
  repetitions?: string | number;
  warmup?: boolean;
  seed?: string | number;
  run_timeout_s?: string | number;
}

/**
 * Parse `value` as the number option `--<name>` and check it against `rule` (src/validate.ts:
 * the one message template and numeric check of all three programs).
 * @throws ReapbenchError (exit code 2) "Expected `--<name>` to be …, got `…`".
 */
export function checkNumber(name: string, value: unknown, rule: NumberRule = {}): number {
  return asUsage(() => checkValue(`--${name}`, value, rule));
}

function list(name: string, value: string | number[] | undefined, opts: Parameters<typeof checkNumber>[2]): number[] | undefined {
  if (value === undefined) return undefined;
  const items = Array.isArray(value)
    ? value
    : value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
  if (items.length === 0) throw usageError(`Expected \`--${name}\` to list at least one value`);
  return [...new Set(items.map((v) => checkNumber(name, v, opts)))];
}

/**
 * Scenario names `--scenario` accepts: `orphans` (the plain orphan load), then S1–S7 in library
 * order. Taken from the scenario library's constant of names, a module with no imports, so that
 * resolving a matrix (and printing `--help`) never loads the library or an engine client.
 */
const KNOWN_SCENARIOS: readonly string[] = ['orphans', ...SCENARIO_NAMES];

/** Scenario names `--scenario` accepts (a fresh array: `orphans`, then S1–S7 CLI names). */
export function scenarioNames(): string[] {
  return [...KNOWN_SCENARIOS];
}

/**
 * `--scenario`'s choices for `--help`, complete: `orphans`, then each of S1–S7 as `S<n> <name>`
 * (either may be given).
 */
export function scenarioChoices(): string {
  return ['orphans', ...SCENARIO_NAMES.map((n, i) => `S${i + 1} ${n}`)].join(', ');
}

/**
 * The scenario name `s` stands for: an id `S1`…`S7` (any case, as the README and scenarios.md
 * number them) is the name at that place in the library; anything else is returned as given.
 */
export function scenarioAlias(s: string): string {
  const m = /^s([1-9]\d*)$/i.exec(s);
  return m ? (SCENARIO_NAMES[Number(m[1]) - 1] ?? s) : s;
}

/**
 * Resolve a matrix from a preset and overrides, validating every value.
 * @throws ReapbenchError (exit 2) with one line naming the option, what was expected and the value.
 */
export function resolveMatrix(o: MatrixOverrides = {}): Matrix {
  const preset = (o.preset ?? RUN_DEFAULTS.preset) as PresetName;
  if (!(preset in PRESETS)) throw usageError(`Expected \`--preset\` to be one of ${Object.keys(PRESETS).join(', ')}, got \`${o.preset}\``);
  const p = PRESETS[preset];
  const inits = o.inits === undefined ? p.inits : parseInits(Array.isArray(o.inits) ? o.inits.join(',') : o.inits);
  const scenarios =
    o.scenarios === undefined
      ? p.scenarios
      : [
          ...new Set(
            (Array.isArray(o.scenarios) ? o.scenarios : o.scenarios.split(',')).map((s) => scenarioAlias(String(s).trim())).filter(Boolean),
          ),
        ];
  if (o.scenarios !== undefined && o.scenarios.includes('all')) scenarios.splice(0, scenarios.length, ...SCENARIO_NAMES);
  for (const s of scenarios) {
    if (!KNOWN_SCENARIOS.includes(s))
      throw usageError(
        `Expected \`--scenario\` to be all, or a comma-separated list of ${scenarioChoices()} (by id or name), got \`${s}\``,
      );
  }
  if (scenarios.length === 0) throw usageError('Expected `--scenario` to name at least one scenario');
  return {
    preset,
    inits,
    scenarios,
    // Below 32 the instrument itself (13 tasks; PID 1 adds 1, ts-reaper ~11) leaves no budget.
    limits: list('limits', o.limits, { integer: true, min: MIN_PIDS_LIMIT, max: 4_194_304 }) ?? p.limits,
    rates: list('rates', o.rates, { minExclusive: 0, max: 100_000 }) ?? p.rates,
    lifetime_ms: o.lifetime_ms === undefined ? p.lifetime_ms : checkNumber('lifetime-ms', o.lifetime_ms, { min: 0, max: 600_000 }),
    duration_s: o.duration_s === undefined ? p.duration_s : checkNumber('duration-s', o.duration_s, { minExclusive: 0, max: 3_600 }),
    repetitions:
      o.repetitions === undefined ? p.repetitions : checkNumber('repetitions', o.repetitions, { integer: true, min: 1, max: 1_000 }),
    warmup: o.warmup ?? p.warmup,
    seed: o.seed === undefined ? Date.now() % 2 ** 31 : checkNumber('seed', o.seed, { integer: true, min: 0 }),
    run_timeout_s:
      o.run_timeout_s === undefined ? p.run_timeout_s : checkNumber('run-timeout-s', o.run_timeout_s, { minExclusive: 0, max: 86_400 }),
  };
}

/**
 * Matrix file keys that are the command-line option's name rather than the axis's (after dashes
 * become underscores): `scenario` (`--scenario`) for `scenarios`, `no_warmup` (`--no-warmup`),
 * whose value is the negation of `warmup`.
 */
const OPTION_KEYS: Record<string, (v: unknown) => [string, unknown]> = {
  scenario: (v) => ['scenarios', v],
  no_warmup: (v) => ['warmup', typeof v === 'boolean' ? !v : v],
};

/**
 * Read matrix overrides from a JSON or YAML file (keys as in {@link MatrixOverrides}, or the
 * command-line option's name, e.g. `scenario`, `no-warmup`; dashes or underscores). Command-line
 * options given as well win over the file.
 * @throws ReapbenchError when the file is missing, unreadable, or not an object.
 */
export async function readMatrixFile(file: string): Promise<MatrixOverrides> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read matrix file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the path`);
  }
  let data: unknown;
  try {
    data = /\.ya?ml$/i.test(file) ? YAML.parse(text) : JSON.parse(text);
  } catch (err) {
    throw usageError(
      `matrix file ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${firstSentence((err as Error).message)}`,
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw usageError(`matrix file ${file} must hold an object of axis: value`);
  const out: Record<string, unknown> = {};
  const allowed = new Set([
    'preset',
    'inits',
    'scenarios',
    'limits',
    'rates',
    'lifetime_ms',
    'duration_s',
    'repetitions',
    'warmup',
    'seed',
    'run_timeout_s',
  ]);
  for (const [k, raw] of Object.entries(data)) {
    const [key, v] = OPTION_KEYS[k.replace(/-/g, '_')]?.(raw) ?? [k.replace(/-/g, '_'), raw];
    if (!allowed.has(key))
      throw usageError(
        `Expected the keys of matrix file ${file} to be among ${[...allowed, ...Object.keys(OPTION_KEYS)].join(', ')}, got \`${k}\``,
      );
    if (key in out) throw usageError(`matrix file ${file}: \`${k}\` sets \`${key}\` a second time`);
    if (key === 'warmup' && typeof v !== 'boolean')
      throw usageError(`Expected \`${k}\` in matrix file ${file} to be true or false, got \`${String(raw)}\``);
    out[key] = Array.isArray(v) ? v : typeof v === 'number' || typeof v === 'boolean' ? v : String(v);
  }
  return out as MatrixOverrides;
}

/**
 * The first line of a parser's message as a complete sentence: the yaml package ends it with
 * `… at line 2, column 1:` followed by an excerpt of the file, which a one-line error leaves out.
 */
function firstSentence(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/[\s:]+$/, '');
}

/** One planned container run. */
export interface PlannedRun extends RunConfig {
  init: InitName;
  /** Repetition index, −1 for the warm-up run. */
  repetition: number;
  /** Position within its repetition (0-based). */
  order: number;
}

/** Every configuration of the matrix (without init and repetition). */
export function configs(m: Matrix): RunConfig[] {
  const out: RunConfig[] = [];
  for (const scenario of m.scenarios)
    for (const pids_limit of m.limits)
      for (const rate_per_s of m.rates)
        out.push({ scenario, pids_limit, rate_per_s, lifetime_ms: m.lifetime_ms, duration_s: m.duration_s });
  return out;
}

/**
 * Expand a matrix into runs: per repetition every init × configuration once, in an order
 * shuffled per repetition (Fisher–Yates with the seeded PRNG), preceded by one warm-up run
 * (repetition −1) when `warmup` is set. `keep` narrows the configurations first (a shard's, see
 * shard.ts), so that the shuffle, the warm-up and `order` are those of the runs this process makes.
 */
export function planRuns(m: Matrix, keep: (c: RunConfig) => boolean = () => true): PlannedRun[] {
  const cells = configs(m)
    .filter(keep)
    .flatMap((c) => m.inits.map((init) => ({ ...c, init })));
  const random = rng(m.seed);
  const runs: PlannedRun[] = [];
  if (m.warmup && cells.length > 0) runs.push({ ...cells[0]!, repetition: -1, order: 0 });
  for (let rep = 0; rep < m.repetitions; rep++) {
    const order = [...cells];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((c, i) => runs.push({ ...c, repetition: rep, order: i }));
  }
  return runs;
}

/**
 * The head of a run's record: its configuration and repetition as planned, how it ended, and
 * when it started (ISO 8601 UTC). Every builder of a RunRecord starts from it.
 */
export function recordHead(
  run: PlannedRun,
  startedAt: string,
  state: RunRecord['state'],
  failureReason: string | null,
): Pick<RunRecord, keyof PlannedRun | 'state' | 'failure_reason' | 'started_at'> {
  return {
    scenario: run.scenario,
    pids_limit: run.pids_limit,
    rate_per_s: run.rate_per_s,
    lifetime_ms: run.lifetime_ms,
    duration_s: run.duration_s,
    init: run.init,
    repetition: run.repetition,
    order: run.order,
    state,
    failure_reason: failureReason,
    started_at: startedAt,
  };
}
