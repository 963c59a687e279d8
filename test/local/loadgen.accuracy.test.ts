import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readLoadgenResults } from '../../src/loadgen/read.js';
import type { OrphanEvent, SampleEvent } from '../../src/loadgen/types.js';
import { makePidsCgroup, requireBuild, root, runInNamespace, type TestCgroup } from '../support/loadgen.js';
import { namespaceInitPid, zombieChildrenOf } from '../support/proc.js';
import { waitFor } from '../support/wait.js';

// Real processes in real PID namespaces and pids cgroups; no kernel mocks. Rates stay well inside
// what this 2-core machine forks (a plain fork+exit+wait loop reaches ~500–2000/s here).
describe('loadgen accuracy', () => {
  let cg: TestCgroup | null = null;
  beforeAll(() => requireBuild());
  afterEach(async () => {
    await cg?.remove();
    cg = null;
  });

  it("measures a calibration reaper with a fixed 20 ms delay at 20 ms ± 1 ms (median), and Little's law agrees", async () => {
    cg = makePidsCgroup(400);
    const r = await runInNamespace(
      { calibrationDelayMs: 20 },
      ['--rate', '100', '--lifetime-ms', '10', '--duration-s', '4', '--forkloop-ms', '0', '--scan-every', '1'],
      cg,
    );
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary!;
    expect(s.state).toBe('completed');
    expect(s.pid1_comm).toBe('orphanage');
    expect(s.latency_method).toBe('pidfd-hup');
    expect(s.latency.n).toBeGreaterThan(200);
    // The median was 4–46 µs off here (idle and on 2 loaded cores): ± 1 ms is ≥ 20× that.
    expect(Math.abs(s.latency.p50_us! - 20_000)).toBeLessThanOrEqual(1000);
    expect(s.orphans_zombie).toBe(0);
    expect(s.fork_failures).toBe(0);
    // The orphans' own exit reports: observation lag is never negative, and the self-timed
    // latency (an upper bound) sits just above the pidfd one.
    expect(s.exit_observation_lag.n).toBeGreaterThan(200);
    expect(s.exit_observation_lag.p50_us!).toBeGreaterThanOrEqual(0);
    expect(s.latency_self.p50_us!).toBeGreaterThanOrEqual(s.latency.p50_us! - 200);
    // + observation lag: 0.18–0.26 ms here, idle and on 2 loaded cores; 5 ms is ≥ 19× that.
    expect(s.latency_self.p50_us!).toBeLessThan(s.latency.p50_us! + 5000);
    // Second method, independent of pidfds: mean zombies (/proc scans) ÷ exit rate.
    // Stated tolerance: ±20 % (sampling noise of ~200 scans with L ≈ 2).
    expect(s.little_ratio).not.toBeNull();
    expect(s.little_ratio!).toBeGreaterThan(0.8);
    expect(s.little_ratio!).toBeLessThan(1.2);
    // The file holds one line per orphan with the same latencies.
    const orphans = r.events!.filter((e): e is OrphanEvent => e.type === 'orphan');
    expect(orphans).toHaveLength(s.orphans_made);
    expect(r.events!.at(-1)).toEqual(s);
    const back = readLoadgenResults(r.out);
    expect(back.summary).toEqual(s);
    expect(back.orphans).toHaveLength(s.orphans_made);
    expect(back.samples.length).toBe(s.samples);
  });

  it('no init, pids.max 64: every orphan stays a zombie and forks fail after about (limit − baseline) orphans', async () => {
    const limit = 64;
    cg = makePidsCgroup(limit);
    // --scan-every 1: the last sample, taken after the drain, then also counts the zombies.
    const r = await runInNamespace(
      'none',
      [
        '--rate',
        '100',
        '--lifetime-ms',
        '5',
        '--count',
        '200',
        '--after-failure',
        'stop',
        '--grace-ms',
        '200',
        '--forkloop-ms',
        '0',
        '--scan-every',
        '1',
      ],
      cg,
    );
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary!;
    expect(s.is_pid1).toBe(true);
    expect(s.pids_max).toBe(limit);
    expect(s.baseline_tasks).toBeGreaterThan(5);
    expect(s.effective_budget).toBe(limit - s.baseline_tasks!);
    const f = s.first_fork_failure!;
    expect(f).not.toBeNull();
    expect(f.errno_name).toBe('EAGAIN');
    // The intermediate holds one slot while it forks the orphan: budget − 1 orphans fit.
    expect(f.orphans_made_before).toBeGreaterThanOrEqual(s.effective_budget! - 3);
    expect(f.orphans_made_before).toBeLessThanOrEqual(s.effective_budget!);
    expect(s.orphans_reaped).toBe(0);
    expect(s.orphans_zombie).toBe(s.orphans_made - s.orphans_missed);
    expect(s.orphans_made).toBeLessThanOrEqual(s.effective_budget!);
    expect(s.zombies_max).toBeGreaterThanOrEqual(s.orphans_made - 1);
    expect(s.pids_events_max_delta).toBeGreaterThanOrEqual(1);
    // The rate of the load phase, up to the first failed fork: not diluted by the grace period
    // (forks failing) that follows it, so about the 100/s asked for (orphans_made ÷ production_s
    // would be ~70/s here).
    expect(s.achieved_rate_per_s).toBeCloseTo(f.orphans_made_before / (f.t_us / 1e6), 2);
    expect(s.achieved_rate_per_s).toBeGreaterThan(90);
    expect(s.achieved_rate_per_s).toBeGreaterThan((s.orphans_made / s.production_s) * 1.1);
    const samples = r.events!.filter((e): e is SampleEvent => e.type === 'sample');
    // Full but for the slot of the intermediate, which only exists while it forks.
    const peak = Math.max(...samples.map((x) => x.pids_current ?? 0));
    expect(peak).toBeGreaterThanOrEqual(limit - 1);
    expect(peak).toBeLessThanOrEqual(limit);
  });

  it('no init, --after-failure continue: keeps attempting until --count, every attempt accounted for', async () => {
    cg = makePidsCgroup(48);
    const r = await runInNamespace(
      'none',
      ['--rate', '200', '--lifetime-ms', '5', '--count', '80', '--after-failure', 'continue', '--forkloop-ms', '0', '--drain-ms', '500'],
      cg,
    );
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary!;
    // Each attempt either made an orphan or failed at the intermediate or the orphan level.
    expect(s.orphans_made + s.fork_failures_by_level.intermediate + s.fork_failures_by_level.orphan).toBe(80);
    expect(s.fork_failures).toBeGreaterThan(10);
    expect(s.orphans_reaped).toBe(0);
    const failures = r.events!.filter((e) => e.type === 'fork_failure');
    expect(failures).toHaveLength(s.fork_failures);
  });

  it.each(['tini', 'dumb-init', 'catatonit'] as const)(
    'under %s as PID 1: zero unreaped, no fork failure at a modest rate',
    async (init) => {
      cg = makePidsCgroup(200);
      // A count, not a duration: how many orphans a loaded machine makes in 2 s is not the point.
      const r = await runInNamespace(init, ['--rate', '200', '--lifetime-ms', '10', '--count', '400', '--forkloop-ms', '0'], cg);
      expect(r.code, r.stderr).toBe(0);
      const s = r.summary!;
      expect(s.pid1_comm).toBe(init);
      expect(s.fork_failures).toBe(0);
      expect(s.first_fork_failure).toBeNull();
      expect(s.orphans_made).toBe(400);
      expect(s.orphans_zombie).toBe(0);
      expect(s.orphans_live).toBe(0);
      expect(s.orphans_unaccounted).toBe(0);
      expect(s.orphans_reaped + s.orphans_missed).toBe(s.orphans_made);
      expect(s.latency.n).toBeGreaterThan(0);
    },
  );
});

