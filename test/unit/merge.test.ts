/**
 * `reapbench merge`, on results folders written by the real writer (no engine): three shards
 * merge into the folder the unsharded run writes (the same summary, charts and scenario
 * verdicts), a missing shard makes the merge PARTIAL, the refusals are one line with exit 2, the
 * inputs are left as they were, and the baseline gate works on the merged summary.
 */
import { createHash } from 'node:crypto';
import { cp, lstat, mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { ReapbenchError } from '../../src/errors.js';
import { buildView } from '../../src/export/view.js';
import { DEFAULT_INITS as INITS } from '../../src/model/inits.js';
import type { EnvironmentRecord, RunRecord } from '../../src/model/records.js';
import { resolveMatrix } from '../../src/run/matrix.js';
import { cutShortShards, mergeFolders, mergeLine, runMerge, type ShardFolder } from '../../src/run/merge.js';
import { writeAll } from '../../src/run/results-dir.js';
import { shardRecord, sliceMatrix, WHOLE, type ShardSpec } from '../../src/run/shard.js';
import type { RunOutput } from '../../src/terminal/output.js';
import { configKey } from '../../src/stats/config-key.js';
import { summarize } from '../../src/stats/summary.js';
import { serializeTrend, toBenchmarkAction, toBmf } from '../../src/export/trend.js';
import { ENV, realisticRun } from '../support/bench-fixtures.js';
import { SCENARIO_META, SCENARIO_RESULTS } from '../support/golden-scenarios.js';
import { scratchDirs } from '../support/scratch.js';

// Drawing an SVG takes about half a second and is not what a merge is about: a stub drawing.
vi.mock('../../src/export/charts.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/export/charts.js')>()),
  renderSvg: async () => '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
}));

const tmp = scratchDirs('reapbench-merge-');

/** The matrix of the fixture: 6 load configurations and 4 scenarios, 10 units. */
const MATRIX = resolveMatrix({
  limits: '64,128',
  rates: '100,250,500',
  scenarios: 'orphans,tool-leaves-helper,init-not-pid1,stop-latency,limit-exhaustion',
  repetitions: 2,
  seed: 1,
});

/** Every recorded run of the whole matrix: each init × configuration × repetition. */
const ALL_RUNS: RunRecord[] = MATRIX.limits.flatMap((pids_limit) =>
  MATRIX.rates.flatMap((rate_per_s) =>
    [0, 1].flatMap((rep) =>
      INITS.map((init) =>
        realisticRun(init, rep, { pids_limit, rate_per_s, lifetime_ms: MATRIX.lifetime_ms, duration_s: MATRIX.duration_s }),
      ),
    ),
  ),
);

/** env.json of shard `s` (of a matrix `fingerprintOf` makes, written by `version`). */
function envOf(s: ShardSpec, version = '0.1.0', matrix = MATRIX): EnvironmentRecord {
  return { ...ENV, reapbench_version: version, started_at: `2026-11-29T1${s.index}:00:00.000Z`, shard: shardRecord(matrix, s, version) };
}

/**
 * Write the results folder of shard `s` (its runs and scenario results, as the run would have
 * measured them) under `root`, with an events file of one line per run (gzip-compressed when
 * `gz`); with `partialReason`, as a shard that was interrupted (PARTIAL with that reason). Returns its path.
 */
async function writeShard(
  root: string,
  s: ShardSpec,
  o: { version?: string; gz?: boolean; name?: string; partialReason?: string } = {},
): Promise<string> {
  const dir = path.join(root, o.name ?? `shard-${s.index}-of-${s.count}`);
  await mkdir(dir, { recursive: true });
  const slice = sliceMatrix(MATRIX, s);
  const runs = ALL_RUNS.filter((r) => slice.loadConfigs.has(configKey(r)));
  const results = SCENARIO_RESULTS.filter((r) => slice.scenarios.includes(r.scenario));
  const env = envOf(s, o.version);
  const cut = o.partialReason;
  const view = buildView({
    load: { runs, env, ...(cut !== undefined ? { partialReason: cut } : {}) },
    scenarios: { results, meta: cut !== undefined ? { ...SCENARIO_META, partial: cut } : SCENARIO_META, env },
  });
  const events = runs.map((r) => ({ run: `${r.init}-L${r.pids_limit}-R${r.rate_per_s}-r${r.repetition}`, type: 'summary' }));
  await writeAll(dir, view, { latest: false });
  const text = events.map((e) => `${JSON.stringify(e)}\n`).join('');
  if (o.gz) await writeFile(path.join(dir, 'events.ndjson.gz'), gzipSync(text));
  else await writeFile(path.join(dir, 'events.ndjson'), text);
  return dir;
}

