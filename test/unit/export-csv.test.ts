import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { RUNS_CSV_COLUMNS, serializeRunsCsv } from '../../src/export/runs-csv.js';
import { SUMMARY_CSV_COLUMNS, serializeSummaryCsv } from '../../src/export/summary-csv.js';
import { serializeNdjson, tagNdjsonLine } from '../../src/export/ndjson.js';
import { summarize } from '../../src/stats/summary.js';
import { makeRun } from '../support/bench-fixtures.js';

// The documented column lists (results/README.md); changing a CSV format must change these.
const RUNS_COLUMNS =
  'init,scenario,pids_limit,rate_per_s,lifetime_ms,duration_s,repetition,order,state,failure_reason,started_at,wall_s,exit_code,orphans_made,orphans_exited,orphans_reaped,unreaped,missed,achieved_rate_per_s,first_fork_failure_s,orphans_before_failure,fork_failures,first_failure_level,first_failure_errno,first_failure_comm,zombies_peak,zombies_held_by,zombie_sample_hz,pids_peak,pids_method,baseline_tasks,effective_budget,instrument_tasks,reap_latency_p50_us,reap_latency_p90_us,reap_latency_p99_us,reap_latency_max_us,latency_method,pidfd_latency_p50_us,pidfd_latency_p99_us,lost_events,littles_law_latency_us,watcher_lag_p99_us,pid1_cpu_ms,pid1_rss_kib';
const SUMMARY_COLUMNS =
  'init,scenario,pids_limit,rate_per_s,lifetime_ms,duration_s,runs,failed_runs,aborted_runs,survived_runs,first_fork_failure_s,first_fork_failure_spread_s,orphans_before_failure,zombies_peak,reap_latency_p50_us,reap_latency_p50_spread_us,reap_latency_p90_us,reap_latency_p99_us,reap_latency_max_us,unreaped,pid1_cpu_ms,pid1_rss_kib,achieved_rate_per_s,baseline_tasks,effective_budget';

const rows = (csv: string): Record<string, string>[] => parse(csv, { columns: true }) as Record<string, string>[];

describe('runs.csv', () => {
  const runs = [
    makeRun({ init: 'none', first_fork_failure_s: 0.1234567891, reap_latency_p50_us: null, failure_reason: null }),
    makeRun({ init: 'tini', state: 'failed', failure_reason: 'container exited 137, "killed", twice\nsecond line' }),
  ];
  const csv = serializeRunsCsv(runs);

  it('has exactly the documented columns: every scalar field, no series or histogram', () => {
    expect(csv.split('\n')[0]).toBe(RUNS_COLUMNS);
    expect(RUNS_CSV_COLUMNS.join(',')).toBe(RUNS_COLUMNS);
    expect(csv).not.toMatch(/series|latency_histogram/);
  });

  it('writes one row per run, nulls as empty cells, numbers without float noise', () => {
    const r = rows(csv);
    expect(r).toHaveLength(2);
    expect(r[0]!.first_fork_failure_s).toBe('0.123457');
    expect(r[0]!.reap_latency_p50_us).toBe('');
    expect(r[0]!.failure_reason).toBe('');
    expect(r[1]!.first_fork_failure_s).toBe('');
    expect(r[1]!.state).toBe('failed');
    // Quotes, commas and newlines survive the round trip.
    expect(r[1]!.failure_reason).toBe('container exited 137, "killed", twice\nsecond line');
  });

  it('is just the header for no runs', () => {
    expect(serializeRunsCsv([])).toBe(`${RUNS_COLUMNS}\n`);
  });
});

describe('summary.csv', () => {
  const summary = summarize([
    makeRun({ init: 'none', first_fork_failure_s: 0.5, orphans_before_failure: 110, reap_latency_p50_us: null }),
    makeRun({ init: 'tini', first_fork_failure_s: null, reap_latency_p50_us: 15.5 }),
  ]);
  const csv = serializeSummaryCsv(summary);

  it('has exactly the documented columns, including the ones the issue requires', () => {
    expect(csv.split('\n')[0]).toBe(SUMMARY_COLUMNS);
    expect(SUMMARY_CSV_COLUMNS.join(',')).toBe(SUMMARY_COLUMNS);
    for (const c of [
      'init',
      'scenario',
      'pids_limit',
      'rate_per_s',
      'first_fork_failure_s',
      'orphans_before_failure',
      'zombies_peak',
      'reap_latency_p50_us',
      'reap_latency_p99_us',
      'unreaped',
    ]) {
      expect(SUMMARY_COLUMNS.split(',')).toContain(c);
    }
  });

  it('leaves first_fork_failure_s empty for a configuration that survived', () => {
    const [none, tini] = rows(csv);
    expect(none).toMatchObject({ init: 'none', first_fork_failure_s: '0.5', orphans_before_failure: '110', reap_latency_p50_us: '' });
    expect(tini).toMatchObject({ init: 'tini', first_fork_failure_s: '', survived_runs: '1', reap_latency_p50_us: '15.5' });
  });
});

describe('ndjson', () => {
  it('writes one compact JSON line per event', () => {
    expect(serializeNdjson([{ a: 1 }, { b: 'x\ny' }])).toBe('{"a":1}\n{"b":"x\\ny"}\n');
    expect(() => serializeNdjson([undefined])).toThrow(TypeError);
  });

  it('tags raw lines with their run and skips cut-off lines', () => {
    expect(tagNdjsonLine('000-tini', '{"type":"sample","t_us":1}')).toBe('{"run":"000-tini","type":"sample","t_us":1}');
    expect(JSON.parse(tagNdjsonLine('r"1', ' {} ')!)).toEqual({ run: 'r"1' });
    expect(tagNdjsonLine('r', '{"type":"samp')).toBeNull();
    expect(tagNdjsonLine('r', '')).toBeNull();
  });
});

describe('results/README.md', () => {
  it('documents every column of runs.csv and summary.csv', async () => {
    const { readFile } = await import('node:fs/promises');
    const readme = await readFile(new URL('../../results/README.md', import.meta.url), 'utf8');
    const runsPart = readme.slice(readme.indexOf('## runs.csv'), readme.indexOf('## summary.csv'));
    const summaryPart = readme.slice(readme.indexOf('## summary.csv'), readme.indexOf('## Comparing'));
    for (const c of RUNS_CSV_COLUMNS) expect(runsPart, c).toContain(`| \`${c}\` |`);
    for (const c of SUMMARY_CSV_COLUMNS) expect(summaryPart, c).toContain(`\`${c}\``);
  });
});
