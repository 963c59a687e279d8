/**
 * The scenario part of `reapbench run --scenario …`: runs the named real-world patterns (S1–S7)
 * under the chosen inits and their relevant variants, and keeps `scenarios.md` and
 * `scenarios.csv` in the results folder current after every run.
 */
import type Docker from 'dockerode';
import path from 'node:path';
import {
  renderMarkdown,
  runScenarioMatrix,
  planMatrix,
  scenarioMatrixMarkdown,
  toCsv,
  type ReportMeta,
  type ScenarioResult,
} from '../scenarios/index.js';
import { interruptedBy } from '../runtime/cleanup.js';
import type { RunOutput } from '../terminal/output.js';
import { atomicWrite, pointLatest } from './results-dir.js';
import type { InitName } from '../model/inits.js';

/** What the scenario step needs from the bench. */
export interface ScenarioStepContext {
  docker: Docker;
  /** App image tag. */
  image: string;
  /** Image and engine facts for the report header. */
  imageLabel: string;
  engineLabel: string;
  /** Results folder of this bench run. */
  dir: string;
  scenarios: string[];
  inits: InitName[];
  progress: RunOutput;
  signal: AbortSignal;
}

/** Number of container runs the step will make (for the progress total). */
export function scenarioRunCount(scenarios: string[], inits: InitName[]): number {
  return planMatrix({ scenarios, inits }).length;
}

/**
 * Run the scenarios and write their report; returns the results (possibly partial when the
 * signal aborted). The markdown table is also returned for the terminal, and scenarios.md's
 * text for the CI step summary.
 */
export async function runScenarioStep(
  ctx: ScenarioStepContext,
  offset: number,
  total: number,
): Promise<{ results: ScenarioResult[]; table: string; markdown: string }> {
  const startedAt = new Date().toISOString();
  const meta: ReportMeta = {
    command: `reapbench ${process.argv.slice(2).join(' ')}`,
    startedAt,
    image: ctx.imageLabel,
    engine: ctx.engineLabel,
  };
  const done: ScenarioResult[] = [];
  // Until the last scenario ran, the files say PARTIAL and why (like report.md).
  const planned = scenarioRunCount(ctx.scenarios, ctx.inits);
  const partialMeta = (): ReportMeta =>
    ctx.signal.aborted
      ? { ...meta, partial: `interrupted by ${interruptedBy() ?? 'a signal'} after ${done.length} of ${planned} runs` }
      : done.length < planned
        ? { ...meta, partial: 'the scenarios are still running' }
        : meta;
  const save = async (): Promise<void> => {
    await atomicWrite(path.join(ctx.dir, 'scenarios.md'), renderMarkdown(done, partialMeta()));
    await atomicWrite(path.join(ctx.dir, 'scenarios.csv'), toCsv(done));
    await pointLatest(ctx.dir);
  };
  await runScenarioMatrix(ctx.docker, ctx.image, {
    scenarios: ctx.scenarios,
    inits: ctx.inits,
    signal: ctx.signal,
    onResult: async (r, i) => {
      done.push(r);
      ctx.progress.update(`scenario ${r.scenario} ${r.init} ${r.variant}`, offset + i + 1, total);
      if (r.matches === false) ctx.progress.line(`${r.scenario} under ${r.variant}: ${r.verdict} (expected ${r.expected.outcome})`);
      await save();
    },
  });
  await save();
  return { results: done, table: scenarioMatrixMarkdown(done), markdown: renderMarkdown(done, partialMeta()) };
}