describe('loadgen as PID 1 (no init) and under ts-reaper', () => {
  let cg: TestCgroup | null = null;
  beforeAll(() => requireBuild());
  afterEach(async () => {
    await cg?.remove();
    cg = null;
  });

  it('handles SIGTERM itself as PID 1: summary with state aborted, exit 143, complete file', async () => {
    cg = makePidsCgroup(300);
    let unsharePid = 0;
    const run = runInNamespace(
      'none',
      ['--rate', '50', '--lifetime-ms', '5', '--duration-s', '60', '--forkloop-ms', '0'],
      cg,
      60_000,
      (p) => (unsharePid = p),
    );
    // Stop once production runs: the load generator listens to SIGTERM before it starts, and
    // with no init each orphan it made stays a zombie child of it (PID 1).
    const pid = await waitFor(() => namespaceInitPid(unsharePid), { what: 'unshare to fork the load generator' });
    await waitFor(() => zombieChildrenOf(pid).length >= 20, {
      what: '20 orphans made and exited',
      detail: () => `${zombieChildrenOf(pid).length} zombies`,
    });
    process.kill(pid, 'SIGTERM');
    const r = await run;
    expect(r.code).toBe(143);
    expect(r.summary!.state).toBe('aborted');
    expect(r.summary!.is_pid1).toBe(true);
    expect(r.summary!.orphans_made).toBeGreaterThan(10);
    expect(r.events!.at(-1)).toEqual(r.summary);
  });

  it.skipIf(!existsSync(path.join(root, 'dist/ts-reaper.cjs')))('under ts-reaper as PID 1: zero unreaped, no fork failure', async () => {
    cg = makePidsCgroup(200);
    const r = await runInNamespace(
      { argv: [process.execPath, path.join(root, 'dist/ts-reaper.cjs'), '--'] },
      ['--rate', '200', '--lifetime-ms', '10', '--duration-s', '2', '--forkloop-ms', '0'],
      cg,
    );
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary!;
    expect(s.fork_failures).toBe(0);
    expect(s.orphans_zombie).toBe(0);
    expect(s.orphans_reaped + s.orphans_missed).toBe(s.orphans_made);
  });
});

