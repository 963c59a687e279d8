/**
 * `run --shard i/n`: which configurations a shard runs (every one in exactly one shard, all
 * inits and repetitions of it together, the same slice on every machine), the one-line errors of
 * a bad `i/n`, and the matrix fingerprint merge checks shards with.
 */
import { describe, expect, it } from 'vitest';
import { ReapbenchError } from '../../src/errors.js';
import { resolveMatrix } from '../../src/run/matrix.js';
import { normalizeRunOptions, type RunRequest } from '../../src/run/request.js';
import { emptyShards, matrixFingerprint, parseShard, shardRecord, shardUnits, sliceMatrix } from '../../src/run/shard.js';
import { SCENARIO_NAMES } from '../../src/scenarios/types.js';
import { configKey } from '../../src/stats/config-key.js';

/** The message of the usage error (exit 2) `fn` throws. */
function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ReapbenchError);
    expect((err as ReapbenchError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

/** A request as `reapbench run` would make it (no file is read: no --matrix, no --baseline). */
function request(o: Record<string, string | boolean>): Promise<RunRequest> {
  return normalizeRunOptions({ limits: '64,128', rates: '100,250,500', repetitions: '2', seed: '7', ...o });
}

/** The configurations (configKey) of a request's recorded runs. */
function configsOf(req: RunRequest): Set<string> {
  return new Set(req.plan.filter((r) => r.repetition >= 0).map((r) => configKey(r)));
}

describe('--shard i/n', () => {
  it('parses i/n and refuses anything else with one line naming the option and the value', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard(' 1 / 1 ')).toEqual({ index: 1, count: 1 });
    expect(usage(() => parseShard('0/3'))).toBe("Expected `--shard`'s i to be between 1 and n (3), got `0/3`");
    expect(usage(() => parseShard('4/3'))).toBe("Expected `--shard`'s i to be between 1 and n (3), got `4/3`");
    expect(usage(() => parseShard('1/0'))).toBe("Expected `--shard`'s n to be between 1 and 1000, got `1/0`");
    expect(usage(() => parseShard('2'))).toBe('Expected `--shard` to be i/n (e.g. 2/3), got `2`');
    expect(usage(() => parseShard('a/b'))).toBe('Expected `--shard` to be i/n (e.g. 2/3), got `a/b`');
    expect(usage(() => parseShard('1.5/3'))).toBe('Expected `--shard` to be i/n (e.g. 2/3), got `1.5/3`');
    for (const m of ['0/3', '2', '1/0']) expect(usage(() => parseShard(m))).not.toContain('\n');
  });

  it('puts every configuration in exactly one shard, for any number of shards', () => {
    const m = resolveMatrix({ limits: '64,128,256', rates: '100,250,500,1000', scenarios: 'orphans,S1,S6', seed: 1 });
    const units = shardUnits(m);
    expect(units).toHaveLength(3 * 4 + 2);
    for (let n = 1; n <= units.length + 2; n++) {
      const seen = new Map<string, number>();
      for (let i = 1; i <= n; i++) {
        const s = sliceMatrix(m, { index: i, count: n });
        for (const k of [...s.loadConfigs, ...s.scenarios]) seen.set(k, (seen.get(k) ?? 0) + 1);
      }
      expect(seen.size).toBe(units.length);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    }
  });

  it('keeps every init and every repetition of a configuration in its shard', async () => {
    const whole = await request({});
    const shards = await Promise.all([1, 2, 3].map((i) => request({ shard: `${i}/3` })));
    const recorded = shards.flatMap((r) => r.plan.filter((p) => p.repetition >= 0));
    // Together the shards plan exactly the runs of the whole matrix, each once.
    const key = (r: (typeof recorded)[number]): string => `${r.init}|${configKey(r)}|${r.repetition}`;
    expect(recorded.map(key).sort()).toEqual(
      whole.plan
        .filter((p) => p.repetition >= 0)
        .map(key)
        .sort(),
    );
    for (const r of shards) {
      for (const c of configsOf(r)) {
        const runs = r.plan.filter((p) => p.repetition >= 0 && configKey(p) === c);
        // All six inits × 2 repetitions of the configuration, in this shard and no other.
        expect(runs).toHaveLength(whole.matrix.inits.length * 2);
        expect(shards.filter((o) => configsOf(o).has(c))).toHaveLength(1);
      }
      // Each shard has its own warm-up, and order counts this shard's runs.
      expect(r.plan[0]!.repetition).toBe(-1);
      expect(Math.max(...r.plan.map((p) => p.order))).toBe(configsOf(r).size * whole.matrix.inits.length - 1);
    }
  });

  it('is the same slice on every machine: independent of the seed and of how the lists are spelled', async () => {
    const a = await request({ shard: '2/3', seed: '1' });
    const b = await request({ shard: '2/3', seed: '99', limits: '128,64', rates: '500,100,250' });
    expect(configsOf(a)).toEqual(configsOf(b));
    // Round-robin over limits, then rates, ascending: shard 2 of 3 holds units 1 and 4.
    expect([...configsOf(a)].sort()).toEqual(['orphans|128|250|5|3', 'orphans|64|250|5|3']);
  });

  it('deals whole scenarios, every init of each, and leaves a shard beyond the matrix empty', async () => {
    const shards = await Promise.all([1, 2, 3].map((i) => normalizeRunOptions({ scenario: 'all', shard: `${i}/3` })));
    expect(shards.map((r) => r.namedScenarios)).toEqual([
      [SCENARIO_NAMES[0], SCENARIO_NAMES[3], SCENARIO_NAMES[6]],
      [SCENARIO_NAMES[1], SCENARIO_NAMES[4]],
      [SCENARIO_NAMES[2], SCENARIO_NAMES[5]],
    ]);
    for (const r of shards) expect(r.plan).toEqual([]);
    const empty = await normalizeRunOptions({ limits: '128', rates: '250', shard: '2/2' });
    expect(empty.plan).toEqual([]);
    expect(empty.namedScenarios).toEqual([]);
    expect(empty.totalUnits).toBe(1);
  });

  it('names as empty exactly the shards whose slice is empty, from the units env.json records', () => {
    // merge relies on it to tell a shard that had nothing to run from a missing one.
    const m = resolveMatrix({ limits: '64,128', rates: '100,250', scenarios: 'orphans,init-not-pid1', seed: 1 });
    const units = shardRecord(m, { index: 1, count: 1 }, '0.1.0').units!;
    expect(units).toBe(shardUnits(m).length);
    expect(units).toBe(5);
    for (let count = 1; count <= 9; count++) {
      const slices = Array.from({ length: count }, (_, k) => sliceMatrix(m, { index: k + 1, count }));
      const empty = slices.flatMap((s, k) => (s.loadConfigs.size === 0 && s.scenarios.length === 0 ? [k + 1] : []));
      expect(emptyShards(count, units)).toEqual(empty);
    }
  });

  it('fingerprints the whole matrix and the version, not the seed, the spelling or the shard', () => {
    const m = (o: Parameters<typeof resolveMatrix>[0]): ReturnType<typeof resolveMatrix> =>
      resolveMatrix({ limits: '64,128', rates: '100,250', ...o });
    const fp = matrixFingerprint(m({ seed: 1 }), '0.1.0');
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(matrixFingerprint(m({ seed: 2, limits: '128,64' }), '0.1.0')).toBe(fp);
    expect(matrixFingerprint(m({ seed: 1 }), '0.2.0')).not.toBe(fp);
    expect(matrixFingerprint(m({ seed: 1, repetitions: 3 }), '0.1.0')).not.toBe(fp);
    expect(matrixFingerprint(m({ seed: 1, rates: '100' }), '0.1.0')).not.toBe(fp);
    expect(matrixFingerprint(m({ seed: 1, inits: 'tini,none' }), '0.1.0')).not.toBe(fp);
  });
});
