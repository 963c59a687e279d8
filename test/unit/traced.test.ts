/**
 * The records of runs measured by the kernel instrument (src/run/traced.ts) from fixed events,
 * and the choice of instrument. Pure: no kernel, no engine.
 */
import { describe, expect, it } from 'vitest';
import type { HelperReport } from '../../src/loadgen/helper.js';
import { chooseInstrument, remoteEngine } from '../../src/run/environment.js';
import type { PlannedRun } from '../../src/run/matrix.js';
import { bucketSeries, soloArgs, soloBatch, toTracedRecord, zombieHolderFields } from '../../src/run/traced.js';
import { NO_PIDS } from '../../src/runtime/container.js';
import type { ForkFailure, ParentZombies, ProcessRecord, TraceMatch } from '../../src/tracer/index.js';
import { ReapbenchError } from '../../src/errors.js';

const run: PlannedRun = {
  init: 'tini',
  scenario: 'orphans',
  pids_limit: 64,
  rate_per_s: 100,
  lifetime_ms: 2,
  duration_s: 1,
  repetition: 0,
  order: 0,
};
const container = { exitCode: 0, timedOut: false, aborted: false, stderr: '', durationMs: 1500, pids: NO_PIDS };
const T0 = 1_000_000_000; // ns, the S line

function proc(over: Partial<ProcessRecord>): ProcessRecord {
  return {
    pid: 100,
    nsPid: 10,
    comm: 'orphanage',
    forkUs: 0,
    parentAtFork: 50,
    parentAtExit: { pid: 1, nsPid: 1, comm: 'tini' },
    orphan: true,
    exitUs: 100,
    exitCode: 1,
    exitStatus: 0,
    reapUs: 110,
    latencyUs: 10,
    reaper: { pid: 1, nsPid: 1, comm: 'tini', level: 1, call: 'wait4' },
    releasedUs: null,
    outcome: 'reaped',
    ...over,
  };
}

function failure(us: number, errno: number, errnoName: string, comm = 'orphanage'): ForkFailure {
  return { us, errno, errnoName, comm, pid: 200, nsPid: 20, level: 1, call: 'clone' };
}

function match(processes: ProcessRecord[], forkFailures: ForkFailure[] = []): TraceMatch {
  return {
    processes,
    forkFailures,
    firstForkFailure: forkFailures[0] ?? null,
    zombiesOverTime: [
      { us: 5_000, zombies: 1 },
      { us: 6_000, zombies: 2 },
      { us: 45_000, zombies: 0 },
    ],
    zombiesPeak: 2,
    zombiesByParent: [],
    counts: { exits: processes.length, reaped: 0, autoreaped: 0, unreapedAtEnd: 0, running: 0, unmatchedReaps: 0 },
    lost: 0,
    untracked: 0,
  };
}

/** solo's lines: S, what `extra` adds (F lines), N with the counts, D. */
const lines = (made: number, madeBeforeFailure: number | null = null, extra: HelperReport[] = []): HelperReport[] => [
  { kind: 'started', tNs: T0 },
  ...extra,
  { kind: 'counts', made, madeBeforeFailure },
  { kind: 'done', attempted: made, tNs: T0 + 1e9 },
];

