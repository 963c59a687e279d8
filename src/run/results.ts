/**
 * The results of one `reapbench run` as they accumulate, and the one save that writes them: each
 * save builds one view (export/view.ts) and hands it to the one writer (results-dir.ts), so the
 * files, the step summary, the terminal report and the exit code all read the same figures.
 */
import { rm } from 'node:fs/promises';
import { ReapbenchError } from '../errors.js';
import path from 'node:path';
import { buildView, type ResultsView } from '../export/view.js';
import { plural } from '../export/format.js';
import type { ReportMeta } from '../export/scenarios-md.js';
import type { EnvironmentRecord, RunRecord } from '../model/records.js';
import { interruptedBy } from './interrupt.js';
import type { ScenarioResult } from '../scenarios/types.js';
import type { RunOutput } from '../terminal/output.js';
import { NO_TREND_FILES, writeAll, type TrendFiles } from './results-dir.js';

/**
 * A file system error of the writer as one line that says what to do; other errors unchanged.
 * @param err what the writer threw (Node's fs errors carry `code`, e.g. `ENOSPC`).
 */
export function writeError(err: unknown, dir: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string' || !/^E[A-Z]+$/.test(e.code)) return err;
  // Node's message is `CODE: description, syscall 'path'`: keep the description.
  const what = /^E[A-Z]+: ([^,]+)/.exec(e.message)?.[1] ?? e.code;
  const todo = e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'free space there or choose another --out' : 'choose another --out';
  return new ReapbenchError(`cannot write the results in ${dir}: ${what} (${e.code}); ${todo}`, { cause: err });
}

/** The results of one run so far; `save` writes them. */
export class RunResults {
  /** Recorded load runs (no warm-up), in the order they ended. */
  readonly records: RunRecord[] = [];
  private scenarios: { results: ScenarioResult[]; meta: ReportMeta; planned: number } | null = null;
  /** Why the run stopped before its end other than by a signal (e.g. the engine went away), or null. */
  private stoppedBy: string | null = null;
  /** The save under way, if any: the next one waits for it (both write the same files, through the same temporary names). */
  private saving: Promise<unknown> = Promise.resolve();

  /**
   * @param dir this run's results folder.
   * @param loadPlanned recorded load runs planned (count); 0: no load part (no report.md, runs.csv…).
   * @param env env.json.
   * @param out where the writer's warnings are printed.
   * @param signal the interrupt: once aborted, every part that is not complete says why.
   * @param trend the trend files (`--export-bmf`, `--export-benchmark-action`), written by the final save only.
   */
  constructor(
    readonly dir: string,
    private readonly loadPlanned: number,
    private readonly env: EnvironmentRecord,
    private readonly out: RunOutput,
    private readonly signal: AbortSignal,
    private readonly trend: TrendFiles = NO_TREND_FILES,
  ) {}

  /** Where the load generator's raw per-run event files go until the final save gathers them. */
  get rawDir(): string {
    return path.join(this.dir, 'raw');
  }

  /** The scenario phase begins with `planned` container runs (count); its files are written from now on. */
  beginScenarios(meta: ReportMeta, planned: number): void {
    this.scenarios = { results: [], meta, planned };
  }

  /** A scenario run ended. */
  addScenario(result: ScenarioResult): void {
    this.scenarios?.results.push(result);
  }

  /** The run cannot go on (`reason`, one clause: e.g. the engine stopped answering): the report says so, as PARTIAL. */
  stop(reason: string): void {
    this.stoppedBy = reason;
  }

  /**
   * Nothing was measured yet: no load run ended and the scenario phase not begun. A run cut short
   * by an interrupt is recorded (as aborted) but measured nothing, so it does not count.
   */
  get empty(): boolean {
    return this.records.every((r) => r.state === 'aborted') && this.scenarios === null;
  }

  /**
   * The view of the results as they stand. `final`: the run is over (ended, or interrupted).
   * The load part is partial when the run was interrupted or stopped (with the reason, final or
   * not), or, before the final save, as still running.
   */
  view(final: boolean): ResultsView {
    const by = (): string => this.stoppedBy ?? `interrupted by ${interruptedBy() ?? 'a signal'}`;
    const aborted = this.signal.aborted || this.stoppedBy !== null;
    const s = this.scenarios;
    // Before the final save of a run that goes on the files say only that the run had not
    // finished when they were written: a crash leaves that version behind, and the file cannot
    // know. Once interrupted they say so from the first save on: a second signal exits at once,
    // and leaves the version it finds.
    // The run the interrupt cut is recorded as aborted: it is not one of the runs measured.
    const cut = this.records.filter((r) => r.state === 'aborted').length;
    const loadPartial = aborted
      ? `${by()} after ${this.records.length - cut} of ${this.loadPlanned} runs${cut ? `; ${plural(cut, 'run')} cut short, recorded as aborted` : ''}`
      : undefined;
    const scenariosPartial: string | true | undefined =
      s === null
        ? undefined
        : aborted
          ? `${by()} after ${s.results.length} of ${s.planned} runs`
          : s.results.length < s.planned
            ? true
            : undefined;
    return buildView({
      load: this.loadPlanned > 0 ? { runs: this.records, env: this.env, partialReason: loadPartial, running: !final } : null,
      scenarios: s && {
        results: [...s.results],
        meta: scenariosPartial === undefined ? s.meta : { ...s.meta, partial: scenariosPartial },
        // A scenario-only run has no load part to carry env.json, and merge needs one in every folder.
        env: this.env,
      },
    });
  }

  /**
   * Write every file from one view and print the writer's warnings. The final save also gathers
   * the raw event files into events.ndjson and removes them (raw/ is rewritten during the run
   * and read once, at the end; also after an interrupt), and writes the trend files: a tracker
   * reads them once, after the run, so they hold the final figures only (an interrupted run's
   * completed runs; its report says PARTIAL, the trend files cannot).
   * @returns the view as written (its charts those drawn): the one the rest of the run reads.
   * @throws ReapbenchError naming the folder and the cause (a full disk, a read-only file
   *   system…) when a file cannot be written at all.
   * Saves run one at a time, in the order asked (an interrupt's save can start while a run's is
   * under way).
   */
  save(final = false): Promise<ResultsView> {
    const next = this.saving.then(() => this.write(final));
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** One save of {@link save}, alone. */
  private async write(final: boolean): Promise<ResultsView> {
    const rawDir = this.rawDir;
    let result: Awaited<ReturnType<typeof writeAll>>;
    try {
      result = await writeAll(this.dir, this.view(final), final ? { ...(this.loadPlanned > 0 ? { rawDir } : {}), trend: this.trend } : {});
    } catch (err) {
      throw writeError(err, this.dir);
    }
    for (const w of result.warnings) this.out.line(`reapbench: warning: ${w}`);
    if (final) await rm(rawDir, { recursive: true, force: true });
    return result.view;
  }
}
