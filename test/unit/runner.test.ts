import { describe, expect, it } from 'vitest';
import { loadgenArgs, parseLoadgenFile, rawName, toRecord } from '../../src/run/runner.js';
import type { PlannedRun } from '../../src/run/matrix.js';
import type { LoadgenEvent } from '../../src/loadgen/types.js';
import type { PidsFigures } from '../../src/runtime/host-cgroup.js';

const run: PlannedRun = {
  init: 'tini',
  scenario: 'orphans',
  pids_limit: 64,
  rate_per_s: 500,
  lifetime_ms: 5,
  duration_s: 2,
  repetition: 0,
  order: 3,
};
const pids: PidsFigures = { peak: 40, max: 64, last: 14, eventsMax: 0, samples: 10, path: '/x', method: 'owned-parent', note: null };
const ok = { exitCode: 0, timedOut: false, aborted: false, stderr: '', durationMs: 2500, pids };

function summary(patch: Record<string, unknown> = {}): LoadgenEvent {
  const p = { n: 3, p50_us: 20, p90_us: 30, p99_us: 40, max_us: 50, mean_us: 25 };
  return {
    type: 'summary',
    state: 'completed',
    orphans_made: 1000,
    orphans_exited: 998,
    orphans_reaped: 990,
    orphans_zombie: 8,
    orphans_missed: 2,
    achieved_rate_per_s: 499.87,
    first_fork_failure: null,
    fork_failures: 0,
    zombies_max: 9,
    baseline_tasks: 14,
    effective_budget: 50,
    instrument_tasks: 13,
    latency: p,
    latency_method: 'pidfd-hup',
    little_latency_us: 23.3,
    watcher_lag: p,
    pid1_cpu_ms: 30,
    pid1_rss_kb_max: 600,
    ...patch,
  } as unknown as LoadgenEvent;
}

const orphan = (latency: number | null, coalesced = false): LoadgenEvent =>
  ({
    type: 'orphan',
    pid: 5,
    created_us: 0,
    watched_us: 1,
    exit_us: 10,
    reap_us: 10 + (latency ?? 0),
    latency_us: latency,
    state: 'reaped',
    late: false,
    coalesced,
    method: 'pidfd-hup',
  }) as LoadgenEvent;

