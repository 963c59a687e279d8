/**
 * `run --shard i/n` and `merge` end to end with the real CLI and engine: a tiny matrix (2 inits,
 * 3 rates, 1 s, one repetition) in 3 shards, merged, holds every init × configuration of the
 * unsharded plan. About 25 s on 2 cores with warm images.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { normalizeRunOptions } from '../../src/run/request.js';
import { cellKey } from '../../src/stats/config-key.js';
import type { CellKey } from '../../src/model/config.js';
import { testImages } from '../support/engine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');

/** The matrix every shard runs (the in-container watcher: no root needed, the same everywhere). */
const MATRIX = [
  '--inits',
  'none,tini',
  '--limits',
  '64',
  '--rates',
  '100,200,300',
  '--duration-s',
  '1',
  '--repetitions',
  '1',
  '--no-warmup',
];

beforeAll(async () => {
  await testImages(); // build once here, so the shards below do not time the image build
});

describe('reapbench run --shard and merge (engine)', () => {
  it('runs a matrix in 3 shards and merges them into the configurations of the unsharded plan', { timeout: 60_000 }, async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-shard-'));
    try {
      const dirs: string[] = [];
      // One after the other: shards on one engine would compete for its 2 cores.
      for (const i of [1, 2, 3]) {
        const r = await execa(
          process.execPath,
          [cli, 'run', ...MATRIX, '--instrument', 'pidfd', '--shard', `${i}/3`, '--out', path.join(out, `s${i}`), '--ci'],
          { reject: false, env: { CI: 'true' }, timeout: 45_000 },
        );
        expect(r.stderr).not.toMatch(/\n\s+at /);
        expect(r.exitCode).toBe(0);
        dirs.push(path.join(out, `s${i}`, 'latest'));
      }
      const m = await execa(process.execPath, [cli, 'merge', ...dirs, '--out', path.join(out, 'merged'), '--ci'], {
        reject: false,
        env: { CI: 'true' },
      });
      expect(m.stderr).toMatch(/^reapbench: merged 3 of 3 shards/);
      // Every shard ran to its end: the merge line says no PARTIAL.
      expect(m.stderr.split('\n')[0]).toMatch(/^reapbench: merged 3 of 3 shards \(matrix [0-9a-f]{16}\) into \S+$/);
      expect(m.exitCode).toBe(0);
      const summary = parse(await readFile(path.join(out, 'merged', 'summary.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
      const got = summary.map((r) =>
        cellKey({
          init: r.init,
          scenario: r.scenario,
          pids_limit: Number(r.pids_limit),
          rate_per_s: Number(r.rate_per_s),
          lifetime_ms: Number(r.lifetime_ms),
          duration_s: Number(r.duration_s),
        } as CellKey),
      );
      const plan = (await normalizeRunOptions({ inits: 'none,tini', limits: '64', rates: '100,200,300', durationS: '1', repetitions: '1' }))
        .plan;
      const planned = [...new Set(plan.filter((p) => p.repetition >= 0).map((p) => cellKey(p)))];
      expect(got.sort()).toEqual(planned.sort());
      expect(summary.every((r) => r.runs === '1')).toBe(true);
      expect(await readFile(path.join(out, 'merged', 'report.md'), 'utf8')).toMatch(/\| shards \| merged 1, 2, 3 of 3 /);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
