import { describe, expect, it } from 'vitest';
import { qualityWarnings } from '../../src/stats/quality.js';
import { makeRun } from '../support/bench-fixtures.js';

describe('data-quality warnings', () => {
  it('says nothing about clean runs', () => {
    const clean = makeRun({
      init: 'tini',
      rate_per_s: 250,
      achieved_rate_per_s: 249,
      orphans_made: 750,
      missed: 3,
      watcher_lag_p99_us: 100,
      reap_latency_p50_us: 200,
      first_fork_failure_s: null,
      state: 'completed',
    });
    expect(qualityWarnings([clean, { ...clean, repetition: 1 }])).toEqual([]);
  });

  it('flags a rate shortfall, missed orphans and a watcher slower than what it measures', () => {
    const r = makeRun({
      init: 'tini',
      rate_per_s: 1000,
      achieved_rate_per_s: 480,
      orphans_made: 1000,
      missed: 120,
      watcher_lag_p99_us: 5000,
      reap_latency_p50_us: 900,
      first_fork_failure_s: null,
      state: 'completed',
    });
    const w = qualityWarnings([r]);
    expect(w).toHaveLength(3);
    expect(w[0]).toMatch(/^tini · .*achieved 480 orphans\/s of the 1000\/s asked for/);
    expect(w[1]).toMatch(/120 of 1000 orphans \(12 %\) exited before they could be watched/);
    // Once for the run, naming the init; the figures are in report.md's "How measured" table.
    expect(w[2]).toMatch(/^the watcher's p99 lag exceeds the latency p50 under tini: their latencies are upper bounds/);
  });

  it('ignores the rate of runs that exhausted the table, and failed runs altogether', () => {
    const none = makeRun({
      init: 'none',
      rate_per_s: 1000,
      achieved_rate_per_s: 150,
      first_fork_failure_s: 0.2,
      missed: 0,
      watcher_lag_p99_us: null,
      state: 'completed',
    });
    const failed = makeRun({ init: 'tini', rate_per_s: 1000, achieved_rate_per_s: 10, missed: 500, orphans_made: 600, state: 'failed' });
    expect(qualityWarnings([none, failed])).toEqual([]);
  });
});
