/**
 * `reapbench run`: resolve the options into one request, prepare the results folder and the
 * environment, run the load matrix and the named scenarios, then report and choose the exit
 * code. The results are saved after every run, so that a crash or Ctrl-C loses nothing (the
 * report is then marked partial).
 */
import { rm } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ReapbenchError } from '../errors.js';
import { cleanUpOnInterrupt, interruptExitCode, onInterrupt } from './interrupt.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import type { BaselineComparison } from './baseline.js';
import { applyGate, finishReport, gateFails } from './finish.js';
import { engineLabel, formatNumber, plural } from '../export/format.js';
import { createOutput, type RunOutput } from '../terminal/output.js';
import { rowKey, type ScenarioResult } from '../export/scenarios-md.js';
import { checkResultsRoot, prepareResultsDir } from './results-dir.js';
import { normalizeRunOptions, withoutInapplicable, type RunRequest } from './request.js';
import { prepareEnvironment, type RunEnvironment } from './environment.js';
import { RunResults } from './results.js';
import { runMatrix } from './runner.js';
import { planMatrix, runScenarioMatrix } from '../scenarios/index.js';
import type { RunCliOptions } from './options.js';
import type { PlannedRun } from './matrix.js';
import type { EnvironmentRecord, RunRecord } from '../model/records.js';
import { instrumentLine } from '../model/instrument.js';

/** What `run` connects to; tests pass a fake runtime here. */
export interface RunDeps {
  /** Connect to the container engine (default: the one `--engine` chose, through the Docker Engine API). */
  connect?: () => Promise<ContainerRuntime>;
}

/**
 * Run the benchmark as the CLI asked, on the runtime `deps.connect` gives (the engine
 * `--engine` chose, by default).
 * @returns the process exit code: 0 done, 1 a baseline regression or every run failed, 130
 *   interrupted by SIGINT (143 by SIGTERM).
 * @throws ReapbenchError for bad options (exit 2), environment failures (exit 1), and an
 *   interrupt before the first run ended (exit 130, 143 for SIGTERM; no results folder is kept).
 */
export async function runBench(o: RunCliOptions, deps: RunDeps = {}): Promise<number> {
  // Everything about the input is checked before anything starts.
  const req = await normalizeRunOptions(o);
  if (req.plan.length === 0 && req.namedScenarios.length === 0) {
    // More shards than configurations: this leg has nothing to do, which is not an error (a CI
    // matrix of fixed width over a smaller matrix). No results folder: merge knows from the
    // other shards' env.json that this one was empty, not missing.
    process.stderr.write(
      `reapbench: shard ${req.shard.index}/${req.shard.count} has nothing to run (the matrix has ${plural(req.totalUnits, 'configuration')}); merge counts it as empty, not missing\n`,
    );
    return 0;
  }
  // Checked now, created only once the engine has answered (in measure): a run that cannot
  // start leaves no folder behind, not even the parents --out named.
  const root = await checkResultsRoot(req.outRoot);
  // From here on SIGINT/SIGTERM abort whatever phase is under way (image build, a run, a
  // scenario); each phase returns promptly, and the report says PARTIAL.
  const controller = new AbortController();
  const out = createOutput({ progress: req.progress });
  const run: MeasuredRun = { dir: null, results: null };
  // The interrupt handler's lines go through the output object too; the bar is stopped first, as
  // after a second signal the process exits at once and a bar's buffered line would be lost.
  const unregister = onInterrupt(
    () => controller.abort(),
    (line) => {
      out.stop();
      out.line(line);
    },
    () => {
      // A second signal: the files stay as the first one's save left them (report.md says
      // interrupted); with nothing measured the folder goes, as after one signal.
      if (run.dir === null) return null;
      if (run.results !== null && !run.results.empty) return run.dir;
      rmSync(root.missingFrom ?? run.dir, { recursive: true, force: true });
      return null;
    },
  );
  try {
    return await measure(req, deps, run, async () => (run.dir = await prepareResultsDir(req.outRoot)), out, controller.signal);
  } catch (err) {
    // Nothing measured (no engine, image build failed or interrupted…): leave no empty results
    // folder behind, nor the folders above it that this run created. An interrupted first run
    // is recorded, so the files alone do not tell.
    const dir = run.dir;
    if (
      dir !== null &&
      (err instanceof NothingMeasured || (!existsSync(path.join(dir, 'runs.csv')) && !existsSync(path.join(dir, 'scenarios.csv'))))
    )
      await rm(root.missingFrom ?? dir, { recursive: true, force: true });
    // Interrupted before anything was measured: the exit status says which signal (128 + n).
    if (controller.signal.aborted && err instanceof ReapbenchError && err.exitCode === 130 && interruptExitCode() !== 130) {
      throw new ReapbenchError(err.message, { exitCode: interruptExitCode(), cause: err });
    }
    throw err;
  } finally {
    unregister();
  }
}