describe('records of kernel-instrument runs', () => {
  it('counts the adopted orphans only: not PID 1 (adopted and reaped by the shim), not the intermediates', () => {
    const m = match([
      proc({ pid: 101, latencyUs: 8 }),
      proc({ pid: 102, latencyUs: 12 }),
      proc({ pid: 103, orphan: false, latencyUs: 40 }), // an intermediate, reaped by its parent
      proc({
        pid: 1000,
        nsPid: 1,
        comm: 'tini',
        latencyUs: 90_000,
        reaper: { pid: 9, nsPid: null, comm: 'shim', level: 0, call: 'wait4' },
      }),
    ]);
    const r = toTracedRecord(run, 'now', container, lines(3), { match: m }, { cpuMs: 30, rssKib: 600 });
    expect(r).toMatchObject({
      state: 'completed',
      latency_method: 'ebpf',
      instrument_tasks: 0,
      orphans_made: 3,
      orphans_exited: 2,
      orphans_reaped: 2,
      unreaped: 0,
      missed: 1,
      reap_latency_p50_us: 10,
      reap_latency_max_us: 12,
      lost_events: 0,
      pid1_cpu_ms: 30,
      pid1_rss_kib: 600,
      first_fork_failure_s: null,
      fork_failures: 0,
      achieved_rate_per_s: 3,
    });
  });

  it('takes the first EAGAIN as the first fork failure: ENOSYS from clone3 (seccomp) is not the limit', () => {
    const m = match(
      [proc({ pid: 101, outcome: 'unreaped-at-end', reapUs: null, latencyUs: null, reaper: null })],
      [failure(-190_000, 38, 'ENOSYS', 'ts-reaper'), failure(250_000, 11, 'EAGAIN'), failure(260_000, 11, 'EAGAIN')],
    );
    const own: HelperReport[] = [{ kind: 'failure', level: 'orphan', errno: 11, tNs: T0 + 250_000_000 }];
    const r = toTracedRecord(run, 'now', container, lines(3, 2, own), { match: m }, { cpuMs: null, rssKib: null });
    expect(r).toMatchObject({
      first_fork_failure_s: 0.25,
      fork_failures: 2,
      first_failure_errno: 'EAGAIN',
      first_failure_comm: 'orphanage',
      first_failure_level: 'orphan',
      orphans_before_failure: 2,
      // 2 orphans in the 0.25 s before the first failure, not 3 over the 1 s of production.
      achieved_rate_per_s: 8,
      unreaped: 1,
      reap_latency_p50_us: null,
    });
  });

  it('fails a run with the reason when there is no trace or the workload did not finish', () => {
    const noTrace = toTracedRecord(run, 'now', container, lines(1), { unavailable: 'PID 1 was gone' }, { cpuMs: null, rssKib: null });
    expect([noTrace.state, noTrace.failure_reason]).toEqual(['failed', 'kernel instrument: PID 1 was gone']);
    const crashed = toTracedRecord(
      run,
      'now',
      { ...container, exitCode: 2, stderr: 'orphanage: solo: invalid argument\n' },
      [],
      { match: match([]) },
      { cpuMs: null, rssKib: null },
    );
    expect([crashed.state, crashed.failure_reason]).toEqual([
      'failed',
      'the workload did not finish (exit 2): orphanage: solo: invalid argument',
    ]);
    const cut = toTracedRecord(run, 'now', { ...container, aborted: true }, [], { unavailable: 'x' }, { cpuMs: null, rssKib: null });
    expect(cut.state).toBe('aborted');
  });

  it('keeps the zombie series at 20 ms resolution, the highest count of each bucket', () => {
    expect(
      bucketSeries([
        { us: -5, zombies: 9 },
        { us: 1_000, zombies: 1 },
        { us: 19_000, zombies: 3 },
        { us: 19_500, zombies: 2 },
        { us: 41_000, zombies: 0 },
      ]),
    ).toEqual([
      { t_s: 0, zombies: 3, pids_current: null },
      { t_s: 0.04, zombies: 0, pids_current: null },
    ]);
  });

  it('runs solo with the plan: rate, lifetime µs, duration ms, 500 ms of grace, a drain of the lifetime + 500 ms', () => {
    expect(soloArgs({ rate_per_s: 250, lifetime_ms: 5, duration_s: 3 })).toEqual([
      '/app/dist/orphanage',
      'solo',
      '250',
      '5000',
      '1',
      '0',
      '3000',
      '1',
      '500',
      '505',
    ]);
  });

  it('batches orphans only above 1000/s, at most one intermediate per ms, at most 16 orphans each', () => {
    expect([1, 999, 1000, 1999, 2000, 4500, 16_000, 100_000].map(soloBatch)).toEqual([1, 1, 1, 1, 2, 4, 16, 16]);
    expect(soloArgs({ rate_per_s: 8000, lifetime_ms: 2, duration_s: 1 })[4]).toBe('8');
  });
});

