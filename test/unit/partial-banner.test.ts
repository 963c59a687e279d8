/**
 * The PARTIAL banners of report.md and scenarios.md say only what is known: a file written while
 * the run was going cannot know whether the run went on (a second Ctrl-C or a crash leaves it
 * behind), so it never claims "still running"; the final save of an interrupted run says why.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { RunResults } from '../../src/run/results.js';
import { createOutput } from '../../src/terminal/output.js';
import { ENV, realisticRun } from '../support/bench-fixtures.js';

const INTERIM = '> **PARTIAL**: this run had not finished when this file was last written (still running, or stopped before the end).';

describe('PARTIAL banner', () => {
  it('is worded as what is known while the run is going, and says why after an interrupt', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'reapbench-partial-'));
    try {
      const sink = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
      const controller = new AbortController();
      const results = new RunResults(dir, 4, ENV, createOutput({ progress: false, stream: sink }), controller.signal);
      results.records.push(realisticRun('tini', 0));
      await results.save();
      const interim = await readFile(path.join(dir, 'report.md'), 'utf8');
      expect(interim).toContain(INTERIM);
      expect(interim).not.toMatch(/is still running/);

      results.beginScenarios({ command: 'reapbench run', startedAt: 'now', image: 'i', engine: 'e' }, 3);
      await results.save();
      expect(await readFile(path.join(dir, 'scenarios.md'), 'utf8')).toContain(
        '> **PARTIAL**: this run had not finished when this file was last written (still running, or stopped before the end); scenarios and inits may be missing.',
      );

      controller.abort();
      await results.save(true);
      const final = await readFile(path.join(dir, 'report.md'), 'utf8');
      expect(final).toMatch(/> \*\*PARTIAL\*\*: this run did not finish \(interrupted by a signal after \d+ of 4 runs\)/);
      expect(final).not.toContain(INTERIM);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('plurals', () => {
  it('says 1 run, 2 runs', async () => {
    const { plural } = await import('../../src/export/format.js');
    expect([plural(1, 'run'), plural(2, 'run'), plural(0, 'run'), plural(1, 'more configuration', 'more configurations')]).toEqual([
      '1 run',
      '2 runs',
      '0 runs',
      '1 more configuration',
    ]);
  });
});

describe('aborted runs are counted apart from failed ones', () => {
  it('the terminal table says "aborted", the progress label numbers repetitions as runs.csv does', async () => {
    const { renderSummaryTable } = await import('../../src/terminal/summary-table.js');
    const { summarize } = await import('../../src/stats/summary.js');
    const { runLabel } = await import('../../src/run/bench.js');
    const runs = [realisticRun('tini', 0), { ...realisticRun('tini', 1), state: 'aborted' as const }];
    const table = renderSummaryTable(summarize(runs), { color: false, width: 200 });
    expect(table).toContain('1/1 (1 aborted)');
    expect(table).not.toContain('failed');
    expect(runLabel({ ...runs[1]!, order: 0 })).toMatch(/ rep 1$/);
    expect(runLabel({ ...runs[1]!, repetition: -1, order: 0 })).toMatch(/\(warm-up\)$/);
  });

  it('a scenario run is labelled with its variant once, not the init twice', async () => {
    const { scenarioLabel } = await import('../../src/run/bench.js');
    expect(scenarioLabel({ id: 'S1', scenario: 'killed-parent-tree', case: null, variant: 'none' })).toBe('S1 killed-parent-tree none');
    expect(scenarioLabel({ id: 'S6', scenario: 'stop-latency', case: 'sleep', variant: 'tini -g' })).toBe(
      'S6 stop-latency (sleep) tini -g',
    );
  });
});