/** The results folder and the results in it, once made (null before): what a second signal finds. */
interface MeasuredRun {
  dir: string | null;
  results: RunResults | null;
}

/** Interrupted before any run ended: the caller removes the results folder, whatever was written in it. */
class NothingMeasured extends ReapbenchError {}

/**
 * One run, phase by phase; every stderr line goes through `out`. `signal` is the interrupt: it
 * ends the phase under way and leads to a PARTIAL report. `makeDir` creates the results folder,
 * once the environment is ready; the caller removes it on a throw when nothing was saved in it,
 * or on {@link NothingMeasured}. `run` gets the results as soon as they exist.
 */
async function measure(
  req: RunRequest,
  deps: RunDeps,
  run: MeasuredRun,
  makeDir: () => Promise<string>,
  out: RunOutput,
  signal: AbortSignal,
): Promise<number> {
  const env = await prepareEnvironment(req, out, signal, deps.connect);
  // Choices with no meaning on this runtime are left out, and said so, before anything is planned.
  const applicable = withoutInapplicable(req, (init) => env.runtime.initNotApplicable?.(init) ?? null);
  for (const l of applicable.leftOut) out.line(`reapbench: ${l.init} left out, it does not apply here: ${l.why}`);
  req = applicable.req;
  const dir = await makeDir();
  for (const line of announcement(req, dir, env.record.instrument)) out.line(line);
  const results = new RunResults(dir, req.recordedRuns, env.record, out, signal, req.trend);
  run.results = results;
  // On an interrupt the files say so at once, before the run in progress is torn down (which
  // takes a few tenths of a second): a second signal exits without waiting, and the report it
  // leaves must be the interrupted one. A failed write is the final save's to report.
  signal.addEventListener('abort', () => void (results.empty ? undefined : results.save().catch(() => undefined)), { once: true });
  const scenarioRuns = planMatrix({ scenarios: [...req.namedScenarios], inits: req.matrix.inits }).length;
  const total = req.plan.length + scenarioRuns;
  out.start(total);
  // From the first container on, an interrupt removes what this runtime made for the run.
  const release = cleanUpOnInterrupt(env.runtime);
  // A failure that ends the matrix (the engine went away, the image vanished, the disk filled)
  // still leaves a report of what was measured, marked PARTIAL with the reason.
  let stopped: ReapbenchError | null = null;
  try {
    await loadPhase(req, env, results, out, signal, total);
    if (req.namedScenarios.length > 0 && !signal.aborted) await scenarioPhase(req, env, results, out, signal, scenarioRuns);
  } catch (err) {
    if (!(err instanceof ReapbenchError) || (results.empty && !signal.aborted)) throw err;
    if (signal.aborted) {
      // After an interrupt the interrupt is why the run ended: what failed while it was being
      // torn down (an engine that hangs stops answering the removal, then its watch gives up) is
      // said, and the report and exit status stay the interrupt's.
      out.line(`reapbench: ${err.message}`);
    } else {
      stopped = err;
      results.stop(err.message);
    }
  } finally {
    out.stop();
    release();
  }
  if (stopped) {
    // The files may be what failed: the error, then, is the first one.
    await results
      .save(true)
      .then((view) => finishReport(req, dir, view, out, true, null))
      .catch(() => undefined);
    throw new ReapbenchError(`${stopped.message}; results so far are in ${dir}`, { cause: stopped, exitCode: stopped.exitCode });
  }
  if (signal.aborted && results.empty) {
    // Interrupted before the first run ended (in the warm-up, or the first recorded run, which
    // is recorded as aborted): nothing to report, and no results folder is kept (the caller
    // removes it).
    throw new NothingMeasured('interrupted before the first run ended; nothing was measured', { exitCode: interruptExitCode() });
  }
  const view = await results.save(true);
  // Compared before the report, so that the CI line carries the regressions.
  const gate = signal.aborted ? null : applyGate(req, view);
  await finishReport(req, dir, view, out, signal.aborted, gate);
  return exitCode(req, dir, results, out, signal, gate);
}

