import { lstat, mkdir, readFile, readdir, readlink, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INITS as INITS } from '../../src/model/inits.js';
import {
  checkResultsRoot,
  EVENTS_GZIP_THRESHOLD_BYTES,
  prepareResultsDir,
  pseudoFilesystemOf,
  timestampName,
  writeAll,
} from '../../src/run/results-dir.js';
import { ReapbenchError } from '../../src/errors.js';
import { buildView } from '../../src/export/view.js';
import { ENV, realisticRun } from '../support/bench-fixtures.js';
import { scratchDirs } from '../support/scratch.js';

const tmp = scratchDirs('reapbench-results-');

describe('prepareResultsDir', () => {
  it('creates <root>/<UTC timestamp>/ and a suffixed one when that exists', async () => {
    const root = path.join(await tmp(), 'results');
    const when = new Date('2026-11-29T11:34:52.123Z');
    expect(timestampName(when)).toBe('2026-11-29T11-34-52Z');
    const a = await prepareResultsDir(root, when);
    const b = await prepareResultsDir(root, when);
    expect(a).toBe(path.join(root, '2026-11-29T11-34-52Z'));
    expect(b).toBe(path.join(root, '2026-11-29T11-34-52Z-2'));
    expect((await stat(a)).isDirectory()).toBe(true);
    expect(await readdir(root)).toEqual(['2026-11-29T11-34-52Z', '2026-11-29T11-34-52Z-2']); // no probe file left
  });

  it('refuses a file (or a path through one) as a bad --out: one line, exit 2, nothing created', async () => {
    const file = path.join(await tmp(), 'a-file');
    await writeFile(file, 'x');
    const err = await prepareResultsDir(path.join(file, 'results')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReapbenchError);
    expect((err as ReapbenchError).exitCode).toBe(2);
    expect((err as Error).message).toBe(
      `Cannot use results folder ${file}/results: ${file} (in ${file}/results) is a file, not a folder; choose another with --out`,
    );
    const same = await checkResultsRoot(file).catch((e: unknown) => e);
    expect((same as Error).message).toBe(`Cannot use results folder ${file}: ${file} is a file, not a folder; choose another with --out`);
    expect((same as ReapbenchError).exitCode).toBe(2);
    await expect(checkResultsRoot('')).rejects.toThrow('Expected `--out` to name a folder, got an empty string');
  });

  it('checks a root without creating it, and says which folder creating it would make first', async () => {
    const base = await tmp();
    const deep = path.join(base, 'x', 'deep', 'er');
    expect(await checkResultsRoot(deep)).toEqual({ abs: deep, missingFrom: path.join(base, 'x') });
    expect(await readdir(base)).toEqual([]);
    expect(await checkResultsRoot(base)).toEqual({ abs: base, missingFrom: null });
  });
});

describe('results folder on a kernel pseudo-filesystem', () => {
  it.each([
    ['/proc/1/x', 'proc'],
    ['/proc/self/does/not/exist', 'proc'],
    ['/sys/fs/reapbench-results', 'sysfs'],
  ])('refuses %s in one line, at once, creating nothing', async (dir, fs) => {
    const err = await prepareResultsDir(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReapbenchError);
    expect((err as Error).message).toBe(
      `Cannot use results folder ${dir}: it is on ${fs}, a kernel pseudo-filesystem that holds no files; choose another with --out`,
    );
  });

  it('accepts an ordinary folder', async () => {
    expect(await pseudoFilesystemOf(path.join(await tmp(), 'new/deeper'))).toBeNull();
  });
});