describe('loadgen fork failures at each level', () => {
  let cg: TestCgroup | null = null;
  beforeAll(() => requireBuild());
  afterEach(async () => {
    await cg?.remove();
    cg = null;
  });

  // Tasks when production starts, no init: unshare + Node's threads (watcher included) + helper.
  // Started in this order: Node, helper (posix_spawn), watcher thread. So with pids.max =
  // baseline − 2 the helper cannot start, baseline − 1 leaves no room for the watcher thread,
  // baseline leaves none for an intermediate, baseline + 1 none for an orphan.
  let baseline = 0;
  it('measures the baseline', async () => {
    cg = makePidsCgroup(1000);
    const r = await runInNamespace(
      'none',
      ['--rate', '100', '--lifetime-ms', '5', '--count', '5', '--forkloop-ms', '0', '--drain-ms', '300'],
      cg,
    );
    expect(r.code, r.stderr).toBe(0);
    baseline = r.summary!.baseline_tasks!;
    expect(baseline).toBeGreaterThan(5);
  });

  it.each([
    ['helper', -2],
    ['intermediate', 0],
    ['orphan', 1],
  ] as const)('reports EAGAIN at level %s', async (level, delta) => {
    expect(baseline).toBeGreaterThan(0);
    cg = makePidsCgroup(baseline + delta);
    const r = await runInNamespace(
      'none',
      ['--rate', '100', '--lifetime-ms', '5', '--count', '10', '--forkloop-ms', '0', '--drain-ms', '300', '--no-check-budget'],
      cg,
    );
    expect(r.code, r.stderr).toBe(0);
    const s = r.summary!;
    expect(s.orphans_made).toBe(0);
    expect(s.first_fork_failure).toMatchObject({ level, errno: 11, errno_name: 'EAGAIN', orphans_made_before: 0 });
    expect(s.fork_failures_by_level[level]).toBeGreaterThanOrEqual(1);
  });

  it('says in one line that the limit leaves no room for the watcher thread', async () => {
    expect(baseline).toBeGreaterThan(0);
    cg = makePidsCgroup(baseline - 1);
    const r = await runInNamespace(
      'none',
      ['--rate', '100', '--lifetime-ms', '5', '--count', '10', '--forkloop-ms', '0', '--no-check-budget'],
      cg,
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot start the watcher thread: EAGAIN \(pids.max \d+, \d+ tasks in use/);
    expect(r.events).toBeNull();
  });
});