/**
 * What the run is about to do, one stderr line per part (without their newlines): the named
 * scenarios and who decides their verdicts; the load runs, where their results go, and the
 * instrument that measures them (`instrument: ebpf (kernel tracepoints, …)`); then why the
 * kernel instrument is not used, when `--instrument auto` fell back. Pure.
 * @param instrument env.json's `instrument` record: `--instrument` as asked, the one used, the fallback's reason.
 */
export function announcement(
  req: Pick<RunRequest, 'matrix' | 'plan' | 'namedScenarios' | 'shard' | 'totalUnits'>,
  dir: string,
  instrument: EnvironmentRecord['instrument'],
): string[] {
  const m = req.matrix;
  // What this run will measure: a shard plans a slice of the matrix's limits and rates.
  const planned = (k: 'pids_limit' | 'rate_per_s'): number[] => [...new Set(req.plan.map((r) => r[k]))].sort((a, b) => a - b);
  const lines: string[] = [];
  if (req.shard.count > 1)
    lines.push(
      `reapbench: shard ${req.shard.index}/${req.shard.count} of a matrix of ${plural(req.totalUnits, 'configuration')}; join the shards with reapbench merge`,
    );
  if (req.namedScenarios.length > 0)
    lines.push(
      `reapbench: scenarios ${req.namedScenarios.join(', ')} under ${m.inits.join(', ')} and their variants; verdicts from an observer inside each container${instrument.used === 'pidfd' ? '' : ', the kernel instrument (ebpf) watching the same containers as a cross-check'}`,
    );
  if (req.plan.length > 0)
    lines.push(
      `reapbench: ${plural(req.plan.length, 'run')} (${m.inits.join(', ')}; limits ${planned('pids_limit').join(',')}; rates ${planned('rate_per_s').join(',')}/s; ${plural(m.repetitions, 'repetition')}${m.warmup ? ' + warm-up' : ''}), results in ${dir}`,
      `reapbench: ${instrumentLine(instrument)}`,
    );
  if (instrument.reason !== null) lines.push(`reapbench: ${instrument.reason}`);
  return lines;
}

/**
 * The progress label of a load run: init, configuration and repetition, e.g.
 * `tini orphans L128 250/s rep 0`. Repetitions are numbered from 0, as in runs.csv, report.md
 * and the raw file names (`r0`), so that a label finds its row.
 */
export function runLabel(run: PlannedRun): string {
  return `${run.init} ${run.scenario} L${run.pids_limit} ${run.rate_per_s}/s${run.repetition < 0 ? ' (warm-up)' : ` rep ${run.repetition}`}`;
}

/**
 * The progress label of a scenario run: its row key and variant, e.g. `S1 killed-parent-tree
 * tini -s`. The variant label already starts with the init (`none` alone for the plain init).
 */
export function scenarioLabel(r: Pick<ScenarioResult, 'id' | 'scenario' | 'case' | 'variant'>): string {
  return `${rowKey(r)} ${r.variant}`;
}

/**
 * What came of one load run, one clause of plain text for its progress line: whether forks
 * failed (`survived`, or `forks failed after 0.5 s`), its reaping latency p50 (`p50 24 µs`, or
 * `no orphan reaped`), and the orphans left as zombies when there were any; for a run that did
 * not complete, its state and reason. Pure.
 */
