import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareWithBaseline, parseBaselineCsv, readBaseline } from '../../src/run/baseline.js';
import { ReapbenchError } from '../../src/errors.js';
import { serializeSummaryCsv } from '../../src/export/summary-csv.js';
import { serializeRunsCsv } from '../../src/export/runs-csv.js';
import { summarize } from '../../src/stats/summary.js';
import type { RunRecord } from '../../src/model/records.js';
import { makeRun } from '../support/bench-fixtures.js';

/** Three repetitions of one init with the given per-repetition overrides. */
function reps(init: RunRecord['init'], ...over: Partial<RunRecord>[]): RunRecord[] {
  return over.map((o, i) => makeRun({ init, repetition: i, ...o }));
}

const baselineRuns = [
  ...reps('none', { first_fork_failure_s: 0.1, reap_latency_p50_us: null }, { first_fork_failure_s: 0.1, reap_latency_p50_us: null }),
  ...reps('tini', { reap_latency_p50_us: 100 }, { reap_latency_p50_us: 100 }),
  ...reps('ts-reaper', { reap_latency_p50_us: 40 }, { reap_latency_p50_us: 40 }),
  ...reps('catatonit', { reap_latency_p50_us: 18 }),
];
/** The baseline as it comes back from a stored summary.csv. */
const baseline = parseBaselineCsv(serializeSummaryCsv(summarize(baselineRuns)), 'test');

describe('compareWithBaseline', () => {
  it('finds nothing when the current run equals the baseline', () => {
    const r = compareWithBaseline(baseline, summarize(baselineRuns));
    expect(r.findings).toEqual([]);
    expect(r.regressions).toEqual([]);
  });

  it('reports an init that survived in the baseline and now fails forks as a regression', () => {
    const current = summarize([
      ...reps('none', { first_fork_failure_s: 0.1, reap_latency_p50_us: null }),
      ...reps('tini', { reap_latency_p50_us: 100 }),
      ...reps('ts-reaper', { first_fork_failure_s: 2.5 }, { first_fork_failure_s: 3.5 }),
      ...reps('catatonit', { reap_latency_p50_us: 18 }),
    ]);
    const r = compareWithBaseline(baseline, current);
    expect(r.regressions.map((f) => [f.kind, f.cell.init])).toEqual([['fork-regression', 'ts-reaper']]);
    expect(r.messages[0]).toBe(
      'REGRESSION: ts-reaper orphans limit=128 rate=1000/s life=2ms dur=10s: survived in the baseline, now forks fail in 2 of 2 runs (first after 3 s)',
    );
    expect(r.messages.every((m) => !m.includes('\n'))).toBe(true);
  });

  it('does not count a fork failure in a minority of repetitions as a regression', () => {
    const p50 = { reap_latency_p50_us: 40 };
    const current = summarize([
      ...reps('ts-reaper', { first_fork_failure_s: 2, ...p50 }, p50, p50),
      ...reps('tini', { reap_latency_p50_us: 100 }),
      ...reps('none', { first_fork_failure_s: 0.1, reap_latency_p50_us: null }),
      ...reps('catatonit', { reap_latency_p50_us: 18 }),
    ]);
    const r = compareWithBaseline(baseline, current);
    expect(r.regressions).toEqual([]);
    expect(r.findings.map((f) => f.kind)).toEqual(['fork-flaky']);
  });

  it('reports p50 ×2.5 as a regression and ×1.5 as none (default factor 2)', () => {
    const current = summarize([
      ...reps('none', { first_fork_failure_s: 0.1, reap_latency_p50_us: null }),
      ...reps('tini', { reap_latency_p50_us: 250 }),
      ...reps('ts-reaper', { reap_latency_p50_us: 60 }),
      ...reps('catatonit', { reap_latency_p50_us: 18 }),
    ]);
    const r = compareWithBaseline(baseline, current);
    expect(r.regressions.map((f) => [f.kind, f.cell.init])).toEqual([['latency-regression', 'tini']]);
    expect(r.regressions[0]!.message).toContain('×2.50 > ×2');
  });

  it('uses a configurable factor, and an absolute floor that keeps tiny p50s from tripping it', () => {
    const current = summarize([
      ...reps('none', { first_fork_failure_s: 0.1, reap_latency_p50_us: null }),
      ...reps('tini', { reap_latency_p50_us: 150 }),
      ...reps('ts-reaper', { reap_latency_p50_us: 40 }),
      ...reps('catatonit', { reap_latency_p50_us: 27 }), // ×1.5 but only +9 µs
    ]);
    expect(compareWithBaseline(baseline, current, { p50Factor: 1.4 }).regressions.map((f) => f.cell.init)).toEqual(['tini']);
    expect(compareWithBaseline(baseline, current, { p50Factor: 1.4, p50MinDeltaUs: 0 }).regressions.map((f) => f.cell.init)).toEqual([
      'tini',
      'catatonit',
    ]);
    expect(() => compareWithBaseline(baseline, current, { p50Factor: 1 })).toThrow(RangeError);
  });

  it('lists cells missing in the current run without calling them regressions', () => {
    const current = summarize(reps('tini', { reap_latency_p50_us: 100 }));
    const r = compareWithBaseline(baseline, current);
    expect(r.regressions).toEqual([]);
    expect(r.findings.map((f) => [f.kind, f.cell.init])).toEqual([
      ['missing-in-current', 'none'],
      ['missing-in-current', 'catatonit'],
      ['missing-in-current', 'ts-reaper'],
    ]);
    expect(r.messages[0]).toMatch(/^note: none .*in the baseline but not measured now$/);
    // The gate counts what it compared, so that comparing nothing can fail it.
    expect(r.compared).toBe(baseline.length - 3);
    expect(compareWithBaseline(baseline, []).compared).toBe(0);
  });

  it('notes improvements', () => {
    const current = summarize([
      ...reps('none', {}),
      ...reps('tini', { reap_latency_p50_us: 20 }),
      ...reps('ts-reaper', { reap_latency_p50_us: 40 }),
      ...reps('catatonit', { reap_latency_p50_us: 18 }),
    ]);
    expect(compareWithBaseline(baseline, current).findings.map((f) => f.kind)).toEqual(['now-survives', 'latency-improved']);
  });
});

