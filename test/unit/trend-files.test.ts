/**
 * `--export-bmf` and `--export-benchmark-action` around the converters: the option checks (one
 * line, exit 2, before anything runs or is read), and the writer writing the files with the
 * final save only, an interrupted run's holding only what was measured.
 */
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { ReapbenchError } from '../../src/errors.js';
import { serializeTrend, toBenchmarkAction, toBmf } from '../../src/export/trend.js';
import { buildView } from '../../src/export/view.js';
import { runMerge } from '../../src/run/merge.js';
import { normalizeRunOptions } from '../../src/run/request.js';
import { checkExportFile, checkTrendFiles, writeAll } from '../../src/run/results-dir.js';
import { RunResults } from '../../src/run/results.js';
import { summarize } from '../../src/stats/summary.js';
import { createOutput } from '../../src/terminal/output.js';
import { ENV, realisticRun } from '../support/bench-fixtures.js';
import { SCENARIO_META, SCENARIO_RESULTS } from '../support/golden-scenarios.js';
import { scratchDirs } from '../support/scratch.js';

// Drawing an SVG takes about half a second and is not what these files are about.
vi.mock('../../src/export/charts.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/export/charts.js')>()),
  renderSvg: async () => '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
}));

const tmp = scratchDirs('reapbench-trend-');

/** The message of the usage error (exit 2, one line) `p` rejects with. */
async function refusal(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReapbenchError);
  expect((err as ReapbenchError).exitCode).toBe(2);
  expect((err as Error).message).not.toContain('\n');
  return (err as Error).message;
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

describe('checkExportFile', () => {
  it('refuses an empty path, a folder, a path through a file and a pseudo-filesystem, in one line', async () => {
    const base = await tmp();
    const file = path.join(base, 'a-file');
    await writeFile(file, 'x');
    expect(await refusal(checkExportFile('--export-bmf', ''))).toBe('Expected `--export-bmf` to name a file, got an empty string');
    expect(await refusal(checkExportFile('--export-bmf', base))).toBe(
      `Cannot write --export-bmf file ${base}: it is a folder; name a file with --export-bmf`,
    );
    expect(await refusal(checkExportFile('--export-benchmark-action', path.join(file, 'bmf.json')))).toBe(
      `Cannot write --export-benchmark-action file ${file}/bmf.json: ${file} is a file, not a folder; choose another with --export-benchmark-action`,
    );
    expect(await refusal(checkExportFile('--export-bmf', '/proc/reapbench-bmf.json'))).toBe(
      'Cannot write --export-bmf file /proc/reapbench-bmf.json: it is on proc, a kernel pseudo-filesystem that holds no files; choose another with --export-bmf',
    );
  });

  it.skipIf(process.getuid?.() === 0)('refuses a folder it cannot write to (not as root, whom access() never refuses)', async () => {
    const ro = path.join(await tmp(), 'ro');
    await mkdir(ro, { mode: 0o555 });
    expect(await refusal(checkExportFile('--export-bmf', path.join(ro, 'bmf.json')))).toBe(
      `Cannot write --export-bmf file ${ro}/bmf.json: ${ro} is not writable (EACCES); choose another with --export-bmf, or fix its permissions`,
    );
  });

  it('accepts a file in folders still to be made, and makes nothing', async () => {
    const base = await tmp();
    const deep = path.join(base, 'x', 'y', 'bmf.json');
    expect(await checkExportFile('--export-bmf', deep)).toBe(deep);
    expect(await exists(path.join(base, 'x'))).toBe(false);
  });

  it('refuses both options naming one file; either may be absent', async () => {
    const f = path.join(await tmp(), 'trend.json');
    expect(await refusal(checkTrendFiles({ exportBmf: f, exportBenchmarkAction: f }))).toBe(
      `Cannot write --export-bmf and --export-benchmark-action to the same file ${f}; name two files`,
    );
    expect(await checkTrendFiles({})).toEqual({ bmf: null, benchmarkAction: null });
  });
});

