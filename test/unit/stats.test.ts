import { describe, expect, it } from 'vitest';
import { summarize } from '../../src/stats/summary.js';
import { histogram, mergeHistograms } from '../../src/stats/histogram.js';
import { makeRun } from '../support/bench-fixtures.js';

describe('summarize', () => {
  it('groups by init and configuration, medians and spreads over completed runs only', () => {
    const runs = [
      makeRun({
        init: 'none',
        repetition: 0,
        first_fork_failure_s: 0.12,
        orphans_before_failure: 110,
        zombies_peak: 111,
        reap_latency_p50_us: null,
        unreaped: 110,
      }),
      makeRun({
        init: 'none',
        repetition: 1,
        first_fork_failure_s: 0.1,
        orphans_before_failure: 108,
        zombies_peak: 109,
        reap_latency_p50_us: null,
        unreaped: 108,
      }),
      makeRun({
        init: 'none',
        repetition: 2,
        first_fork_failure_s: 0.2,
        orphans_before_failure: 112,
        zombies_peak: 113,
        reap_latency_p50_us: null,
        unreaped: 112,
      }),
      makeRun({ init: 'tini', repetition: 0, reap_latency_p50_us: 14, reap_latency_p99_us: 100, zombies_peak: 1 }),
      makeRun({ init: 'tini', repetition: 1, reap_latency_p50_us: 20, reap_latency_p99_us: 300, zombies_peak: 3 }),
      // Failed and timed-out runs: counted, never in a median (their values are absurd on purpose).
      makeRun({
        init: 'tini',
        repetition: 2,
        state: 'failed',
        failure_reason: 'container exited 137',
        reap_latency_p50_us: 99999,
        zombies_peak: 999,
        first_fork_failure_s: 0.001,
      }),
      makeRun({ init: 'tini', repetition: 3, state: 'timed-out', failure_reason: 'timeout', reap_latency_p50_us: 88888 }),
    ];
    const rows = summarize(runs);
    expect(rows.map((r) => r.init)).toEqual(['none', 'tini']);
    const [none, tini] = rows as [(typeof rows)[0], (typeof rows)[0]];

    expect(none).toMatchObject({
      runs: 3,
      failed_runs: 0,
      survived_runs: 0,
      orphans_before_failure: 110,
      zombies_peak: 111,
      reap_latency_p50_us: null,
      reap_latency_p50_spread_us: null,
      unreaped: 110,
    });
    expect(none.first_fork_failure_s).toBeCloseTo(0.12, 12);
    expect(none.first_fork_failure_spread_s).toBeCloseTo(0.1, 12);

    expect(tini).toMatchObject({
      scenario: 'orphans',
      pids_limit: 128,
      rate_per_s: 1000,
      lifetime_ms: 2,
      duration_s: 10,
      runs: 4,
      failed_runs: 2,
      survived_runs: 2,
      first_fork_failure_s: null,
      first_fork_failure_spread_s: null,
      reap_latency_p50_us: 17, // (14 + 20) / 2
      reap_latency_p50_spread_us: 6,
      reap_latency_p99_us: 200,
      zombies_peak: 2,
    });
  });

  it('takes the first-failure median over the runs that failed, and counts survivors', () => {
    const rows = summarize([
      makeRun({ init: 'ts-reaper', repetition: 0, first_fork_failure_s: null }),
      makeRun({ init: 'ts-reaper', repetition: 1, first_fork_failure_s: 4 }),
      makeRun({ init: 'ts-reaper', repetition: 2, first_fork_failure_s: 6 }),
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ survived_runs: 1, first_fork_failure_s: 5, first_fork_failure_spread_s: 2 });
  });

  it('keeps configurations apart and sorts them numerically, inits in INITS order', () => {
    const rows = summarize([
      makeRun({ init: 'ts-reaper', rate_per_s: 1000 }),
      makeRun({ init: 'tini', rate_per_s: 1000 }),
      makeRun({ init: 'tini', rate_per_s: 200 }),
      makeRun({ init: 'tini', rate_per_s: 200, lifetime_ms: 5 }),
      makeRun({ init: 'none', pids_limit: 64 }),
    ]);
    expect(rows.map((r) => `${r.init}@${r.pids_limit}/${r.rate_per_s}/${r.lifetime_ms}`)).toEqual([
      'none@64/1000/2',
      'tini@128/200/2',
      'tini@128/200/5',
      'tini@128/1000/2',
      'ts-reaper@128/1000/2',
    ]);
  });

  it('gives null statistics when no run completed, and counts an aborted run apart from failed ones', () => {
    const [row] = summarize([makeRun({ state: 'aborted' }), makeRun({ state: 'failed' }), makeRun({ state: 'timed-out' })]);
    expect(row).toMatchObject({
      runs: 3,
      failed_runs: 2,
      aborted_runs: 1,
      survived_runs: 0,
      zombies_peak: null,
      reap_latency_p50_us: null,
      first_fork_failure_s: null,
    });
  });
});

describe('histogram', () => {
  it('has log-spaced bins from 1 µs to 10 s, 4 per decade by default', () => {
    const h = histogram([]);
    expect(h).toHaveLength(28);
    expect(h[0]!.lo_us).toBe(1);
    expect(h[27]!.hi_us).toBe(10_000_000);
    expect(h[4]!.lo_us).toBe(10);
    expect(h[8]!.lo_us).toBe(100);
    for (let i = 1; i < h.length; i++) expect(h[i]!.lo_us).toBe(h[i - 1]!.hi_us);
  });

  it('counts each value in the bin [lo, hi) and clamps out-of-range values', () => {
    const h = histogram([0.2, 1, 9.99, 10, 15, 99, 100, 5e7, Number.NaN], 7); // one bin per decade
    expect(h.map((b) => b.count)).toEqual([3, 3, 1, 0, 0, 0, 1]);
    expect(h.reduce((s, b) => s + b.count, 0)).toBe(8); // NaN ignored
  });

  it('rejects a bad bin count', () => {
    expect(() => histogram([1], 0)).toThrow(/positive integer/);
  });

  it('merges histograms bin by bin', () => {
    const m = mergeHistograms([histogram([10, 20], 7), histogram([20, 2000], 7)]);
    expect(m.map((b) => b.count)).toEqual([0, 3, 0, 1, 0, 0, 0]);
  });
});