/** Every file under `dir` (links as links) with a hash of its content and its mtime. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true })) {
    const p = path.join(dir, e);
    const s = await lstat(p);
    if (s.isSymbolicLink()) out[e] = `-> ${await readlink(p)}`;
    else if (s.isFile())
      out[e] = `${createHash('sha256')
        .update(await readFile(p))
        .digest('hex')} ${s.mtimeMs}`;
  }
  return out;
}

/** The message of the usage error (exit 2) `p` rejects with. */
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

/** scenarios.csv's verdict columns by row (id, case, variant), for comparing verdicts regardless of order. */
async function verdicts(dir: string): Promise<string[]> {
  const [head, ...rows] = (await readFile(path.join(dir, 'scenarios.csv'), 'utf8')).trim().split('\n');
  expect(head).toMatch(/^id,scenario,case,init,variant,state,verdict,outcome,expected/);
  return rows.map((r) => r.split(',').slice(0, 11).join(',')).sort();
}

/** `reapbench merge --ci` of `dirs` into `out` with stdout (its JSON line) held back: the exit code, the terminal lines and the JSON line. */
async function mergeQuietly(dirs: string[], out: string): Promise<{ code: number; lines: string[]; json: { partial: boolean } }> {
  const o = quiet();
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await runMerge(dirs, { ci: true, p50Factor: '2', verbose: false, out }, o);
    return { code, lines: o.lines, json: JSON.parse(String(write.mock.calls.at(-1)![0])) as { partial: boolean } };
  } finally {
    write.mockRestore();
  }
}

/** A silent output that keeps its lines. */
function quiet(): RunOutput & { lines: string[] } {
  const lines: string[] = [];
  return { bar: false, lines, line: (t) => void lines.push(t), start() {}, update() {}, finished() {}, stop() {} };
}