describe('the options are checked before anything runs', () => {
  it('run: normalizeRunOptions refuses an unwritable --export-bmf (nothing has started yet)', async () => {
    expect(await refusal(normalizeRunOptions({ exportBmf: '/proc/x/bmf.json' }))).toMatch(
      /^Cannot write --export-bmf file \/proc\/x\/bmf.json: /,
    );
    const f = path.join(await tmp(), 'gab.json');
    expect((await normalizeRunOptions({ exportBenchmarkAction: f })).trend).toEqual({ bmf: null, benchmarkAction: f });
  });

  it('merge: refuses an unwritable --export-benchmark-action before reading any input folder', async () => {
    const root = await tmp();
    const opts = { out: path.join(root, 'merged'), ci: true, p50Factor: '2', verbose: false, exportBenchmarkAction: root };
    // The input does not exist: the refusal must be the option's, not "not a results folder".
    expect(await refusal(runMerge([path.join(root, 'nowhere')], opts))).toBe(
      `Cannot write --export-benchmark-action file ${root}: it is a folder; name a file with --export-benchmark-action`,
    );
    expect(await exists(opts.out)).toBe(false);
  });
});

describe('writing the trend files', () => {
  it('the final save writes them, an interrupted run’s with its completed runs only; earlier saves do not', async () => {
    const base = await tmp();
    const dir = path.join(base, 'results', 'r1');
    await mkdir(dir, { recursive: true });
    const trend = { bmf: path.join(base, 'trend', 'bmf.json'), benchmarkAction: path.join(base, 'trend', 'gab.json') };
    const sink = Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream;
    const controller = new AbortController();
    const results = new RunResults(dir, 4, ENV, createOutput({ progress: false, stream: sink }), controller.signal, trend);
    const done = [realisticRun('tini', 0, { rate_per_s: 250 }), realisticRun('none', 0, { rate_per_s: 250 })];
    results.records.push(...done);
    await results.save();
    expect(await exists(trend.bmf)).toBe(false);
    // Ctrl-C during the third run: it is recorded as aborted, and the final save follows.
    results.records.push(realisticRun('catatonit', 0, { rate_per_s: 250, state: 'aborted' }));
    controller.abort();
    await results.save(true);
    expect(await readFile(path.join(dir, 'report.md'), 'utf8')).toContain('**PARTIAL**');
    const measured = { summary: summarize(done), runs: done };
    expect(await readFile(trend.bmf, 'utf8')).toBe(serializeTrend(toBmf(measured)));
    expect(await readFile(trend.benchmarkAction, 'utf8')).toBe(serializeTrend(toBenchmarkAction(measured)));
    expect(Object.keys(JSON.parse(await readFile(trend.bmf, 'utf8')) as object)).toEqual([
      'none/orphans/L128/R250',
      'tini/orphans/L128/R250',
    ]);
  });

  it('without a load part writes {} and [] and says why', async () => {
    const base = await tmp();
    const trend = { bmf: path.join(base, 'bmf.json'), benchmarkAction: path.join(base, 'gab.json') };
    const view = buildView({ load: null, scenarios: { results: SCENARIO_RESULTS, meta: SCENARIO_META, env: ENV } });
    const res = await writeAll(path.join(base), view, { latest: false, trend });
    expect(await readFile(trend.bmf, 'utf8')).toBe('{}\n');
    expect(await readFile(trend.benchmarkAction, 'utf8')).toBe('[]\n');
    expect(res.files).toEqual(expect.arrayContaining([trend.bmf, trend.benchmarkAction]));
    expect(res.warnings).toEqual([
      `--export-bmf: no load runs in these results; ${trend.bmf} holds no benchmark`,
      `--export-benchmark-action: no load runs in these results; ${trend.benchmarkAction} holds no benchmark`,
    ]);
  });
});
