/**
 * The whole `reapbench run` command (options → plan → environment → runs → records → files →
 * exit code) on the fake runtime (test/support/fake-runtime.ts): no engine, seconds. What the
 * engine itself does with a spec is the engine tier's business; here: that the command asks for
 * the right containers, turns what they produce into the right files, and ends with the right
 * code and lines. Local tier: the image step reads the built bundles (npm run build).
 */
import { parse } from 'csv-parse/sync';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ReapbenchError } from '../../src/errors.js';
import type { RunCliOptions } from '../../src/run/options.js';
import { RUN_ID, RUN_LABEL } from '../../src/runtime/cleanup.js';
import { FakeRuntime, runOnFake, type FakeOptions } from '../support/fake-runtime.js';
import { requireBuild } from '../support/loadgen.js';
import { scratchDirs } from '../support/scratch.js';

const scratch = scratchDirs('reapbench-run-fake-');

/** Run the command on a fresh fake; its exit code (or what it threw), the fake, and the one results folder (or null). */
async function onFreshFake(
  over: Partial<RunCliOptions> = {},
  fake: FakeOptions = {},
): Promise<{ code: number | ReapbenchError; rt: FakeRuntime; dir: string | null; stderr: string }> {
  const rt = new FakeRuntime(fake);
  return { ...(await runOnFake(await scratch(), rt, over)), rt };
}

/** runs.csv as objects. */
function runsCsv(dir: string): Array<Record<string, string>> {
  return parse(readFileSync(path.join(dir, 'runs.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
}

describe('reapbench run on the fake runtime', () => {
  beforeAll(() => requireBuild());

  it('runs the matrix end to end: one container per planned run, records and files from their output, exit 0', async () => {
    const { code, rt, dir, stderr } = await onFreshFake();
    expect(code, stderr).toBe(0);
    // The images: the base from the (present) registry image, then the app.
    expect(rt.built).toEqual([expect.stringMatching(/^reapbench-base:registry-/), expect.stringMatching(/^reapbench:/)]);
    // 3 inits × 2 repetitions, and one warm-up first.
    expect(rt.containers).toHaveLength(7);
    expect(rt.containers[0]!.spec.labels?.['reapbench.phase']).toBe('warm-up');
    expect(rt.live).toBe(0);
    for (const { spec } of rt.containers) {
      expect(spec.image).toMatch(/^reapbench:/);
      expect(spec.pidsLimit).toBe(64);
      // Only the engine's own init is asked of the engine; the others are in the command.
      expect(spec.init ?? false).toBe(spec.labels?.['reapbench.init'] === 'docker-init');
      expect(spec.cmd).toEqual(expect.arrayContaining(['--rate', '100', '--duration-s', '1']));
      expect(spec.mounts?.map((m) => m.container)).toEqual(['/results']);
    }
    const inits = rt.containers.slice(1).map((c) => c.spec.labels?.['reapbench.init']);
    expect([...inits].sort()).toEqual(['docker-init', 'docker-init', 'none', 'none', 'tini', 'tini']);

    expect(dir).not.toBeNull();
    const rows = runsCsv(dir!);
    expect(rows.map((r) => [r.init, r.repetition, r.state])).toEqual(inits.map((init, i) => [init, String(i < 3 ? 0 : 1), 'completed']));
    // No init: the load generator (PID 1) reaps nothing, so forks fail; the inits reap.
    for (const r of rows) {
      if (r.init === 'none') expect([r.first_fork_failure_s, r.reap_latency_p50_us]).toEqual([expect.stringMatching(/^\d/), '']);
      else expect([r.first_fork_failure_s, r.reap_latency_p50_us]).toEqual(['', expect.stringMatching(/^\d/)]);
    }
    const summary = parse(readFileSync(path.join(dir!, 'summary.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(summary.map((s) => s.init).sort()).toEqual(['docker-init', 'none', 'tini']);
    const env = JSON.parse(readFileSync(path.join(dir!, 'env.json'), 'utf8')) as Record<string, unknown>;
    expect(env).toMatchObject({ run_id: RUN_ID, engine_name: 'docker', engine_version: '26.1.5+fake', instrument: { used: 'pidfd' } });
    const report = readFileSync(path.join(dir!, 'report.md'), 'utf8');
    expect(report).not.toContain('PARTIAL');
    for (const init of ['none', 'tini', 'docker-init']) expect(report).toContain(init);
    // The raw files were folded into events.ndjson.
    expect(existsSync(path.join(dir!, 'events.ndjson'))).toBe(true);
    expect(existsSync(path.join(dir!, 'raw'))).toBe(false);
    expect(stderr).toContain(`reapbench: run ${RUN_ID}`);
    expect(RUN_LABEL).toBe('reapbench.run');
  });

  it('records a container that exits without the load generator summary as failed, and exits 1 when every run failed', async () => {
    const { code, rt, dir, stderr } = await onFreshFake(
      { inits: 'tini', repetitions: '1', warmup: false },
      { outcome: () => ({ kind: 'exit', exitCode: 1, stderr: 'node: cannot open /app/dist/loadgen.mjs\n' }) },
    );
    expect(code).toBe(1);
    expect(rt.containers).toHaveLength(1);
    const rows = runsCsv(dir!);
    expect(rows.map((r) => [r.state, r.failure_reason])).toEqual([
      ['failed', 'no summary from the load generator (exit 1): node: cannot open /app/dist/loadgen.mjs'],
    ]);
    expect(stderr).toMatch(
      /^reapbench: every run failed \(first reason: no summary from the load generator \(exit 1\): .*\); see .*report\.md$/m,
    );
  });

  it('records a container killed by the run timeout as timed-out, and goes on with the matrix', async () => {
    const { code, rt, dir } = await onFreshFake(
      { inits: 'none,tini', repetitions: '1', warmup: false },
      { outcome: (_s, n) => (n === 0 ? { kind: 'timeout' } : { kind: 'loadgen' }) },
    );
    expect(code).toBe(0);
    expect(rt.containers).toHaveLength(2);
    expect(runsCsv(dir!).map((r) => r.state)).toEqual(['timed-out', 'completed']);
  });

  it('stops with one line and leaves no results folder when the image cannot be built', async () => {
    const { code, rt, dir } = await onFreshFake({}, { buildFails: 'COPY failed: no source files were specified' });
    expect(code).toBeInstanceOf(ReapbenchError);
    const err = code as ReapbenchError;
    expect(err.message).toMatch(/^build reapbench-base:registry-\w+ failed: COPY failed: no source files were specified$/);
    expect(err.message).not.toContain('\n');
    expect(rt.containers).toHaveLength(0);
    expect(dir).toBeNull();
  });

  it('refuses bad input before it connects: an unknown init is a usage error (exit 2) and nothing runs', async () => {
    const { code, rt, dir } = await onFreshFake({ inits: 'tini,systemd' });
    expect(code).toBeInstanceOf(ReapbenchError);
    expect((code as ReapbenchError).exitCode).toBe(2);
    expect((code as ReapbenchError).message).toMatch(/systemd/);
    expect([rt.built, rt.containers.length, dir]).toEqual([[], 0, null]);
  });
});