describe('who held the zombies', () => {
  const parent = (nsPid: number, comm: string, zombies: number, peak: number, unreapedAtEnd = 0): ParentZombies => ({
    pid: 1000 + nsPid,
    nsPid,
    comm,
    zombies,
    peak,
    unreapedAtEnd,
  });

  it('groups the parents by comm, PID 1 apart, most zombies first: sums, and the highest peak of one', () => {
    const f = zombieHolderFields({
      zombiesByParent: [parent(1, 'tini', 2000, 3), parent(7, 'orphanage', 3, 1), parent(9, 'orphanage', 2, 2, 2), parent(2, 'sh', 1, 1)],
    });
    expect(f.zombies_by_parent).toEqual([
      { comm: 'tini', pid1: true, parents: 1, zombies: 2000, peak: 3, unreaped_at_end: 0 },
      { comm: 'orphanage', pid1: false, parents: 2, zombies: 5, peak: 2, unreaped_at_end: 2 },
      { comm: 'sh', pid1: false, parents: 1, zombies: 1, peak: 1, unreaped_at_end: 0 },
    ]);
    expect(f.zombies_held_by).toBe('tini (PID 1) 2000, peak 3; orphanage ×2 5, peak 2, 2 at end; sh 1, peak 1');
  });

  it('keeps a PID 1 apart from a child of the same comm (node as PID 1 and its node workers)', () => {
    const f = zombieHolderFields({ zombiesByParent: [parent(1, 'node', 126, 126, 126), parent(5, 'node', 126, 1)] });
    expect(f.zombies_by_parent.map((h) => [h.comm, h.pid1, h.zombies])).toEqual([
      ['node', true, 126],
      ['node', false, 126],
    ]);
    expect(f.zombies_held_by).toBe('node (PID 1) 126, peak 126, 126 at end; node 126, peak 1');
  });

  it('leaves out parents outside the container: the runtime shim holding PID 1 as it ends', () => {
    const shim: ParentZombies = { pid: 99, nsPid: null, comm: 'containerd-shim', zombies: 1, peak: 1, unreapedAtEnd: 0 };
    expect(zombieHolderFields({ zombiesByParent: [parent(1, 'tini', 10, 2), shim] }).zombies_held_by).toBe('tini (PID 1) 10, peak 2');
  });

  it('keeps the five biggest kinds, and says none when no process became a zombie', () => {
    const many = Array.from({ length: 8 }, (_, i) => parent(i + 2, `p${i}`, i + 1, 1));
    expect(zombieHolderFields({ zombiesByParent: many }).zombies_by_parent.map((h) => h.comm)).toEqual(['p7', 'p6', 'p5', 'p4', 'p3']);
    expect(zombieHolderFields({ zombiesByParent: [] })).toEqual({ zombies_by_parent: [], zombies_held_by: 'none' });
  });
});

