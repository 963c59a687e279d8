/**
 * The trend files (export/trend.ts): the exact BMF and customSmallerIsBetter documents of a
 * fixture summary, what is left out (survived rows' first fork failure, null latencies, rows
 * with no completed run, an interrupted run's cut run), and the bounds matching summary.csv's
 * spread.
 */
import { describe, expect, it } from 'vitest';
import { benchmarkName, serializeTrend, toBenchmarkAction, toBmf, TREND_MEASURES } from '../../src/export/trend.js';
import { DEFAULT_INITS as INITS } from '../../src/model/inits.js';
import type { RunRecord } from '../../src/model/records.js';
import { summarize } from '../../src/stats/summary.js';
import { makeRun, realisticRun } from '../support/bench-fixtures.js';

const AT = { pids_limit: 128, rate_per_s: 250 };
const NO_LATENCY = { reap_latency_p50_us: null, reap_latency_p90_us: null, reap_latency_p99_us: null, reap_latency_max_us: null };

/**
 * One configuration (L128, 250/s) under four inits: tini survives twice (a third run cut by the
 * interrupt), `none` fails forks twice and reaps nothing, dumb-init fails forks once in two,
 * catatonit has only its cut run.
 */
const RUNS: RunRecord[] = [
  makeRun({ ...AT, init: 'tini', repetition: 0, reap_latency_p50_us: 10, reap_latency_p99_us: 100, reap_latency_max_us: 900 }),
  makeRun({ ...AT, init: 'tini', repetition: 1, reap_latency_p50_us: 14, reap_latency_p99_us: 120, reap_latency_max_us: 1000 }),
  makeRun({ ...AT, init: 'tini', repetition: 2, state: 'aborted', reap_latency_p50_us: 5000, reap_latency_max_us: 90000 }),
  makeRun({ ...AT, init: 'none', repetition: 0, first_fork_failure_s: 0.4, ...NO_LATENCY }),
  makeRun({ ...AT, init: 'none', repetition: 1, first_fork_failure_s: 0.6, ...NO_LATENCY }),
  makeRun({ ...AT, init: 'dumb-init', repetition: 0, first_fork_failure_s: 2, reap_latency_p50_us: 20 }),
  makeRun({ ...AT, init: 'dumb-init', repetition: 1, reap_latency_p50_us: 30 }),
  makeRun({ ...AT, init: 'catatonit', repetition: 0, state: 'aborted', ...NO_LATENCY }),
];

const input = { summary: summarize(RUNS), runs: RUNS };

describe('toBmf', () => {
  it('writes one benchmark per row with a measure, medians as values and min/max over completed runs as bounds', () => {
    const expected = {
      'none/orphans/L128/R250': {
        'first-fork-failure-s': { value: 0.5, lower_value: 0.4, upper_value: 0.6 },
      },
      'tini/orphans/L128/R250': {
        'reap-latency-p50-us': { value: 12, lower_value: 10, upper_value: 14 },
        'reap-latency-p99-us': { value: 110 },
        'reap-latency-max-us': { value: 950 },
      },
      'dumb-init/orphans/L128/R250': {
        'reap-latency-p50-us': { value: 25, lower_value: 20, upper_value: 30 },
        'reap-latency-p99-us': { value: 120 },
        'reap-latency-max-us': { value: 900 },
        'first-fork-failure-s': { value: 2, lower_value: 2, upper_value: 2 },
      },
    };
    // Exact text, key order included: benchmarks in summary order, measures in TREND_MEASURES order.
    expect(serializeTrend(toBmf(input))).toBe(`${JSON.stringify(expected, null, 2)}\n`);
  });

  it('omits a survived row’s first fork failure, null latencies, and rows with no completed run', () => {
    const bmf = toBmf(input);
    expect(Object.keys(bmf['tini/orphans/L128/R250']!)).not.toContain('first-fork-failure-s');
    expect(Object.keys(bmf['none/orphans/L128/R250']!)).toEqual(['first-fork-failure-s']);
    // catatonit's only run was cut by the interrupt: nothing measured, no benchmark.
    expect(bmf).not.toHaveProperty('catatonit/orphans/L128/R250');
    // The cut tini run (p50 5000 µs) is in no value and no bound.
    expect(bmf['tini/orphans/L128/R250']!['reap-latency-p50-us']!.upper_value).toBe(14);
    expect(toBmf({ summary: [], runs: [] })).toEqual({});
  });

  it('bounds span exactly summary.csv’s spread, on the realistic fixture', () => {
    const runs = [0, 1, 2].flatMap((rep) => INITS.map((init) => realisticRun(init, rep, AT)));
    const summary = summarize(runs);
    const bmf = toBmf({ summary, runs });
    for (const row of summary) {
      const b = bmf[benchmarkName(row)]!;
      const p50 = b['reap-latency-p50-us'];
      if (row.reap_latency_p50_us === null) expect(p50).toBeUndefined();
      else expect(p50!.upper_value! - p50!.lower_value!).toBeCloseTo(row.reap_latency_p50_spread_us!, 9);
      const fork = b['first-fork-failure-s'];
      if (row.first_fork_failure_s === null) expect(fork).toBeUndefined();
      else expect(fork!.upper_value! - fork!.lower_value!).toBeCloseTo(row.first_fork_failure_spread_s!, 9);
    }
  });
});

