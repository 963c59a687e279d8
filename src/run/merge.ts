/**
 * `reapbench merge <dir>… --out <dir>`: join the results folders of the shards of one matrix
 * (`run --shard i/n`, shard.ts) into one results folder, as if one run had measured them all.
 *
 * The records come back in full from each folder's records.json (export/records-json.ts); the
 * merged folder is then written by the one writer of every run (results-dir.ts `writeAll`, from
 * one view built by export/view.ts `buildView`), so the summary, report.md, the charts and
 * scenarios.md are recomputed from the joined runs and cannot differ from a single run's. The
 * inputs are only read; the merged folder must be new (or empty) and is not linked as `latest`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, realpath, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { usageError } from '../errors.js';
import { parseRecords, RECORDS_FILE, type RecordsFile } from '../export/records-json.js';
import { plural } from '../export/format.js';
import type { ReportMeta } from '../export/scenarios-md.js';
import { buildView, type ResultsView } from '../export/view.js';
import type { EnvironmentRecord, ShardRecord } from '../model/records.js';
import { createOutput, type RunOutput } from '../terminal/output.js';
import { readBaseline } from './baseline.js';
import { applyGate, finishReport, gateFails, type FinishRequest } from './finish.js';
import { checkNumber } from './matrix.js';
import { RUN_DEFAULTS, type ReportCliOptions } from './options.js';
import { checkResultsRoot, checkTrendFiles, NO_TREND_FILES, writeAll, type TrendFiles } from './results-dir.js';
import { emptyShards } from './shard.js';

/**
 * Options of `reapbench merge` as commander delivers them (strings until validated): those of
 * `run` that say where the results go and how they are judged; `out` is the merged folder
 * (created; must not exist or be empty).
 */
export type MergeCliOptions = ReportCliOptions;

/** One input folder, read and checked to be a shard's results folder. */
export interface ShardFolder {
  /** The folder as given on the command line (for messages). */
  given: string;
  /** Its real path (a `latest` link resolved). */
  dir: string;
  /** Its env.json. */
  env: EnvironmentRecord;
  /** Its env.json's `shard`. */
  shard: ShardRecord;
  /** Its records.json. */
  records: RecordsFile;
  /** Its events file (`events.ndjson` or `events.ndjson.gz`), or null when it has none. */
  events: string | null;
}

/**
 * Read one input folder (a `latest` link is followed): its env.json, records.json, and where its
 * events are.
 * @throws ReapbenchError (exit 2), one line: not a folder, no env.json or records.json (not a
 *   results folder, or one of `run --image` or of an older reapbench), a merged folder, a folder
 *   without a `shard` in env.json.
 */