describe('reapbench merge', () => {
  it('joins three shards into the folder the unsharded run writes: same summary, charts and verdicts', async () => {
    const root = await tmp();
    const shards = await Promise.all([1, 2, 3].map((i) => writeShard(root, { index: i, count: 3 }, { gz: i === 2 })));
    const whole = await writeShard(root, WHOLE, { name: 'whole' });
    const before = await snapshot(root);

    const merged = await mergeFolders(shards, path.join(root, 'merged'));
    const out = merged.dir;

    // The inputs are untouched (content, mtime, and no latest link appeared).
    expect(await snapshot(root).then((s) => Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('merged'))))).toEqual(
      before,
    );
    const files = (await readdir(out)).sort();
    expect(files).toEqual([
      'charts',
      'env.json',
      'events.ndjson.gz',
      'records.json',
      'report.md',
      'runs.csv',
      'scenarios.csv',
      'scenarios.md',
      'summary.csv',
    ]);
    // The summary is recomputed from the joined runs: the unsharded run's, row for row.
    expect(await readFile(path.join(out, 'summary.csv'), 'utf8')).toBe(await readFile(path.join(whole, 'summary.csv'), 'utf8'));
    expect((await readFile(path.join(out, 'summary.csv'), 'utf8')).trim().split('\n')).toHaveLength(1 + 6 * INITS.length);
    expect((await readFile(path.join(out, 'runs.csv'), 'utf8')).trim().split('\n')).toHaveLength(1 + ALL_RUNS.length);
    expect((await readdir(path.join(out, 'charts'))).sort()).toEqual((await readdir(path.join(whole, 'charts'))).sort());
    expect(await verdicts(out)).toEqual(await verdicts(whole));
    const report = await readFile(path.join(out, 'report.md'), 'utf8');
    expect(report).not.toContain('PARTIAL');
    expect(report).toContain(`| shards | merged 1, 2, 3 of 3 (matrix ${envOf(WHOLE).shard!.fingerprint})`);
    const scenariosMd = await readFile(path.join(out, 'scenarios.md'), 'utf8');
    expect(scenariosMd).not.toContain('PARTIAL');
    expect(scenariosMd).toContain(`Merged by reapbench merge from shards 1, 2, 3 of 3 (matrix ${envOf(WHOLE).shard!.fingerprint})`);
    const env = JSON.parse(await readFile(path.join(out, 'env.json'), 'utf8')) as EnvironmentRecord;
    expect(env.shard).toBeUndefined();
    expect(env.merged).toMatchObject({ count: 3, shards: [1, 2, 3], missing: [], empty: [], fingerprint: envOf(WHOLE).shard!.fingerprint });
    expect(env.merged!.environments.map((e) => e.shard!.index)).toEqual([1, 2, 3]);
    // The events of the three shards, in shard order; gzip-compressed because shard 2's were.
    const events = gunzipSync(await readFile(path.join(out, 'events.ndjson.gz'))).toString('utf8');
    const expected = [
      await readFile(path.join(shards[0]!, 'events.ndjson'), 'utf8'),
      gunzipSync(await readFile(path.join(shards[1]!, 'events.ndjson.gz'))).toString('utf8'),
      await readFile(path.join(shards[2]!, 'events.ndjson'), 'utf8'),
    ].join('');
    expect(events).toBe(expected);
    expect(events.trim().split('\n')).toHaveLength(ALL_RUNS.length);
  });

  it('writes --export-bmf and --export-benchmark-action from the merged summary: the unsharded run’s figures', async () => {
    const root = await tmp();
    const shards = await Promise.all([1, 3].map((i) => writeShard(root, { index: i, count: 3 })));
    const trend = { bmf: path.join(root, 'trend', 'bmf.json'), benchmarkAction: path.join(root, 'trend', 'gab.json') };
    const { view, set } = await mergeFolders(shards, path.join(root, 'merged'), trend);
    expect(set.missing).toEqual([2]);
    // Shard 2 is missing: its configurations are in neither file; the others are as one run would write them.
    const present = ALL_RUNS.filter((r) => [1, 3].some((i) => sliceMatrix(MATRIX, { index: i, count: 3 }).loadConfigs.has(configKey(r))));
    const input = { summary: summarize(present), runs: present };
    expect(view.load!.summary).toEqual(input.summary);
    expect(await readFile(trend.bmf, 'utf8')).toBe(serializeTrend(toBmf(input)));
    expect(await readFile(trend.benchmarkAction, 'utf8')).toBe(serializeTrend(toBenchmarkAction(input)));
    expect(Object.keys(toBmf(input))).toHaveLength(4 * (INITS.length - 1) + 4); // `none` reaps nothing: only its fork failure
  });

  it('merges what it has when a shard is missing, and says PARTIAL with which', async () => {
    const root = await tmp();
    const shards = await Promise.all([3, 1].map((i) => writeShard(root, { index: i, count: 3 })));
    const merged = await mergeQuietly(shards, path.join(root, 'merged'));
    expect(merged.code).toBe(0);
    expect(merged.json.partial).toBe(true);
    const dir = path.join(root, 'merged');
    expect(merged.lines[0]).toMatch(
      /^reapbench: merged 2 of 3 shards \(matrix [0-9a-f]{16}\) into \S+\/merged: PARTIAL \(shard 2 missing\)$/,
    );
    const { set } = await mergeFolders(shards, path.join(root, 'merged-again'));
    expect(set.missing).toEqual([2]);
    const report = await readFile(path.join(dir, 'report.md'), 'utf8');
    expect(report).toContain('> **PARTIAL**: this run did not finish (shard 2 of 3 missing from the merge');
    expect(report).toContain('missing: 2');
    expect(await readFile(path.join(dir, 'scenarios.md'), 'utf8')).toContain('> **PARTIAL**');
    expect(JSON.parse(await readFile(path.join(dir, 'env.json'), 'utf8')).merged).toMatchObject({ shards: [1, 3], missing: [2] });
    expect(await readFile(path.join(dir, 'events.ndjson'), 'utf8')).toBe(
      (await readFile(path.join(shards[1]!, 'events.ndjson'), 'utf8')) + (await readFile(path.join(shards[0]!, 'events.ndjson'), 'utf8')),
    );
  });

  it('says PARTIAL, and why, when a shard it joined was itself interrupted, missing shards or not', async () => {
    const root = await tmp();
    const cut = 'interrupted by SIGINT after 1 of 3 runs';
    const shards = [
      await writeShard(root, { index: 1, count: 3 }),
      await writeShard(root, { index: 2, count: 3 }, { partialReason: cut }),
      await writeShard(root, { index: 3, count: 3 }),
    ];
    const merged = await mergeQuietly(shards, path.join(root, 'merged'));
    expect(merged.code).toBe(0);
    expect(merged.json.partial).toBe(true);
    expect(merged.lines[0]).toMatch(
      /^reapbench: merged 3 of 3 shards \(matrix [0-9a-f]{16}\) into \S+\/merged: PARTIAL \(shard 2 cut short: interrupted by SIGINT after 1 of 3 runs\)$/,
    );
    expect(await readFile(path.join(root, 'merged', 'report.md'), 'utf8')).toContain(`shard 2: ${cut}`);

    const two = await mergeQuietly([shards[1]!, shards[2]!], path.join(root, 'merged-2'));
    expect(two.lines[0]).toMatch(/: PARTIAL \(shard 1 missing; shard 2 cut short: interrupted by SIGINT after 1 of 3 runs\)$/);
  });

  it('names every reason in the merge line: missing shards, a shard that had not finished, one cut short in its scenarios', () => {
    const set = { count: 5, fingerprint: '0123456789abcdef', version: '0.1.0', missing: [1, 2], empty: [5] };
    const folder = (index: number, load: string | undefined, scenarios: string | true | undefined): ShardFolder =>
      ({
        shard: { index },
        records: {
          load: { runs: [], ...(load !== undefined ? { partialReason: load } : {}) },
          scenarios: { results: [], meta: { ...SCENARIO_META, ...(scenarios !== undefined ? { partial: scenarios } : {}) } },
        },
      }) as unknown as ShardFolder;
    // Shard 3's load finished, its scenarios were interrupted; shard 4 was saved before it finished.
    const cutShort = cutShortShards([folder(3, undefined, 'interrupted by SIGTERM after 2 of 4 runs'), folder(4, undefined, true)]);
    expect(cutShort).toEqual([
      { index: 3, reason: 'interrupted by SIGTERM after 2 of 4 runs' },
      { index: 4, reason: true },
    ]);
    expect(mergeLine({ dir: '/tmp/x', set, cutShort })).toBe(
      'reapbench: merged 2 of 5 shards (matrix 0123456789abcdef; shard 5 had nothing to run) into /tmp/x: PARTIAL (shards 1, 2 missing; shard 3 cut short: interrupted by SIGTERM after 2 of 4 runs; shard 4 had not finished)',
    );
    expect(mergeLine({ dir: '/tmp/x', set: { ...set, missing: [], empty: [] }, cutShort: [] })).toBe(
      'reapbench: merged 5 of 5 shards (matrix 0123456789abcdef) into /tmp/x',
    );
  });

  it('more shards than units: the shards that had nothing to run are empty, not missing, and the merge is complete', async () => {
    // 10 units in 12 shards: shards 11 and 12 have nothing to run and write no folder.
    const root = await tmp();
    const count = 12;
    expect(sliceMatrix(MATRIX, { index: 11, count }).totalUnits).toBe(10);
    const shards = await Promise.all(Array.from({ length: 10 }, (_, k) => writeShard(root, { index: k + 1, count })));
    const whole = await writeShard(root, WHOLE, { name: 'whole' });
    const out = quiet();
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await runMerge(shards, { ci: true, p50Factor: '2', verbose: false, out: path.join(root, 'merged') }, out)).toBe(0);
      const line = JSON.parse(String(write.mock.calls.at(-1)![0])) as { partial: boolean };
      expect(line.partial).toBe(false);
    } finally {
      write.mockRestore();
    }
    const dir = path.join(root, 'merged');
    expect(out.lines[0]).toMatch(/^reapbench: merged 10 of 12 shards \(matrix [0-9a-f]{16}; shards 11, 12 had nothing to run\) into /);
    const report = await readFile(path.join(dir, 'report.md'), 'utf8');
    expect(report).not.toContain('PARTIAL');
    expect(report).toMatch(/\| shards \| merged 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 of 12 \(matrix [0-9a-f]{16}\); nothing to run: 11, 12 \|/);
    const scenariosMd = await readFile(path.join(dir, 'scenarios.md'), 'utf8');
    expect(scenariosMd).not.toContain('PARTIAL');
    expect(scenariosMd).toContain('; shards 11, 12 had nothing to run');
    expect(JSON.parse(await readFile(path.join(dir, 'env.json'), 'utf8')).merged).toMatchObject({ missing: [], empty: [11, 12] });
    expect(await readFile(path.join(dir, 'summary.csv'), 'utf8')).toBe(await readFile(path.join(whole, 'summary.csv'), 'utf8'));

    // A shard that had something to run is still missing when absent: PARTIAL, naming it only.
    const { set } = await mergeFolders(
      shards.filter((_, k) => k !== 3),
      path.join(root, 'merged-partial'),
    );
    expect(set).toMatchObject({ missing: [4], empty: [11, 12] });
    const partial = await readFile(path.join(root, 'merged-partial', 'report.md'), 'utf8');
    expect(partial).toContain('> **PARTIAL**: this run did not finish (shard 4 of 12 missing from the merge');
    expect(partial).toContain('missing: 4; nothing to run: 11, 12');
  });

  it('shards that do not record their matrix’s units: every absent shard counts as missing', async () => {
    const root = await tmp();
    const dir = await writeShard(root, { index: 1, count: 12 });
    const env = JSON.parse(await readFile(path.join(dir, 'env.json'), 'utf8')) as EnvironmentRecord;
    delete env.shard!.units;
    await writeFile(path.join(dir, 'env.json'), JSON.stringify(env));
    const { set } = await mergeFolders([dir], path.join(root, 'merged'));
    expect(set).toMatchObject({ missing: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], empty: [] });
  });

  it('refuses, in one line with exit 2, what does not belong together', async () => {
    const root = await tmp();
    const s1 = await writeShard(root, { index: 1, count: 3 });
    const s2 = await writeShard(root, { index: 2, count: 3 });
    const out = path.join(root, 'merged');
    // Another matrix: the same split of a matrix with one more repetition.
    const other = path.join(root, 'other');
    await cp(s2, other, { recursive: true });
    const otherEnv = {
      ...envOf({ index: 2, count: 3 }),
      shard: shardRecord({ ...MATRIX, repetitions: 3 }, { index: 2, count: 3 }, '0.1.0'),
    };
    await writeFile(path.join(other, 'env.json'), JSON.stringify(otherEnv));
    expect(await refusal(mergeFolders([s1, other], out))).toMatch(/they are shards of different matrices \(fingerprint [0-9a-f]{16} vs /);
    // Another version.
    const newer = await writeShard(root, { index: 2, count: 3 }, { version: '0.2.0', name: 'newer' });
    expect(await refusal(mergeFolders([s1, newer], out))).toBe(
      `Cannot merge ${newer} (reapbench 0.2.0) with ${s1} (reapbench 0.1.0): shards must be run by the same version`,
    );
    // The same shard twice: a copy, the same folder, the same folder through results/latest.
    const copy = path.join(root, 'copy');
    await cp(s1, copy, { recursive: true });
    expect(await refusal(mergeFolders([s1, s2, copy], out))).toBe(`Cannot merge shard 1/3 twice (${s1} and ${copy}): pass each shard once`);
    await symlink(path.basename(s1), path.join(root, 'latest'));
    expect(await refusal(mergeFolders([s1, path.join(root, 'latest')], out))).toBe(
      `Cannot merge the same folder twice (${s1} and ${path.join(root, 'latest')}): pass each shard once`,
    );
    // Not results folders.
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    expect(await refusal(mergeFolders([s1, empty], out))).toBe(
      `Cannot merge ${empty}: not a results folder (no env.json); pass the folders reapbench run wrote`,
    );
    expect(await refusal(mergeFolders([path.join(root, 'nowhere')], out))).toMatch(/not a results folder \(no such folder\)/);
    const file = path.join(root, 'a-file');
    await writeFile(file, 'x');
    expect(await refusal(mergeFolders([file], out))).toBe(
      `Cannot merge ${file}: not a results folder (a file, not a folder); pass the folders reapbench run wrote`,
    );
    await rm(file);
    // The output may not be an input, nor a folder with files.
    expect(await refusal(mergeFolders([s1, s2], s2))).toMatch(/it is or holds one of the folders merged/);
    expect(await refusal(mergeFolders([s1], root))).toMatch(/it is or holds one of the folders merged/);
    expect(await refusal(mergeFolders([s1], empty.replace('empty', 'copy')))).toMatch(/exists and is not an empty folder/);
    // Nothing was written by a refused merge.
    expect((await readdir(root)).sort()).toEqual(['copy', 'empty', 'latest', 'newer', 'other', 'shard-1-of-3', 'shard-2-of-3']);
  });

  it('a merged folder is not a shard: merging it again is refused', async () => {
    const root = await tmp();
    const s1 = await writeShard(root, { index: 1, count: 2 });
    const { dir } = await mergeFolders([s1], path.join(root, 'merged'));
    expect(await refusal(mergeFolders([dir], path.join(root, 'again')))).toBe(
      `Cannot merge ${dir}: it is a merged folder; merge the shards it was made from`,
    );
  });

  it('applies --baseline to the merged summary with run’s exit codes, and prints the CI line', async () => {
    const root = await tmp();
    const shards = await Promise.all([1, 2, 3].map((i) => writeShard(root, { index: i, count: 3 })));
    const whole = await writeShard(root, WHOLE, { name: 'whole' });
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stepSummary = path.join(root, 'step-summary.md');
    vi.stubEnv('GITHUB_STEP_SUMMARY', stepSummary);
    try {
      const same = quiet();
      const ci = { ci: true, p50Factor: '2', verbose: false };
      expect(await runMerge(shards, { ...ci, out: path.join(root, 'm1'), baseline: path.join(whole, 'summary.csv') }, same)).toBe(0);
      const line = JSON.parse(String(write.mock.calls.at(-1)![0])) as { results: string; partial: boolean; regressions: unknown[] };
      expect(line).toMatchObject({ results: path.join(root, 'm1'), partial: false, regressions: [] });
      expect(same.lines[0]).toMatch(/^reapbench: merged 3 of 3 shards \(matrix [0-9a-f]{16}\) into /);
      // The step summary of the merged folder, by run's writer: report.md's sections, then scenarios.md.
      const step = await readFile(stepSummary, 'utf8');
      expect(step).toContain('| shards | merged 1, 2, 3 of 3');
      expect(step.endsWith(await readFile(path.join(root, 'm1', 'scenarios.md'), 'utf8'))).toBe(true);

      // A baseline four times faster everywhere: the merged p50s are regressions (exit 1).
      const fast = (await readFile(path.join(whole, 'summary.csv'), 'utf8')).replace(
        /^(tini|dumb-init|docker-init|catatonit|ts-reaper)(,orphans,\d+,\d+,5,3,\d+,\d+,\d+,\d+,[^,]*,[^,]*,[^,]*,[^,]*,)([\d.]+)/gm,
        (_m, init: string, mid: string, p50: string) => `${init}${mid}${Number(p50) / 4}`,
      );
      const baseline = path.join(root, 'fast.csv');
      await writeFile(baseline, fast);
      const slow = quiet();
      expect(await runMerge(shards, { ...ci, out: path.join(root, 'm2'), baseline }, slow)).toBe(1);
      expect(slow.lines.at(-1)).toMatch(/^reapbench: \d+ regressions against /);
    } finally {
      write.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});