describe('benchmarkName', () => {
  it('is <init>/<scenario>/L<pids_limit>/R<rate_per_s>', () => {
    expect(benchmarkName({ init: 'ts-reaper', scenario: 'orphans', pids_limit: 64, rate_per_s: 2000, lifetime_ms: 5, duration_s: 5 })).toBe(
      'ts-reaper/orphans/L64/R2000',
    );
  });
});

describe('toBenchmarkAction', () => {
  it('writes the same points as customSmallerIsBetter entries, ranges for the bounded measures', () => {
    expect(toBenchmarkAction(input)).toEqual([
      {
        name: 'none/orphans/L128/R250 first-fork-failure-s',
        unit: 's',
        value: 0.5,
        range: 'min 0.4, max 0.6',
        extra: 'forks failed in 2 of 2 completed runs',
      },
      {
        name: 'tini/orphans/L128/R250 reap-latency-p50-us',
        unit: 'us',
        value: 12,
        range: 'min 10, max 14',
        extra: '2 of 3 runs completed',
      },
      { name: 'tini/orphans/L128/R250 reap-latency-p99-us', unit: 'us', value: 110, extra: '2 of 3 runs completed' },
      { name: 'tini/orphans/L128/R250 reap-latency-max-us', unit: 'us', value: 950, extra: '2 of 3 runs completed' },
      {
        name: 'dumb-init/orphans/L128/R250 reap-latency-p50-us',
        unit: 'us',
        value: 25,
        range: 'min 20, max 30',
        extra: '2 of 2 runs completed',
      },
      { name: 'dumb-init/orphans/L128/R250 reap-latency-p99-us', unit: 'us', value: 120, extra: '2 of 2 runs completed' },
      { name: 'dumb-init/orphans/L128/R250 reap-latency-max-us', unit: 'us', value: 900, extra: '2 of 2 runs completed' },
      {
        name: 'dumb-init/orphans/L128/R250 first-fork-failure-s',
        unit: 's',
        value: 2,
        range: 'min 2, max 2',
        extra: 'forks failed in 1 of 2 completed runs',
      },
    ]);
    expect(serializeTrend(toBenchmarkAction({ summary: [], runs: [] }))).toBe('[]\n');
  });

  it('names every measure once per row, with a unit', () => {
    const slugs = TREND_MEASURES.map((m) => m.slug);
    expect(new Set(slugs).size).toBe(slugs.length);
    for (const m of TREND_MEASURES) expect(m.slug.endsWith(`-${m.unit}`)).toBe(true);
  });
});