describe('runner: records from the load generator', () => {
  it('maps a summary to a completed record with its counts, latencies and series', () => {
    const events: LoadgenEvent[] = [
      { type: 'sample', t_us: -5, zombies: 0, pids_current: 14 } as unknown as LoadgenEvent,
      { type: 'sample', t_us: 500_000, zombies: 3, pids_current: 20 } as unknown as LoadgenEvent,
      { type: 'sample', t_us: 1_000_000, zombies: null, orphans_zombie: 12, pids_current: 30 } as unknown as LoadgenEvent,
      orphan(15),
      orphan(25),
      orphan(0.2, true),
      orphan(null),
      summary(),
    ];
    const r = toRecord(run, '2026-11-29T00:00:00.000Z', ok, events);
    expect(r).toMatchObject({
      state: 'completed',
      failure_reason: null,
      init: 'tini',
      orphans_made: 1000,
      unreaped: 8,
      missed: 2,
      achieved_rate_per_s: 499.9,
    });
    expect(r).toMatchObject({
      first_fork_failure_s: null,
      orphans_before_failure: 1000,
      reap_latency_p50_us: 20,
      reap_latency_p99_us: 40,
      latency_method: 'pidfd-hup',
    });
    expect(r.series).toEqual([
      { t_s: 0.5, zombies: 3, pids_current: 20 },
      { t_s: 1, zombies: 12, pids_current: 30 },
    ]);
    expect(r.zombies_peak).toBe(12);
    // No start event: the sampling rate is not known, and says so.
    expect(r.zombie_sample_hz).toBeNull();
    const start = { type: 'start', options: { sample_hz: 50, scan_every: 5 } } as unknown as LoadgenEvent;
    expect(toRecord(run, '2026-11-29T00:00:00.000Z', ok, [start, ...events]).zombie_sample_hz).toBe(10);
    // coalesced and unmeasured orphans stay out of the histogram
    expect(r.latency_histogram.reduce((a, b) => a + b.count, 0)).toBe(2);
    expect(r.wall_s).toBe(2.5);
  });

  it('records the first fork failure in seconds with where and why it happened', () => {
    const ff = { t_us: 731_234, level: 'orphan', errno: 11, errno_name: 'EAGAIN', orphans_made_before: 114 };
    const r = toRecord({ ...run, init: 'none' }, 'x', ok, [summary({ first_fork_failure: ff, fork_failures: 154 })]);
    expect(r).toMatchObject({
      first_fork_failure_s: 0.7312,
      orphans_before_failure: 114,
      fork_failures: 154,
      first_failure_level: 'orphan',
      first_failure_errno: 'EAGAIN',
    });
  });

  it('marks a run without a summary as failed, with the last line of stderr', () => {
    const r = toRecord(run, 'x', { ...ok, exitCode: 2, stderr: 'noise\nloadgen: pids.max (64) cannot fit rate × lifetime\n' }, []);
    expect(r.state).toBe('failed');
    expect(r.failure_reason).toBe('no summary from the load generator (exit 2): loadgen: pids.max (64) cannot fit rate × lifetime');
    expect(r.reap_latency_p50_us).toBeNull();
  });

  it('distinguishes timeouts and interrupts from failures', () => {
    expect(toRecord(run, 'x', { ...ok, timedOut: true, exitCode: 137 }, []).state).toBe('timed-out');
    expect(toRecord(run, 'x', { ...ok, aborted: true }, []).state).toBe('aborted');
    expect(toRecord(run, 'x', ok, [summary({ state: 'aborted' })]).state).toBe('aborted');
  });

  it("takes the host's pids peak with its method, and the load generator's samples only where the host read nothing", () => {
    const inside = [{ type: 'sample', t_us: 1, zombies: 0, pids_current: 33 } as unknown as LoadgenEvent, summary()];
    expect(toRecord(run, 'x', ok, inside)).toMatchObject({ pids_peak: 40, pids_method: 'owned-parent' });
    expect(toRecord(run, 'x', { ...ok, pids: { ...pids, method: 'sampled', peak: 31 } }, inside)).toMatchObject({
      pids_peak: 31,
      pids_method: 'sampled',
    });
    const none: PidsFigures = { ...pids, peak: null, max: null, samples: 0, path: null, method: 'unavailable', note: 'no cgroup' };
    expect(toRecord(run, 'x', { ...ok, pids: none }, inside)).toMatchObject({ pids_peak: 33, pids_method: 'loadgen' });
    expect(toRecord(run, 'x', { ...ok, pids: none }, [summary()])).toMatchObject({ pids_peak: null, pids_method: null });
  });

  it('skips malformed lines instead of failing the whole file', () => {
    const { events, malformed } = parseLoadgenFile('{"type":"start"}\n{broken\n\n{"type":"summary"}\n');
    expect(events.map((e) => e.type)).toEqual(['start', 'summary']);
    expect(malformed).toBe(1);
  });

  it('names raw files uniquely and passes the matrix values to the load generator', () => {
    expect(rawName(run, 7)).toBe('007-tini-orphans-L64-R500-r0.ndjson');
    expect(rawName({ ...run, repetition: -1 }, 0)).toBe('000-tini-orphans-L64-R500-warmup.ndjson');
    const a = loadgenArgs(run, '/results/x.ndjson');
    expect(a.slice(0, 2)).toEqual(['node', '/app/dist/loadgen.mjs']);
    expect(a.join(' ')).toContain('--rate 500 --lifetime-ms 5 --duration-s 2');
    expect(a.join(' ')).toContain('--out /results/x.ndjson');
    expect(a).not.toContain('--pin');
    expect(loadgenArgs(run, '/r/x', '0:1').join(' ')).toContain('--pin 0:1 --out /r/x');
  });
});