export function runOutcome(
  r: Pick<RunRecord, 'state' | 'failure_reason' | 'first_fork_failure_s' | 'reap_latency_p50_us' | 'unreaped'>,
): string {
  if (r.state !== 'completed') return `${r.state}: ${r.failure_reason ?? '(no reason recorded)'}`;
  const parts = [
    r.first_fork_failure_s === null ? 'survived' : `forks failed after ${formatNumber(r.first_fork_failure_s)} s`,
    r.reap_latency_p50_us === null ? 'no orphan reaped' : `p50 ${formatNumber(r.reap_latency_p50_us)} µs`,
  ];
  if (r.unreaped > 0) parts.push(`${r.unreaped} unreaped`);
  return parts.join(', ');
}

/**
 * The load generator matrix (warm-up first), the results saved after every recorded run.
 * `total`: the container runs of the whole run (count), this phase's first.
 */
async function loadPhase(
  req: RunRequest,
  env: RunEnvironment,
  results: RunResults,
  out: RunOutput,
  signal: AbortSignal,
  total: number,
): Promise<void> {
  if (req.plan.length === 0) return;
  await runMatrix(
    {
      runtime: env.runtime,
      image: env.images.app,
      rawDir: results.rawDir,
      runTimeoutS: req.matrix.run_timeout_s,
      ...(env.pin ? { pin: env.pin } : {}),
      instrument: env.instrument,
      signal,
      onNotice: (line) => out.line(line),
      onRunStart: (run, i) => out.update(runLabel(run), i, total),
      onRunEnd: async (record, i) => {
        // Warm-up runs too: they take as long as the others, and a failed one says something.
        out.finished({ label: runLabel(record), index: i, total, outcome: runOutcome(record), notable: record.state !== 'completed' });
        if (record.repetition < 0) return;
        results.records.push(record);
        // A run cut short before any ended measured nothing: no files (the folder goes, and
        // `latest` keeps pointing at the last run that measured something).
        if (!results.empty) await results.save();
      },
    },
    [...req.plan],
  );
}

/**
 * The named scenarios (S1–S7) under the chosen inits and their relevant variants, the results
 * saved after every run. `planned`: its container runs (count), after the load matrix's.
 */
async function scenarioPhase(
  req: RunRequest,
  env: RunEnvironment,
  results: RunResults,
  out: RunOutput,
  signal: AbortSignal,
  planned: number,
): Promise<void> {
  results.beginScenarios(
    {
      command: `reapbench ${process.argv.slice(2).join(' ')}`,
      startedAt: new Date().toISOString(),
      image: env.images.baseMode === 'host' ? env.images.baseReason : `${env.images.app} (${env.images.baseMode})`,
      engine: engineLabel(env.record),
    },
    planned,
  );
  const offset = req.plan.length;
  await runScenarioMatrix(env.runtime, env.images.app, {
    scenarios: [...req.namedScenarios],
    inits: req.matrix.inits,
    signal,
    kernel: env.instrument !== 'pidfd',
    onNotice: (line) => out.line(line),
    onResult: async (r, i) => {
      results.addScenario(r);
      out.finished({
        label: scenarioLabel(r),
        index: offset + i,
        total: offset + planned,
        outcome: r.matches === false ? `${r.verdict} (expected ${r.expected.outcome})` : r.verdict,
        notable: r.matches === false,
      });
      await results.save();
    },
  });
}

/**
 * The exit code: interrupted (130/143), a baseline regression or a baseline that compared
 * nothing (1), every load run failed (1), else 0.
 */
function exitCode(
  req: RunRequest,
  dir: string,
  results: RunResults,
  out: RunOutput,
  signal: AbortSignal,
  gate: BaselineComparison | null,
): number {
  if (signal.aborted) {
    out.line(`reapbench: interrupted; partial report in ${dir}`);
    return interruptExitCode();
  }
  if (gateFails(req, gate, out)) return 1;
  if (results.empty) throw new ReapbenchError('no run was recorded');
  const runs = results.records;
  if (runs.length > 0 && runs.every((r) => r.state !== 'completed')) {
    out.line(
      `reapbench: every run failed (first reason: ${runs[0]!.failure_reason ?? runs[0]!.state}); see ${path.join(dir, 'report.md')}`,
    );
    return 1;
  }
  return 0;
}
