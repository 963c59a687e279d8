/**
 * The results folder: `results/<UTC timestamp>/` with every output file, rewritten from one view
 * of the results (export/view.ts) after each run so that a later failure or Ctrl-C loses nothing, and `results/latest` pointing at the
 * newest folder. Files are written to a temporary name and renamed, so a reader (or a crash)
 * never sees half a file.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream, type Stats } from 'node:fs';
import { access, lstat, mkdir, readdir, rename, rm, stat, statfs, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { ReapbenchError } from '../errors.js';
import { renderSvg, type ChartSpec } from '../export/charts.js';
import { renderMarkdown } from '../export/markdown.js';
import { serializeNdjson, tagNdjsonLine } from '../export/ndjson.js';
import { RECORDS_FILE, serializeRecords } from '../export/records-json.js';
import { serializeRunsCsv } from '../export/runs-csv.js';
import { serializeScenariosCsv } from '../export/scenarios-csv.js';
import { renderScenariosMarkdown } from '../export/scenarios-md.js';
import { serializeSummaryCsv } from '../export/summary-csv.js';
import { serializeTrend, toBenchmarkAction, toBmf } from '../export/trend.js';
import { reportInput, type ResultsView } from '../export/view.js';

/** events.ndjson larger than this (bytes, 8 MiB) is stored gzip-compressed as events.ndjson.gz. */
export const EVENTS_GZIP_THRESHOLD_BYTES = 8 * 1024 * 1024;

/** What {@link writeAll} writes besides the view: where events.ndjson comes from. */
export interface WriteOptions {
  /**
   * Folder of the load generator's raw files (`<run>.ndjson`, or `<run>.ndjson.partial` for an
   * interrupted run): their lines go into events.ndjson, each tagged `"run":"<run>"`.
   */
  rawDir?: string;
  /** Further events to append to events.ndjson, one JSON line each (after the raw files). */
  events?: Iterable<unknown>;
  /** Point `<dir>/../latest` at `dir` (default true); a merge leaves the link as it is, as it leaves its inputs. */
  latest?: boolean;
  /** Trend files to write from the load summary (export/trend.ts); only the final save passes them. */
  trend?: TrendFiles;
}

/**
 * Where the trend files go (`--export-bmf`, `--export-benchmark-action`), absolute paths checked
 * by {@link checkTrendFiles}; null: not asked for.
 */
export interface TrendFiles {
  /** Bencher Metric Format JSON. */
  readonly bmf: string | null;
  /** github-action-benchmark `customSmallerIsBetter` JSON. */
  readonly benchmarkAction: string | null;
}

/** No trend file asked for. */
export const NO_TREND_FILES: TrendFiles = Object.freeze({ bmf: null, benchmarkAction: null });

/** What {@link writeAll} wrote (absolute paths) and what it could not do (one line each). */
export interface WriteResult {
  files: string[];
  warnings: string[];
  /**
   * The view as written: the one the step summary and the terminal read, so that they show what
   * the files hold (its charts are those drawn; one that could not be drawn is a warning).
   */
  view: ResultsView;
}

/** Folder name for a run started at `date`: its UTC time without colons, `2026-11-29T11-34-52Z`. */
export function timestampName(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

/**
 * Kernel pseudo-filesystems, by the `f_type` magic that statfs(2) reports (the kernel's
 * `include/uapi/linux/magic.h`). Nothing can be stored there, and Node's recursive mkdir does
 * not fail cleanly on some of them (under /proc it spins).
 */
const PSEUDO_FILESYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0xcafe4a11, 'bpf'],
  [0x1cd1, 'devpts'],
]);

/**
 * The name of the pseudo-filesystem that `abs` is (or would be created) on, judged from its
 * nearest existing ancestor; null for an ordinary filesystem or when nothing can be read.
 */