describe('--instrument', () => {
  const yes = () => ({ available: true as const });
  const no = () => ({ available: false as const, reason: 'not root: run as root' });
  it('auto takes the kernel instrument where it loads, else the watcher with the reason in one line', () => {
    expect(chooseInstrument('auto', yes)).toEqual({ used: 'ebpf', reason: null });
    const fallback = chooseInstrument('auto', no);
    expect(fallback.used).toBe('pidfd');
    expect(fallback.reason).toBe(
      'the kernel instrument is unavailable (not root: run as root); latencies come from the in-container watcher (pidfd), upper bounds',
    );
    expect(chooseInstrument('pidfd', no)).toEqual({ used: 'pidfd', reason: null });
    expect(chooseInstrument('both', yes)).toEqual({ used: 'both', reason: null });
  });

  it('an engine on another kernel (TCP endpoint, a VM) is measured by the watcher: the tracer sees only this host', () => {
    const local = { socketPath: '/var/run/docker.sock', label: '/var/run/docker.sock', fromEnv: false };
    const tcp = { host: '10.0.0.2', port: 2375, label: 'tcp://10.0.0.2:2375 (from DOCKER_HOST)', fromEnv: true };
    expect(remoteEngine({ kernelVersion: '6.18.0' }, local, '6.18.0')).toBeNull();
    expect(remoteEngine({ kernelVersion: '6.10.14-linuxkit' }, local, '6.18.0')).toBe(
      'the engine reports kernel 6.10.14-linuxkit, this host runs 6.18.0',
    );
    expect(remoteEngine({ kernelVersion: '6.18.0' }, tcp, '6.18.0')).toBe(
      'the engine is reached at tcp://10.0.0.2:2375 (from DOCKER_HOST)',
    );
    const remote = chooseInstrument('auto', yes, 'the engine is reached at tcp://x');
    expect(remote.used).toBe('pidfd');
    expect(remote.reason).toMatch(/^the kernel instrument is unavailable \(the engine's containers do not run on this host's kernel/);
    expect(() => chooseInstrument('ebpf', yes, 'the engine is reached at tcp://x')).toThrow(
      /--instrument ebpf: the kernel instrument is unavailable/,
    );
  });

  it("the run's first lines name the instrument it measures with, whether chosen by auto, asked for, or fallen back to", async () => {
    const { announcement } = await import('../../src/run/bench.js');
    const { planRuns, resolveMatrix } = await import('../../src/run/matrix.js');
    const matrix = resolveMatrix({ inits: 'tini,none' });
    const one = { shard: { index: 1, count: 1 }, totalUnits: 1 };
    const req = { matrix, plan: planRuns(matrix), namedScenarios: [], ...one };
    const auto = announcement(req, '/r', { requested: 'auto', used: 'ebpf', reason: null });
    expect(auto).toContain(
      'reapbench: instrument: ebpf (kernel tracepoints, outside the container: exact, and nothing of it runs in the container), chosen by --instrument auto',
    );
    expect(announcement(req, '/r', { requested: 'ebpf', used: 'ebpf', reason: null })).toContain(
      'reapbench: instrument: ebpf (kernel tracepoints, outside the container: exact, and nothing of it runs in the container)',
    );
    const reason = chooseInstrument('auto', no).reason;
    const fellBack = announcement(req, '/r', { requested: 'auto', used: 'pidfd', reason });
    expect(fellBack.filter((l) => l.startsWith('reapbench: instrument: pidfd (a pidfd watcher inside the container'))).toHaveLength(1);
    expect(fellBack[fellBack.length - 1]).toBe(`reapbench: ${reason}`);
    // Scenarios alone: their verdicts are the in-container observer's, whatever the instrument.
    const scenarios = announcement({ matrix, plan: [], namedScenarios: ['S1'], ...one }, '/r', {
      requested: 'auto',
      used: 'ebpf',
      reason: null,
    });
    expect(scenarios).toEqual([
      'reapbench: scenarios S1 under none, tini and their variants; verdicts from an observer inside each container, the kernel instrument (ebpf) watching the same containers as a cross-check',
    ]);
    for (const line of [...auto, ...fellBack, ...scenarios]) expect(line).not.toContain('\x1b[');
    // A shard says which, how to join it, and only the limits and rates of its own slice.
    const wide = resolveMatrix({ inits: 'tini,none', limits: '64,128', rates: '100,250' });
    const slice = planRuns(wide).filter((r) => r.pids_limit === 64 && r.rate_per_s === 250);
    expect(
      announcement({ ...req, matrix: wide, plan: slice, shard: { index: 2, count: 3 }, totalUnits: 4 }, '/r', {
        requested: 'auto',
        used: 'ebpf',
        reason: null,
      })[1],
    ).toMatch(/^reapbench: \d+ runs \(none, tini; limits 64; rates 250\/s; /);
    // A shard says which, and how to join it.
    expect(
      announcement({ ...req, shard: { index: 2, count: 3 }, totalUnits: 4 }, '/r', { requested: 'auto', used: 'ebpf', reason: null })[0],
    ).toBe('reapbench: shard 2/3 of a matrix of 4 configurations; join the shards with reapbench merge');
  });

  it('ebpf or both asked for explicitly, and unavailable, is an error that says why', () => {
    expect(() => chooseInstrument('ebpf', no)).toThrow(ReapbenchError);
    expect(() => chooseInstrument('both', no)).toThrow('--instrument both: the kernel instrument is unavailable: not root: run as root');
  });
});