export async function readShardFolder(given: string): Promise<ShardFolder> {
  let dir: string;
  try {
    dir = await realpath(given);
  } catch {
    throw usageError(`Cannot merge ${given}: not a results folder (no such folder); pass the folders reapbench run wrote`);
  }
  // A file that exists is not missing: say what it is not.
  if (!(await stat(dir)).isDirectory())
    throw usageError(`Cannot merge ${given}: not a results folder (a file, not a folder); pass the folders reapbench run wrote`);
  const read = async (name: string): Promise<string | null> => readFile(path.join(dir, name), 'utf8').catch(() => null);
  const envText = await read('env.json');
  if (envText === null) throw usageError(`Cannot merge ${given}: not a results folder (no env.json); pass the folders reapbench run wrote`);
  let env: EnvironmentRecord;
  try {
    env = JSON.parse(envText) as EnvironmentRecord;
  } catch (err) {
    throw usageError(`Cannot merge ${given}: its env.json is not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  if (env.merged) throw usageError(`Cannot merge ${given}: it is a merged folder; merge the shards it was made from`);
  if (!env.shard)
    throw usageError(
      `Cannot merge ${given}: its env.json records no shard (run --image, or an older reapbench); rerun it with this version`,
    );
  const recordsText = await read(RECORDS_FILE);
  if (recordsText === null)
    throw usageError(`Cannot merge ${given}: not a complete results folder (no ${RECORDS_FILE}); rerun the shard with this version`);
  let records: RecordsFile;
  try {
    records = parseRecords(recordsText);
  } catch (err) {
    throw usageError(`Cannot merge ${given}: its ${RECORDS_FILE} is unreadable: ${(err as Error).message}`);
  }
  const names = new Set(await readdir(dir));
  const events = names.has('events.ndjson.gz') ? 'events.ndjson.gz' : names.has('events.ndjson') ? 'events.ndjson' : null;
  return { given, dir, env, shard: env.shard, records, events: events && path.join(dir, events) };
}

/** What the shards of a merge have in common, and which are missing. */
export interface ShardSet {
  /** Shards the matrix was split into (count). */
  count: number;
  /** The matrix's fingerprint. */
  fingerprint: string;
  /** The reapbench version that wrote them. */
  version: string;
  /** Shard numbers absent that had something to run, ascending: the merge is PARTIAL without them. */
  missing: number[];
  /**
   * Shard numbers that had nothing to run (numbered above the matrix's units, shard.ts
   * `emptyShards`), ascending: absent by design, so not missing. Empty when the shards do not
   * record their matrix's units.
   */
  empty: number[];
}

/**
 * Check that `folders` are distinct shards of one matrix, written by one reapbench version, and
 * sort them by shard number (in place). Missing shards are allowed (reported, not refused); an
 * absent shard that had nothing to run (`run --shard` writes no folder for it) is empty, not
 * missing.
 * @throws ReapbenchError (exit 2), one line: no folder, different versions, different matrices
 *   (fingerprints), different shard counts, the same shard (or folder) twice.
 */
export function checkShards(folders: ShardFolder[]): ShardSet {
  const first = folders[0];
  if (!first) throw usageError('Expected at least one results folder to merge');
  const version = first.env.reapbench_version;
  const seen = new Map<number, ShardFolder>();
  for (const f of folders) {
    // The version first: the fingerprint includes it, and "another version" is the clearer reason.
    if (f.env.reapbench_version !== version)
      throw usageError(
        `Cannot merge ${f.given} (reapbench ${f.env.reapbench_version}) with ${first.given} (reapbench ${version}): shards must be run by the same version`,
      );
    if (f.shard.fingerprint !== first.shard.fingerprint)
      throw usageError(
        `Cannot merge ${f.given} with ${first.given}: they are shards of different matrices (fingerprint ${f.shard.fingerprint} vs ${first.shard.fingerprint}); run every shard with the same options`,
      );
    if (f.shard.count !== first.shard.count)
      throw usageError(
        `Cannot merge ${f.given} (shard ${f.shard.index}/${f.shard.count}) with ${first.given} (shard ${first.shard.index}/${first.shard.count}): the matrix was split in different ways`,
      );
    const twin = seen.get(f.shard.index);
    if (twin)
      throw usageError(`Cannot merge shard ${f.shard.index}/${f.shard.count} twice (${twin.given} and ${f.given}): pass each shard once`);
    seen.set(f.shard.index, f);
  }
  folders.sort((a, b) => a.shard.index - b.shard.index);
  // The units are part of the fingerprint's matrix, so every shard records the same count.
  const units = first.shard.units;
  const empty = typeof units === 'number' ? emptyShards(first.shard.count, units).filter((i) => !seen.has(i)) : [];
  const missing: number[] = [];
  for (let i = 1; i <= first.shard.count; i++) if (!seen.has(i) && !empty.includes(i)) missing.push(i);
  return { count: first.shard.count, fingerprint: first.shard.fingerprint, version, missing, empty };
}

/**
 * Why the merged results are incomplete, one line, or undefined when they are not: the missing
 * shards, and any shard that was itself cut short. Pure.
 */
function partialReason(set: ShardSet, reasons: { index: number; reason: string | true | undefined }[]): string | undefined {
  const parts: string[] = [];
  if (set.missing.length > 0)
    parts.push(
      `${set.missing.length === 1 ? 'shard' : 'shards'} ${set.missing.join(', ')} of ${set.count} missing from the merge; their configurations are not here`,
    );
  for (const r of reasons) if (r.reason !== undefined) parts.push(`shard ${r.index}: ${r.reason === true ? 'had not finished' : r.reason}`);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/**
 * The view of the merged results (pure): the runs and scenario results of every shard in shard
 * order, env.json the first shard's with `merged` instead of `shard`, PARTIAL when a shard is
 * missing or was itself cut short.
 */
export function mergedView(folders: readonly ShardFolder[], set: ShardSet): ResultsView {
  const { shard: _first, ...firstEnv } = folders[0]!.env;
  void _first;
  const env: EnvironmentRecord = {
    ...firstEnv,
    merged: {
      count: set.count,
      fingerprint: set.fingerprint,
      shards: folders.map((f) => f.shard.index),
      missing: set.missing,
      empty: set.empty,
      environments: folders.map((f) => f.env),
    },
  };
  const loads = folders.filter((f) => f.records.load !== null);
  const scenarioFolders = folders.filter((f) => f.records.scenarios !== null);
  const loadReason = partialReason(
    set,
    loads.map((f) => ({ index: f.shard.index, reason: f.records.load!.partialReason })),
  );
  const scenarioReason = partialReason(
    set,
    scenarioFolders.map((f) => ({ index: f.shard.index, reason: f.records.scenarios!.meta.partial })),
  );
  const firstMeta = scenarioFolders[0]?.records.scenarios?.meta;
  let meta: ReportMeta | undefined;
  if (firstMeta) {
    const { partial: _p, merged: _m, ...rest } = firstMeta;
    void _p;
    void _m;
    const merged = `shards ${folders.map((f) => f.shard.index).join(', ')} of ${set.count} (matrix ${set.fingerprint})${emptyClause(set)}`;
    meta = scenarioReason === undefined ? { ...rest, merged } : { ...rest, merged, partial: scenarioReason };
  }
  return buildView({
    load:
      loads.length > 0
        ? { runs: loads.flatMap((f) => f.records.load!.runs), env, ...(loadReason !== undefined ? { partialReason: loadReason } : {}) }
        : null,
    scenarios:
      meta !== undefined
        ? { results: scenarioFolders.flatMap((f) => f.records.scenarios!.results), meta, ...(loads.length === 0 ? { env } : {}) }
        : null,
  });
}

/**
 * The clause that names the shards with nothing to run, e.g. `; shards 4, 5 had nothing to run`,
 * or '' when there are none. Pure.
 */
export function emptyClause(set: Pick<ShardSet, 'empty'>): string {
  if (set.empty.length === 0) return '';
  return `; ${set.empty.length === 1 ? 'shard' : 'shards'} ${set.empty.join(', ')} had nothing to run`;
}

/** A shard whose own results were PARTIAL: it was interrupted, or had not finished. */
export interface CutShortShard {
  /** Its shard number. */
  index: number;
  /** Why, one line (its report's PARTIAL reason), or true when it only says it had not finished. */
  reason: string | true;
}

/**
 * The shards in `folders` whose own results were PARTIAL, in the order given: a shard's load
 * part's reason, else its scenario part's (a shard interrupted during its scenarios finished its
 * load). A reason that says why wins over one that only says it had not finished. Pure.
 */
export function cutShortShards(folders: readonly ShardFolder[]): CutShortShard[] {
  const out: CutShortShard[] = [];
  for (const f of folders) {
    const reasons = [f.records.load?.partialReason, f.records.scenarios?.meta.partial].filter((r) => r !== undefined);
    const reason = reasons.find((r) => typeof r === 'string') ?? reasons[0];
    if (reason !== undefined) out.push({ index: f.shard.index, reason });
  }
  return out;
}

/** What {@link mergeFolders} did. */
export interface MergeResult {
  /** The merged folder, absolute. */
  dir: string;
  /** The view the files were written from (as written: its charts those drawn). */
  view: ResultsView;
  /** The shards joined and those missing. */
  set: ShardSet;
  /** The shards joined that were themselves PARTIAL ({@link cutShortShards}); the merge is then PARTIAL too. */
  cutShort: CutShortShard[];
  /** What could not be written (a chart), one line each. */
  warnings: string[];
}

/**
 * The terminal line of a merge: how many shards were joined, into where, and, when the merged
 * report is PARTIAL, `PARTIAL` and why (the missing shards, the shards that were cut short),
 * e.g. `reapbench: merged 2 of 3 shards (matrix <fingerprint>) into /tmp/x: PARTIAL (shard 1
 * missing; shard 2 cut short: interrupted by SIGINT after 1 of 3 runs)`. Pure.
 */
export function mergeLine(result: Pick<MergeResult, 'dir' | 'set' | 'cutShort'>): string {
  const { set } = result;
  const joined = set.count - set.missing.length - set.empty.length;
  const why: string[] = [];
  if (set.missing.length > 0) why.push(`${set.missing.length === 1 ? 'shard' : 'shards'} ${set.missing.join(', ')} missing`);
  for (const c of result.cutShort)
    why.push(c.reason === true ? `shard ${c.index} had not finished` : `shard ${c.index} cut short: ${c.reason}`);
  const head = `reapbench: merged ${joined} of ${plural(set.count, 'shard')} (matrix ${set.fingerprint}${emptyClause(set)}) into ${result.dir}`;
  return why.length === 0 ? head : `${head}: PARTIAL (${why.join('; ')})`;
}

/**
 * Merge the results folders `dirs` into the new folder `out`: read and check them
 * ({@link readShardFolder}, {@link checkShards}), write every file from the merged view through
 * `writeAll`, and concatenate their events (gzip-compressed when any input's were). Reads the
 * inputs only. `trend`: the trend files to write with the merged report (checked already).
 * @throws ReapbenchError (exit 2), one line: a refusal of {@link readShardFolder} or
 *   {@link checkShards}; `out` is one of the inputs, or exists and is not an empty folder, or
 *   cannot be created (checkResultsRoot's messages).
 */
export async function mergeFolders(dirs: readonly string[], out: string, trend: TrendFiles = NO_TREND_FILES): Promise<MergeResult> {
  const folders: ShardFolder[] = [];
  const byDir = new Map<string, string>();
  for (const d of dirs) {
    const f = await readShardFolder(d);
    const twin = byDir.get(f.dir);
    if (twin !== undefined) throw usageError(`Cannot merge the same folder twice (${twin} and ${d}): pass each shard once`);
    byDir.set(f.dir, d);
    folders.push(f);
  }
  const set = checkShards(folders);
  const abs = path.resolve(out);
  const realOut = await realpath(abs).catch(() => abs);
  if (folders.some((f) => f.dir === realOut || f.dir.startsWith(`${realOut}${path.sep}`) || realOut.startsWith(`${f.dir}${path.sep}`)))
    throw usageError(`Cannot write the merge to ${out}: it is or holds one of the folders merged; choose a new folder with --out`);
  await checkResultsRoot(abs);
  const existing = await readdir(abs).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? [] : null));
  if (existing === null || existing.length > 0)
    throw usageError(`Cannot write the merge to ${out}: it exists and is not an empty folder; choose a new folder with --out`);
  await mkdir(abs, { recursive: true });
  const view = mergedView(folders, set);
  const written = await writeAll(abs, view, { latest: false, trend });
  await concatEvents(
    folders.flatMap((f) => (f.events ? [f.events] : [])),
    abs,
  );
  return { dir: abs, view: written.view, set, cutShort: cutShortShards(folders), warnings: written.warnings };
}

/**
 * Concatenate events files into `<dir>/events.ndjson`, or `events.ndjson.gz` when any of them is
 * gzip-compressed (a large run's; the merge is then larger still). Writes nothing for no file.
 * Each input is one run's complete, newline-ended file; their run tags are unique across shards
 * (they name init, configuration and repetition, and shards share no configuration).
 */
async function concatEvents(files: readonly string[], dir: string): Promise<void> {
  if (files.length === 0) return;
  const gz = files.some((f) => f.endsWith('.gz'));
  const target = path.join(dir, gz ? 'events.ndjson.gz' : 'events.ndjson');
  const tmp = `${target}.tmp-${process.pid}`;
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const f of files) {
      const src = createReadStream(f);
      const stream = f.endsWith('.gz') ? src.pipe(createGunzip()) : src;
      // pipe() does not forward the source's errors: an unreadable input must fail the merge.
      if (stream !== src) src.on('error', (err) => stream.destroy(err));
      for await (const chunk of stream) yield chunk as Buffer;
    }
  }
  const sink: Writable = createWriteStream(tmp);
  try {
    if (gz) await pipeline(Readable.from(chunks()), createGzip(), sink);
    else await pipeline(Readable.from(chunks()), sink);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * `reapbench merge`: merge `dirs` into `o.out`, print the report (a JSON line with `--ci`) and
 * the step summary as `run` does, and apply `--baseline` to the merged summary.
 * @returns the exit code: 0 merged (also with shards missing: the report says PARTIAL; shards
 *   that had nothing to run are not missing), 1 a
 *   baseline regression or a baseline that compared nothing.
 * @throws ReapbenchError (exit 2) for a refusal (see {@link mergeFolders}), a bad `--p50-factor`,
 *   an unreadable baseline or a trend file that cannot be written (results-dir.ts
 *   `checkTrendFiles`), all before any input is read; the file system's error when a file cannot
 *   be written.
 */
export async function runMerge(
  dirs: readonly string[],
  o: MergeCliOptions,
  output: RunOutput = createOutput({ progress: false }),
): Promise<number> {
  const req: FinishRequest = {
    ci: o.ci,
    p50Factor: checkNumber('p50-factor', o.p50Factor ?? RUN_DEFAULTS.p50Factor, { minExclusive: 1 }),
    baseline: o.baseline ? { file: o.baseline, rows: await readBaseline(o.baseline) } : null,
  };
  const trend = await checkTrendFiles(o);
  const result = await mergeFolders(dirs, o.out, trend);
  for (const w of result.warnings) output.line(`reapbench: warning: ${w}`);
  output.line(mergeLine(result));
  const gate = applyGate(req, result.view);
  // A shard cut short in its scenarios leaves the load part whole: the merge is PARTIAL all the same.
  const partial = result.set.missing.length > 0 || result.cutShort.length > 0 || result.view.load?.partial === true;
  await finishReport(req, result.dir, result.view, output, partial, gate);
  return gateFails(req, gate, output) ? 1 : 0;
}