export async function pseudoFilesystemOf(abs: string): Promise<string | null> {
  let p = abs;
  for (;;) {
    try {
      return PSEUDO_FILESYSTEMS.get((await statfs(p)).type) ?? null;
    } catch (err) {
      const parent = path.dirname(p);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') return null;
      if (parent === p) return null;
      p = parent;
    }
  }
}

/** Where a results root stands before anything is created ({@link checkResultsRoot}). */
export interface ResultsRootCheck {
  /** The root, absolute. */
  abs: string;
  /** The outermost folder of `abs` that does not exist yet (what creating it makes), or null when `abs` exists. */
  missingFrom: string | null;
}

/**
 * Check, creating nothing, that results can be written under `root` (`--out`): it is not on a
 * kernel pseudo-filesystem, it (or its nearest existing ancestor) is a folder, not a file, and
 * that folder is writable. Call before anything starts; create with {@link prepareResultsDir}
 * once there is something to write (an engine that answers).
 * @throws ReapbenchError (exit code 2, a bad `--out`) with one line saying what is wrong.
 */
export async function checkResultsRoot(root: string): Promise<ResultsRootCheck> {
  if (root.trim() === '') throw new ReapbenchError('Expected `--out` to name a folder, got an empty string', { exitCode: 2 });
  const abs = path.resolve(root);
  const pseudo = await pseudoFilesystemOf(abs);
  if (pseudo) {
    throw new ReapbenchError(
      `Cannot use results folder ${abs}: it is on ${pseudo}, a kernel pseudo-filesystem that holds no files; choose another with --out`,
      { exitCode: 2 },
    );
  }
  let missingFrom: string | null = null;
  for (let p = abs; ; p = path.dirname(p)) {
    const s = await lstatOrNull(p);
    if (s === null) {
      missingFrom = p;
      if (path.dirname(p) === p) break;
      continue;
    }
    const dir = s.isDirectory() || (s.isSymbolicLink() && (await stat(p).catch(() => null))?.isDirectory() === true);
    if (!dir) {
      const where = p === abs ? `${abs} is a file, not a folder` : `${p} (in ${abs}) is a file, not a folder`;
      throw new ReapbenchError(`Cannot use results folder ${abs}: ${where}; choose another with --out`, { exitCode: 2 });
    }
    try {
      await access(p, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new ReapbenchError(
        `Cannot ${p === abs ? 'write to' : 'create'} results folder ${abs}: ${p} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}); choose another with --out, or fix its permissions`,
        { exitCode: 2, cause: err },
      );
    }
    break;
  }
  return { abs, missingFrom };
}

/**
 * Check, creating nothing, that the file `option` names can be written: not empty, not on a
 * kernel pseudo-filesystem, not a folder, writable if it exists, and otherwise its nearest
 * existing ancestor a writable folder (the missing folders are created when it is written).
 * Called before anything runs, so that a bad path costs no measurement.
 * @param option the option as typed, e.g. `--export-bmf`.
 * @returns the file, absolute.
 * @throws ReapbenchError (exit code 2) with one line saying what is wrong and naming `option`.
 */
export async function checkExportFile(option: string, file: string): Promise<string> {
  if (file.trim() === '') throw new ReapbenchError(`Expected \`${option}\` to name a file, got an empty string`, { exitCode: 2 });
  const abs = path.resolve(file);
  const cannot = (why: string, hint: string, cause?: unknown): ReapbenchError =>
    new ReapbenchError(`Cannot write ${option} file ${abs}: ${why}; ${hint}`, { exitCode: 2, cause });
  const pseudo = await pseudoFilesystemOf(abs);
  if (pseudo) throw cannot(`it is on ${pseudo}, a kernel pseudo-filesystem that holds no files`, `choose another with ${option}`);
  for (let p = abs; ; p = path.dirname(p)) {
    const s = await lstatOrNull(p);
    if (s === null) {
      if (path.dirname(p) === p) break;
      continue;
    }
    const dir = s.isDirectory() || (s.isSymbolicLink() && (await stat(p).catch(() => null))?.isDirectory() === true);
    if (p === abs && dir) throw cannot('it is a folder', `name a file with ${option}`);
    if (p !== abs && !dir) throw cannot(`${p} is a file, not a folder`, `choose another with ${option}`);
    try {
      await access(p, p === abs ? constants.W_OK : constants.W_OK | constants.X_OK);
    } catch (err) {
      throw cannot(
        `${p} is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        `choose another with ${option}, or fix its permissions`,
        err,
      );
    }
    break;
  }
  return abs;
}

/**
 * The trend files of `--export-bmf` and `--export-benchmark-action` (either may be absent), each
 * checked by {@link checkExportFile}.
 * @returns their absolute paths, null for an option not given.
 * @throws ReapbenchError (exit code 2), one line: a path {@link checkExportFile} refuses, or both
 *   options naming the same file (one would overwrite the other).
 */
export async function checkTrendFiles(o: {
  exportBmf?: string | undefined;
  exportBenchmarkAction?: string | undefined;
}): Promise<TrendFiles> {
  const bmf = o.exportBmf === undefined ? null : await checkExportFile('--export-bmf', o.exportBmf);
  const benchmarkAction =
    o.exportBenchmarkAction === undefined ? null : await checkExportFile('--export-benchmark-action', o.exportBenchmarkAction);
  if (bmf !== null && bmf === benchmarkAction)
    throw new ReapbenchError(`Cannot write --export-bmf and --export-benchmark-action to the same file ${bmf}; name two files`, {
      exitCode: 2,
    });
  return Object.freeze({ bmf, benchmarkAction });
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await lstat(p);
  } catch {
    return null;
  }
}

/**
 * Create this run's folder `<root>/<UTC timestamp>/` (suffixed `-2`, `-3`… if it exists), and
 * `root` with it when missing, after checking it as {@link checkResultsRoot} does.
 * @returns the absolute path of the new folder.
 * @throws ReapbenchError (exit code 2) with a one-line message when `root` cannot be created or written.
 */
export async function prepareResultsDir(root: string, now: Date = new Date()): Promise<string> {
  const { abs } = await checkResultsRoot(root);
  const fail = (what: string, err: unknown): ReapbenchError =>
    new ReapbenchError(
      `Cannot ${what} results folder ${abs} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): choose another with --out, or fix its permissions`,
      { cause: err, exitCode: 2 },
    );
  try {
    await mkdir(abs, { recursive: true });
  } catch (err) {
    throw fail('create', err);
  }
  const probe = path.join(abs, `.reapbench-write-test-${process.pid}`);
  try {
    await writeFile(probe, 'ok\n');
    await unlink(probe);
  } catch (err) {
    throw fail('write to', err);
  }
  const base = timestampName(now);
  for (let n = 1; n <= 100; n++) {
    const dir = path.join(abs, n === 1 ? base : `${base}-${n}`);
    try {
      await mkdir(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw fail('create a folder in', err);
    }
  }
  throw new ReapbenchError(`Cannot create a results folder in ${abs}: ${base} and 99 variants exist; choose another with --out`, {
    exitCode: 2,
  });
}

/**
 * Write (or rewrite) every result file of `view` into `dir`, each from its serializer in
 * export/: env.json (the load part's environment, else the scenario part's), records.json (every
 * record in full, what `reapbench merge` reads back); for the load part runs.csv, summary.csv, charts/*.svg, events.ndjson (or
 * events.ndjson.gz above {@link EVENTS_GZIP_THRESHOLD_BYTES}; only when `options` names a source)
 * and report.md; for the scenario part scenarios.md and scenarios.csv; then point
 * `<dir>/../latest` at `dir`. Safe to call after every run. CSV and JSON files come first; a
 * chart or the `latest` link that cannot be written is a warning, not an error. With
 * `options.trend`, the trend files (export/trend.ts) are written last, from the load summary as
 * written (`{}` and `[]` without a load part, with a warning), their missing folders created.
 * @throws the file system's error when a file cannot be written at all.
 */
export async function writeAll(dir: string, view: ResultsView, options: WriteOptions = {}): Promise<WriteResult> {
  const files: string[] = [];
  const warnings: string[] = [];
  const put = async (name: string, text: string): Promise<void> => {
    const file = path.join(dir, name);
    await atomicWrite(file, text);
    files.push(file);
  };
  let written = view;
  const env = view.load ? view.load.env : (view.scenarios?.env ?? null);
  if (env) await put('env.json', `${JSON.stringify(env, null, 2)}\n`);
  if (view.load || view.scenarios) await put(RECORDS_FILE, serializeRecords(view));
  if (view.load) {
    const load = view.load;
    await mkdir(path.join(dir, 'charts'), { recursive: true });
    await put('runs.csv', serializeRunsCsv(load.runs));
    await put('summary.csv', serializeSummaryCsv(load.summary));
    const drawn: ChartSpec[] = [];
    for (const c of load.charts) {
      try {
        await put(path.join('charts', c.file), await cachedSvg(c.spec));
        drawn.push(c);
      } catch (err) {
        warnings.push(`chart ${c.file} not written: ${(err as Error).message.split('\n')[0]}`);
      }
    }
    await removeStale(path.join(dir, 'charts'), new Set(drawn.map((c) => c.file)), '.svg');
    if (options.rawDir !== undefined || options.events !== undefined) {
      files.push(await writeEvents(dir, options.rawDir, options.events));
    }
    written = { ...view, load: { ...load, charts: drawn } };
    await put('report.md', renderMarkdown(reportInput(written.load!)));
  }
  if (view.scenarios) {
    await put('scenarios.md', renderScenariosMarkdown(view.scenarios.results, view.scenarios.meta));
    await put('scenarios.csv', serializeScenariosCsv(view.scenarios.results));
  }
  if (options.trend) files.push(...(await writeTrend(options.trend, view, warnings)));
  if (options.latest !== false)
    try {
      await pointLatest(dir);
    } catch (err) {
      warnings.push(`results/latest not updated: ${(err as Error).message.split('\n')[0]}`);
    }
  return { files, warnings, view: written };
}

/**
 * Write the trend files asked for from the view's load summary (an empty one without a load
 * part, said in `warnings`), creating their folders. Returns the paths written.
 * @throws the file system's error when a file cannot be written.
 */
async function writeTrend(trend: TrendFiles, view: ResultsView, warnings: string[]): Promise<string[]> {
  const input = { summary: view.load?.summary ?? [], runs: view.load?.runs ?? [] };
  const wanted = [
    { option: '--export-bmf', file: trend.bmf, text: () => serializeTrend(toBmf(input)) },
    { option: '--export-benchmark-action', file: trend.benchmarkAction, text: () => serializeTrend(toBenchmarkAction(input)) },
  ];
  const written: string[] = [];
  for (const w of wanted) {
    if (w.file === null) continue;
    // The trend files hold the load matrix only; a scenario-only run has nothing to track there.
    if (!view.load) warnings.push(`${w.option}: no load runs in these results; ${w.file} holds no benchmark`);
    await mkdir(path.dirname(w.file), { recursive: true });
    await atomicWrite(w.file, w.text());
    written.push(w.file);
  }
  return written;
}

/**
 * Point `<parent of dir>/latest` at `dir` (a relative symlink), replacing any previous link in
 * one rename so that `latest` always exists and always resolves.
 */
export async function pointLatest(dir: string): Promise<void> {
  const root = path.dirname(path.resolve(dir));
  const tmp = path.join(root, `.latest-${process.pid}-${Date.now()}`);
  await symlink(path.basename(dir), tmp);
  try {
    await rename(tmp, path.join(root, 'latest'));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Write `text` to `file` through a temporary file and a rename, so readers never see half a file. */
export async function atomicWrite(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (err) {
    // A full disk fails the write half-way: no temporary file is left behind.
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Remove files with `ext` in `folder` that are not in `keep`. */
async function removeStale(folder: string, keep: Set<string>, ext: string): Promise<void> {
  for (const f of await readdir(folder)) {
    if (f.endsWith(ext) && !keep.has(f)) await rm(path.join(folder, f), { force: true });
  }
}

/** Rendered SVGs by spec hash: after each run only the charts whose data changed are drawn again. */
const svgCache = new Map<string, string>();
const SVG_CACHE_MAX = 256;

async function cachedSvg(spec: Parameters<typeof renderSvg>[0]): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify(spec)).digest('hex');
  const hit = svgCache.get(key);
  if (hit !== undefined) return hit;
  const svg = await renderSvg(spec);
  if (svgCache.size >= SVG_CACHE_MAX) svgCache.delete(svgCache.keys().next().value!);
  svgCache.set(key, svg);
  return svg;
}

/**
 * Stream the raw files (sorted by name, tagged with their run) and the extra events into
 * events.ndjson; gzip it into events.ndjson.gz when it is larger than the threshold. Returns the
 * path written; the other of the two names is removed.
 */
async function writeEvents(dir: string, rawDir: string | undefined, events: Iterable<unknown> | undefined): Promise<string> {
  const plain = path.join(dir, 'events.ndjson');
  const gz = `${plain}.gz`;
  const tmp = `${plain}.tmp-${process.pid}`;
  const gzTmp = `${gz}.tmp-${process.pid}`;
  try {
    await pipeline(Readable.from(eventChunks(rawDir, events)), createWriteStream(tmp));
    const size = (await stat(tmp)).size;
    if (size <= EVENTS_GZIP_THRESHOLD_BYTES) {
      await rename(tmp, plain);
      await rm(gz, { force: true });
      return plain;
    }
    await pipeline(createReadStream(tmp), createGzip(), createWriteStream(gzTmp));
    await rename(gzTmp, gz);
    await rm(tmp, { force: true });
    await rm(plain, { force: true });
    return gz;
  } catch (err) {
    await rm(tmp, { force: true });
    await rm(gzTmp, { force: true });
    throw err;
  }
}

/** events.ndjson content in chunks of about 1000 lines. */
async function* eventChunks(rawDir: string | undefined, events: Iterable<unknown> | undefined): AsyncGenerator<string> {
  if (rawDir !== undefined) {
    for (const { file, run } of await rawFiles(rawDir)) {
      const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      let chunk: string[] = [];
      for await (const line of lines) {
        const tagged = tagNdjsonLine(run, line);
        if (tagged === null) continue;
        chunk.push(tagged);
        if (chunk.length >= 1000) {
          yield `${chunk.join('\n')}\n`;
          chunk = [];
        }
      }
      if (chunk.length) yield `${chunk.join('\n')}\n`;
    }
  }
  if (events !== undefined) {
    let chunk: unknown[] = [];
    for (const e of events) {
      chunk.push(e);
      if (chunk.length >= 1000) {
        yield serializeNdjson(chunk);
        chunk = [];
      }
    }
    if (chunk.length) yield serializeNdjson(chunk);
  }
}

/** The raw files of a folder, by name; a `.partial` file only when its final file is absent. */
async function rawFiles(rawDir: string): Promise<{ file: string; run: string }[]> {
  let names: string[];
  try {
    names = await readdir(rawDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const set = new Set(names);
  return names
    .filter((n) => n.endsWith('.ndjson') || (n.endsWith('.ndjson.partial') && !set.has(n.slice(0, -'.partial'.length))))
    .sort()
    .map((n) => ({ file: path.join(rawDir, n), run: n.replace(/\.ndjson(\.partial)?$/, '') }));
}