describe('writeAll', () => {
  const runs = INITS.map((init) => realisticRun(init, 0, { duration_s: 1 }));
  /** A load part with no run and no environment. */
  const EMPTY = buildView({ load: { runs: [], env: null }, scenarios: null });

  it('writes a partial report with every file, and rewrites it complete', async () => {
    const root = path.join(await tmp(), 'results');
    const dir = await prepareResultsDir(root);
    const rawDir = path.join(dir, 'raw');
    await mkdir(rawDir);
    await writeFile(path.join(rawDir, '000-tini-orphans-L128-R1000-r0.ndjson'), '{"type":"start"}\n{"type":"summary"}\n');
    await writeFile(path.join(rawDir, '001-none-orphans-L128-R1000-r0.ndjson.partial'), '{"type":"start"}\n{"type":"sam');

    const first = runs.slice(0, 2);
    const res = await writeAll(
      dir,
      buildView({ load: { runs: first, env: ENV, partialReason: 'interrupted by SIGINT' }, scenarios: null }),
      {
        rawDir,
      },
    );
    expect(res.warnings).toEqual([]);
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(['charts', 'env.json', 'events.ndjson', 'raw', 'records.json', 'report.md', 'runs.csv', 'summary.csv']);
    expect(await readFile(path.join(dir, 'report.md'), 'utf8')).toContain('> **PARTIAL**: this run did not finish (interrupted by SIGINT)');
    expect((await readFile(path.join(dir, 'runs.csv'), 'utf8')).trim().split('\n')).toHaveLength(3);
    expect(JSON.parse(await readFile(path.join(dir, 'env.json'), 'utf8'))).toEqual(ENV);
    expect((await readFile(path.join(dir, 'events.ndjson'), 'utf8')).split('\n')).toEqual([
      '{"run":"000-tini-orphans-L128-R1000-r0","type":"start"}',
      '{"run":"000-tini-orphans-L128-R1000-r0","type":"summary"}',
      '{"run":"001-none-orphans-L128-R1000-r0","type":"start"}',
      '',
    ]);
    const charts = await readdir(path.join(dir, 'charts'));
    expect(charts.sort()).toEqual(['latency-orphans-L128-R1000-life2ms-1s.svg', 'zombies-orphans-L128-R1000-life2ms-1s.svg']);
    const svg = await readFile(path.join(dir, 'charts', 'zombies-orphans-L128-R1000-life2ms-1s.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('>none<');
    expect(await readlink(path.join(root, 'latest'))).toBe(path.basename(dir));

    await writeAll(dir, buildView({ load: { runs, env: ENV }, scenarios: null }), { rawDir });
    const report = await readFile(path.join(dir, 'report.md'), 'utf8');
    expect(report).not.toContain('PARTIAL');
    expect(report).toContain('![Zombies over time');
    expect((await readFile(path.join(dir, 'summary.csv'), 'utf8')).trim().split('\n')).toHaveLength(1 + INITS.length);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('moves results/latest to the newest folder atomically', async () => {
    const root = path.join(await tmp(), 'results');
    const a = await prepareResultsDir(root, new Date('2026-01-01T00:00:00Z'));
    const b = await prepareResultsDir(root, new Date('2026-01-02T00:00:00Z'));
    await writeAll(a, EMPTY);
    expect(await realpath(path.join(root, 'latest'))).toBe(await realpath(a));
    await writeAll(b, EMPTY);
    expect((await lstat(path.join(root, 'latest'))).isSymbolicLink()).toBe(true);
    expect(await realpath(path.join(root, 'latest'))).toBe(await realpath(b));
    expect((await readdir(root)).sort()).toEqual([path.basename(a), path.basename(b), 'latest']);
  });

  it('gzips events.ndjson above 8 MiB and drops the plain file', async () => {
    const dir = await prepareResultsDir(path.join(await tmp(), 'results'));
    const pad = 'x'.repeat(200);
    const n = Math.ceil(EVENTS_GZIP_THRESHOLD_BYTES / 220) + 10;
    const events = (function* () {
      for (let i = 0; i < n; i++) yield { i, pad };
    })();
    const res = await writeAll(dir, EMPTY, { events });
    expect(res.files).toContain(path.join(dir, 'events.ndjson.gz'));
    expect((await readdir(dir)).filter((f) => f.startsWith('events'))).toEqual(['events.ndjson.gz']);
    const lines = gunzipSync(await readFile(path.join(dir, 'events.ndjson.gz')))
      .toString('utf8')
      .trimEnd()
      .split('\n');
    expect(lines).toHaveLength(n);
    expect(JSON.parse(lines[n - 1]!)).toEqual({ i: n - 1, pad });
  });
});
