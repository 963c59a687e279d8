/**
 * `--shard i/n`: a deterministic slice of the matrix, for benchmarks split across CI jobs and
 * joined again by `reapbench merge` (merge.ts).
 *
 * The unit dealt to shards is one configuration: for the orphan load a pids limit × rate (the
 * lifetime and duration are single values of the matrix), for a named scenario (S1–S7) the whole
 * scenario. Every init and every repetition of a unit stays in one shard, so that the ratios
 * between inits, which is what a reader compares, always come from one machine and one run.
 * Units are listed in a canonical order (scenarios in library order, limits and rates ascending)
 * that does not depend on how the options were spelled, and dealt round-robin: unit k goes to
 * shard (k mod n) + 1. Shard i of n is therefore the same on every machine, and neighbouring
 * rates (which differ most in cost) land in different shards.
 */
import { createHash } from 'node:crypto';
import { usageError } from '../errors.js';
import type { RunConfig } from '../model/config.js';
import type { ShardRecord } from '../model/records.js';
import { configKey } from '../stats/config-key.js';
import { scenarioNames, type Matrix } from './matrix.js';

/** Which slice of the matrix a run measures: shard `index` (1-based) of `count`. */
export interface ShardSpec {
  /** 1 ≤ index ≤ count. */
  readonly index: number;
  /** Shards the matrix is split into (≥ 1). */
  readonly count: number;
}

/** The whole matrix: what a run without `--shard` measures. */
export const WHOLE: ShardSpec = Object.freeze({ index: 1, count: 1 });

/** Most shards accepted: far beyond any CI matrix, low enough to catch a typo such as `1/30000`. */
export const MAX_SHARDS = 1000;

/**
 * Parse `--shard`'s value `i/n` (integers, 1 ≤ i ≤ n ≤ {@link MAX_SHARDS}).
 * @throws ReapbenchError (exit 2) with one line naming the option, what was expected and the value.
 */
export function parseShard(value: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw usageError(`Expected \`--shard\` to be i/n (e.g. 2/3), got \`${value}\``);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS) throw usageError(`Expected \`--shard\`'s n to be between 1 and ${MAX_SHARDS}, got \`${value}\``);
  if (index < 1 || index > count) throw usageError(`Expected \`--shard\`'s i to be between 1 and n (${count}), got \`${value}\``);
  return Object.freeze({ index, count });
}

/** One unit dealt to a shard: a load configuration, or a whole named scenario. */
export type ShardUnit = { kind: 'load'; config: RunConfig } | { kind: 'scenario'; scenario: string };

/**
 * The matrix's units in canonical order: the orphan load's configurations (limits, then rates,
 * ascending) when `orphans` is asked for, then the named scenarios in library order. Pure.
 */
export function shardUnits(m: Pick<Matrix, 'scenarios' | 'limits' | 'rates' | 'lifetime_ms' | 'duration_s'>): ShardUnit[] {
  const units: ShardUnit[] = [];
  const asked = new Set(m.scenarios);
  const ascending = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
  for (const scenario of scenarioNames()) {
    if (!asked.has(scenario)) continue;
    if (scenario !== 'orphans') {
      units.push({ kind: 'scenario', scenario });
      continue;
    }
    for (const pids_limit of ascending(m.limits))
      for (const rate_per_s of ascending(m.rates))
        units.push({ kind: 'load', config: { scenario, pids_limit, rate_per_s, lifetime_ms: m.lifetime_ms, duration_s: m.duration_s } });
  }
  return units;
}

/** What one shard measures: the load configurations (by `configKey`) and the named scenarios. */
export interface ShardSlice {
  /** `configKey`s (stats/config-key.ts) of the load configurations of this shard. */
  loadConfigs: ReadonlySet<string>;
  /** Named scenarios of this shard, in library order. */
  scenarios: readonly string[];
  /** Units of the whole matrix (count), for the one-line notice of an empty shard. */
  totalUnits: number;
}

/** The units of shard `s`: unit k (0-based, canonical order) belongs to shard (k mod count) + 1. Pure. */
export function sliceMatrix(m: Pick<Matrix, 'scenarios' | 'limits' | 'rates' | 'lifetime_ms' | 'duration_s'>, s: ShardSpec): ShardSlice {
  const units = shardUnits(m);
  const mine = units.filter((_, k) => k % s.count === s.index - 1);
  return {
    loadConfigs: new Set(mine.flatMap((u) => (u.kind === 'load' ? [configKey(u.config)] : []))),
    scenarios: mine.flatMap((u) => (u.kind === 'scenario' ? [u.scenario] : [])),
    totalUnits: units.length,
  };
}

/**
 * The fingerprint of a whole matrix: sha256 (hex, first 16 digits) of the reapbench version and
 * the resolved axes in canonical order. The seed is left out: it defaults to the clock, so every
 * CI leg draws its own, and it decides only the order of the runs, not what is measured; the
 * preset is left out because the axes it resolved to are in. Pure.
 */
export function matrixFingerprint(m: Omit<Matrix, 'seed' | 'preset'>, version: string): string {
  const canonical = {
    version,
    inits: [...m.inits],
    units: shardUnits(m).map((u) => (u.kind === 'load' ? configKey(u.config) : u.scenario)),
    repetitions: m.repetitions,
    warmup: m.warmup,
    run_timeout_s: m.run_timeout_s,
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

/**
 * env.json's `shard` of a run: which slice, the whole matrix's fingerprint and its units (count).
 * Pure.
 */
export function shardRecord(m: Matrix, s: ShardSpec, version: string): ShardRecord {
  return { index: s.index, count: s.count, fingerprint: matrixFingerprint(m, version), units: shardUnits(m).length };
}

/**
 * The shards of `count` that have nothing to run in a matrix of `units` units (count), ascending:
 * those numbered above `units`, since unit k goes to shard (k mod count) + 1 ({@link sliceMatrix})
 * and so every shard up to `units` gets one. Pure.
 */
export function emptyShards(count: number, units: number): number[] {
  const empty: number[] = [];
  for (let i = Math.max(1, units + 1); i <= count; i++) empty.push(i);
  return empty;
}
