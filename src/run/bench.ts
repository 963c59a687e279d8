/**
 * `reapbench run`: validate options, prepare the results folder, connect to the engine, build
 * or reuse the image, run the matrix, and keep the report on disk current after every run so
 * that a crash or Ctrl-C loses nothing (the report is then marked partial).
 */
import { execa } from 'execa';
import { appendFile, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReapbenchError } from '../errors.js';
import { connectEngine, engineInfo } from '../runtime/engine.js';
import { interruptedBy, onInterrupt, RUN_ID } from '../runtime/cleanup.js';
import { ensureImages, projectRoot } from '../images/build.js';
import { summarize } from '../stats/summary.js';
import { qualityWarnings } from '../stats/quality.js';
import { prepareResultsDir, writeAll } from './results-dir.js';
import { compareWithBaseline, readBaseline, type BaselineRow } from './baseline.js';
import { renderTerminalReport } from '../terminal/report.js';
import { createOutput } from '../terminal/output.js';
import { renderStepSummary, type MarkdownInput } from '../export/markdown.js';
import { planRuns, readMatrixFile, resolveMatrix, checkNumber, type Matrix, type MatrixOverrides, type PlannedRun } from './matrix.js';
import { runMatrix } from './runner.js';
import { runScenarioStep, scenarioRunCount } from './scenario-step.js';
import type { RunCliOptions } from './options.js';
import type { EnvironmentRecord, RunRecord } from '../model/records.js';