describe('parseBaselineCsv / readBaseline', () => {
  it('reads back what serializeSummaryCsv wrote, empty cells as null', () => {
    const none = baseline.find((b) => b.init === 'none')!;
    expect(none).toMatchObject({
      init: 'none',
      scenario: 'orphans',
      pids_limit: 128,
      rate_per_s: 1000,
      first_fork_failure_s: 0.1,
      reap_latency_p50_us: null,
      runs: 2,
      survived_runs: 0,
    });
    expect(baseline.find((b) => b.init === 'tini')!.first_fork_failure_s).toBeNull();
  });

  it('rejects malformed files with a one-line ReapbenchError', () => {
    const cases: [string, RegExp][] = [
      ['', /no data rows/],
      ['a,b\n1,2\n', /not a reapbench summary\.csv: missing column\(s\) init, scenario, pids_limit/],
      [
        'init,scenario,pids_limit,rate_per_s,lifetime_ms,duration_s,first_fork_failure_s,reap_latency_p50_us\nsystemd,orphans,128,1000,2,10,,\n',
        /line 2: unknown init `systemd`/,
      ],
      [
        'init,scenario,pids_limit,rate_per_s,lifetime_ms,duration_s,first_fork_failure_s,reap_latency_p50_us\ntini,orphans,lots,1000,2,10,,\n',
        /line 2: expected `pids_limit` to be a number, got `lots`/,
      ],
      ['init,scenario\n"tini,orphans\n', /not a valid CSV file/],
      [serializeRunsCsv([makeRun()]), /b\.csv is a runs\.csv \(one row per run\): pass the summary\.csv of the same results folder/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        parseBaselineCsv(text, 'b.csv');
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ReapbenchError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
      expect((err as ReapbenchError).exitCode).toBe(2);
    }
  });

  it('reads a file, and says clearly when it is missing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'reapbench-baseline-'));
    const file = path.join(dir, 'summary.csv');
    await writeFile(file, serializeSummaryCsv(summarize(baselineRuns)));
    expect(await readBaseline(file)).toEqual(baseline);
    await expect(readBaseline(path.join(dir, 'nope.csv'))).rejects.toThrow(/^Cannot read baseline `.*nope\.csv` \(no such file\)/);
    await expect(readBaseline(dir)).rejects.toThrow(/is a directory/);
    await rm(dir, { recursive: true, force: true });
  });
});