async function cpuModel(): Promise<string> {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(await readFile('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function gitCommit(root: string): Promise<string | null> {
  const r = await execa('git', ['rev-parse', 'HEAD'], { cwd: root, reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}

/** Matrix overrides from the CLI options (only those given). */
export function overridesFromCli(o: RunCliOptions): MatrixOverrides {
  const out: MatrixOverrides = {};
  if (o.preset !== undefined) out.preset = o.preset;
  if (o.inits !== undefined) out.inits = o.inits;
  if (o.scenario !== undefined) out.scenarios = o.scenario;
  if (o.limits !== undefined) out.limits = o.limits;
  if (o.rates !== undefined) out.rates = o.rates;
  if (o.lifetimeMs !== undefined) out.lifetime_ms = o.lifetimeMs;
  if (o.durationS !== undefined) out.duration_s = o.durationS;
  if (o.repetitions !== undefined) out.repetitions = o.repetitions;
  if (o.warmup === false) out.warmup = false;
  if (o.seed !== undefined) out.seed = o.seed;
  if (o.runTimeoutS !== undefined) out.run_timeout_s = o.runTimeoutS;
  return out;
}

/**
 * Run the benchmark as the CLI asked.
 * @returns the process exit code: 0 done, 1 a baseline regression, 130 interrupted by SIGINT
 *   (143 by SIGTERM).
 * @throws ReapbenchError for bad options (exit 2), environment failures (exit 1), and an
 *   interrupt before the first run ended (exit 130, 143 for SIGTERM; no results folder is kept).
 */
export async function runBench(o: RunCliOptions): Promise<number> {
  // 1. Everything about the input is checked before anything starts.
  const fileOverrides = o.matrix ? await readMatrixFile(o.matrix) : {};
  const matrix = resolveMatrix({ ...fileOverrides, ...overridesFromCli(o) });
  const p50Factor = checkNumber('p50-factor', o.p50Factor, { minExclusive: 1 });
  const baseline = o.baseline ? await readBaseline(o.baseline) : null;
  // The plain orphan load goes through the load generator matrix; named scenarios (S1–S7)
  // through the scenario library.
  const plan = matrix.scenarios.includes('orphans') ? planRuns({ ...matrix, scenarios: ['orphans'] }) : [];
  const namedScenarios = matrix.scenarios.filter((s) => s !== 'orphans');
  const outRoot = path.resolve(o.out);
  const dir = await prepareResultsDir(outRoot);
  const records: RunRecord[] = [];
  // From here on SIGINT/SIGTERM abort whatever phase is under way (image build, a run, a
  // scenario); each phase returns promptly, and the report says PARTIAL.
  const controller = new AbortController();
  const unregister = onInterrupt(() => controller.abort());
  try {
    return await measure(o, { matrix, plan, namedScenarios, baseline, p50Factor }, dir, records, controller.signal);
  } catch (err) {
    // Nothing measured (no engine, image build failed or interrupted…): leave no empty results folder behind.
    if (!existsSync(path.join(dir, 'runs.csv')) && !existsSync(path.join(dir, 'scenarios.csv')))
      await rm(dir, { recursive: true, force: true });
    // Interrupted before anything was measured: the exit status says which signal (128 + n).
    if (controller.signal.aborted && err instanceof ReapbenchError && err.exitCode === 130 && interruptedBy() === 'SIGTERM') {
      throw new ReapbenchError(err.message, { exitCode: 143, cause: err });
    }
    throw err;
  } finally {
    unregister();
  }
}

/** Everything `runBench` validated before anything started. */
interface ValidatedRun {
  matrix: Matrix;
  /** Load generator runs (warm-up first); empty when only named scenarios were asked for. */
  plan: PlannedRun[];
  /** Named scenarios (S1–S7) to run after the load generator matrix. */
  namedScenarios: string[];
  baseline: BaselineRow[] | null;
  /** `--p50-factor` (> 1). */
  p50Factor: number;
}

/**
 * Steps 2–4 of a bench run; `records` collects the runs as they end (the caller cleans up).
 * `signal` is the interrupt: it ends the phase under way and leads to a PARTIAL report.
 */
async function measure(o: RunCliOptions, v: ValidatedRun, dir: string, records: RunRecord[], signal: AbortSignal): Promise<number> {
  const { matrix, plan, namedScenarios, baseline, p50Factor } = v;
  const ci = o.ci;
  // Every stderr line from here on goes through one output object: a bar on a terminal, plain lines elsewhere.
  const progress = createOutput({ progress: o.progress && !ci });
  const log = (line: string): void => progress.line(line);
  const root = projectRoot();

  // 2. Engine and image.
  const docker = await connectEngine();
  const engine = await engineInfo(docker);
  // The run id first: its containers carry the label reapbench.run=<id> (docker ps, clean-up).
  log(`reapbench: run ${RUN_ID}: preparing the images (a first run builds them, about a minute)`);
  const images = await ensureImages(docker, {
    signal,
    base: o.base as 'auto' | 'offline' | 'registry',
    onProgress: (line) => {
      if (o.verbose || !/^(base|app): (Step|--->|Removing|Successfully|\s)/.test(line)) log(line);
    },
  });
  const pin = o.pin && engine.cpus >= 2 ? `0:${engine.cpus - 1}` : undefined;

  const env: EnvironmentRecord = {
    reapbench_version: JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')).version,
    run_id: RUN_ID,
    git_commit: await gitCommit(root),
    node_version: process.version,
    kernel: engine.kernelVersion || os.release(),
    cpu_model: await cpuModel(),
    cpus: engine.cpus,
    engine_version: engine.serverVersion,
    engine_api_version: engine.apiVersion,
    cgroup_version: engine.cgroupVersion,
    image: images.app,
    image_id: images.appId,
    base_mode: images.baseMode,
    base_reason: images.baseReason,
    started_at: new Date().toISOString(),
    argv: process.argv.slice(2),
    matrix: { ...matrix, pin: pin ?? null },
  };
  if (namedScenarios.length > 0)
    log(`reapbench: scenarios ${namedScenarios.join(', ')} under ${matrix.inits.join(', ')} and their variants`);
  if (plan.length > 0)
    log(
      `reapbench: ${plan.length} runs (${matrix.inits.join(', ')}; limits ${matrix.limits.join(',')}; rates ${matrix.rates.join(',')}/s; ${matrix.repetitions} repetition(s)${matrix.warmup ? ' + warm-up' : ''}), results in ${dir}`,
    );

  // 3. The matrix, with the report rewritten after every run.
  const rawDir = path.join(dir, 'raw');
  // During the matrix only the small files are rewritten; events.ndjson is assembled from the
  // raw per-run files once, at the end (also after an interrupt), and raw/ is then removed.
  let lastReport: MarkdownInput | null = null;
  const save = async (final: boolean, partial: boolean, partialReason?: string): Promise<void> => {
    const result = await writeAll(dir, {
      runs: records,
      summary: summarize(records),
      env,
      partial,
      ...(partialReason ? { partialReason } : {}),
      ...(final ? { rawDir } : {}),
    });
    lastReport = result.report;
    for (const w of result.warnings) log(`reapbench: warning: ${w}`);
    if (final) await rm(rawDir, { recursive: true, force: true });
  };
  const scenarioRuns = scenarioRunCount(namedScenarios, matrix.inits);
  progress.start(plan.length + scenarioRuns);
  let scenarioTable: string | null = null;
  let scenarioReport: string | null = null;
  try {
    if (plan.length > 0)
      await runMatrix(
        {
          docker,
          image: images.app,
          rawDir,
          runTimeoutS: matrix.run_timeout_s,
          ...(pin ? { pin } : {}),
          signal,
          onRunStart: (run, i, total) =>
            progress.update(
              `${run.init} ${run.scenario} L${run.pids_limit} ${run.rate_per_s}/s${run.repetition < 0 ? ' (warm-up)' : ` rep ${run.repetition + 1}`}`,
              i,
              total,
            ),
          onRunEnd: async (record) => {
            if (record.repetition < 0) return;
            records.push(record);
            if (record.state !== 'completed') progress.line(`${record.init}: ${record.state}: ${record.failure_reason ?? ''}`);
            await save(false, true, 'the matrix is still running');
          },
        },
        plan,
      );
    if (namedScenarios.length > 0 && !signal.aborted) {
      const step = await runScenarioStep(
        {
          docker,
          image: images.app,
          imageLabel: `${images.app} (${images.baseMode})`,
          engineLabel: `Docker ${engine.serverVersion}, cgroup v${engine.cgroupVersion}`,
          dir,
          scenarios: namedScenarios,
          inits: matrix.inits,
          progress,
          signal,
        },
        plan.length,
        plan.length + scenarioRuns,
      );
      scenarioTable = step.table;
      scenarioReport = step.markdown;
    }
  } finally {
    progress.stop();
  }

  // 4. Final report.
  const interrupted = signal.aborted;
  if (interrupted && records.length === 0 && scenarioTable === null) {
    // Interrupted before the first run ended (e.g. in the warm-up): nothing to report, and no
    // results folder is kept (the caller removes it).
    throw new ReapbenchError('interrupted before the first run ended; nothing was measured', { exitCode: 130 });
  }
  const summary = summarize(records);
  if (plan.length > 0)
    await save(
      true,
      interrupted,
      interrupted
        ? `interrupted by ${interruptedBy() ?? 'a signal'} after ${records.length} of ${plan.filter((r) => r.repetition >= 0).length} runs`
        : undefined,
    );
  const warnings = qualityWarnings(records);
  for (const w of warnings) log(`reapbench: warning: ${w}`);
  if (ci) {
    process.stdout.write(`${JSON.stringify({ results: dir, partial: interrupted, warnings, summary })}\n`);
  } else {
    if (plan.length > 0)
      process.stdout.write(
        renderTerminalReport(summary, records, { color: process.stdout.isTTY === true, width: process.stdout.columns ?? 100 }),
      );
    if (scenarioTable) process.stdout.write(`\nScenarios × inits (details: ${path.join(dir, 'scenarios.md')})\n\n${scenarioTable}\n`);
    process.stdout.write(`\nreport: ${path.join(dir, plan.length > 0 ? 'report.md' : 'scenarios.md')}\n`);
  }
  if (process.env.GITHUB_STEP_SUMMARY) {
    // The files' own view of the results: the same sections as report.md and scenarios.md.
    await appendFile(process.env.GITHUB_STEP_SUMMARY, renderStepSummary(lastReport, scenarioReport));
  }
  if (interrupted) {
    log(`reapbench: interrupted; partial report in ${dir}`);
    return interruptedBy() === 'SIGTERM' ? 143 : 130;
  }
  if (baseline) {
    const result = compareWithBaseline(baseline, summary, { p50Factor });
    for (const line of result.messages) log(line);
    if (result.regressions.length > 0) {
      log(`reapbench: ${result.regressions.length} regression(s) against ${o.baseline}`);
      return 1;
    }
  }
  if (records.length === 0 && scenarioTable === null) throw new ReapbenchError('no run was recorded');
  if (records.length > 0 && records.every((r) => r.state !== 'completed')) {
    log(
      `reapbench: every run failed (first reason: ${records[0]!.failure_reason ?? records[0]!.state}); see ${path.join(dir, 'report.md')}`,
    );
    return 1;
  }
  return 0;
}
