/**
 * The one view of a run's results, built once per save (hyperfine's exporter pattern): every
 * results file, the `$GITHUB_STEP_SUMMARY` markdown, the terminal report, the CI line and the
 * baseline gate read it, so that none of them computes the summary, the warnings or the
 * markdown a second time, and none can disagree with another.
 */
import type { EnvironmentRecord, RunRecord, SummaryRow } from '../model/records.js';
import type { ScenarioResult } from '../scenarios/types.js';
import { qualityWarnings } from '../stats/quality.js';
import { summarize } from '../stats/summary.js';
import { chartSpecs, type ChartSpec } from './charts.js';
import { renderMarkdown, type MarkdownInput } from './markdown.js';
import { renderScenariosMarkdown, type ReportMeta } from './scenarios-md.js';

/** The load-generator part of a run's results: what report.md, runs.csv, summary.csv, env.json and the charts show. */
export interface LoadView {
  /** Recorded runs (no warm-up), in the order they ended. */
  runs: readonly RunRecord[];
  /** One row per init × configuration, from `runs` (stats/summary.ts). */
  summary: readonly SummaryRow[];
  env: EnvironmentRecord | null;
  /** The matrix has not finished (still running, or interrupted): report.md says PARTIAL. */
  partial: boolean;
  /** Why it ended partial (interrupted…), one line; absent when it is not partial or is still running. */
  partialReason?: string;
  /** Data-quality warnings, one line each (stats/quality.ts). */
  warnings: readonly string[];
  /** The charts to draw under `charts/`, from `runs`. */
  charts: readonly ChartSpec[];
}

/** The scenario part of a run's results: what scenarios.md and scenarios.csv show. */
export interface ScenariosView {
  /** Scenario runs in the order they ended. */
  results: readonly ScenarioResult[];
  /** Command, start time, image and engine for the header; `partial` when unfinished. */
  meta: ReportMeta;
  /** env.json of a run without a load part (the load part's `env` is written otherwise); absent: none. */
  env?: EnvironmentRecord | null;
}

/** Everything a save writes and prints; a part is null when the run did not plan it. */
export interface ResultsView {
  load: LoadView | null;
  scenarios: ScenariosView | null;
}

/** What {@link buildView} is built from: the state of a run at one save. */
export interface ViewInput {
  /** The load-generator part, or null when no load run was planned. */
  load: {
    runs: readonly RunRecord[];
    env: EnvironmentRecord | null;
    /** Why the run ended before its matrix did (interrupted…); absent when it did not. */
    partialReason?: string | undefined;
    /** This save is made while the run is going: the files are partial until the final save. */
    running?: boolean;
  } | null;
  /** The scenario part, or null when no scenario was planned; `env` as in {@link ScenariosView}. */
  scenarios: { results: readonly ScenarioResult[]; meta: ReportMeta; env?: EnvironmentRecord | null } | null;
}

/**
 * The view of one save: the summary, the warnings and the chart list computed once from the
 * runs; a part is partial exactly when it has a `partialReason` or is `running` (load), or has
 * `meta.partial` (scenarios). Pure; throws nothing.
 */
export function buildView(input: ViewInput): ResultsView {
  const l = input.load;
  return {
    load: l && {
      runs: l.runs,
      summary: summarize(l.runs),
      env: l.env,
      partial: l.partialReason !== undefined || l.running === true,
      ...(l.partialReason !== undefined ? { partialReason: l.partialReason } : {}),
      warnings: qualityWarnings(l.runs),
      charts: chartSpecs(l.runs),
    },
    scenarios: input.scenarios && {
      results: input.scenarios.results,
      meta: input.scenarios.meta,
      ...(input.scenarios.env ? { env: input.scenarios.env } : {}),
    },
  };
}

/** report.md's input from the load view (its charts linked as `charts/<file>`). Pure. */
export function reportInput(load: LoadView): MarkdownInput {
  return {
    runs: load.runs,
    summary: load.summary,
    env: load.env,
    partial: load.partial,
    ...(load.partialReason !== undefined ? { partialReason: load.partialReason } : {}),
    warnings: load.warnings,
    charts: load.charts.map((c) => ({ file: `charts/${c.file}`, title: c.title })),
  };
}

/**
 * The `$GITHUB_STEP_SUMMARY` markdown of a view: report.md's sections from the same input
 * except the charts, whose SVG files a step summary cannot show (they are named instead, and are
 * in the results folder a CI job keeps as an artifact), followed by scenarios.md. Pure.
 */
export function renderStepSummary(view: ResultsView): string {
  const parts: string[] = [];
  if (view.load) {
    const { charts, ...rest } = reportInput(view.load);
    parts.push(renderMarkdown(rest));
    if (charts && charts.length > 0) parts.push(`Charts: ${charts.map((c) => c.file).join(', ')} in the results folder.\n`);
  }
  if (view.scenarios) parts.push(renderScenariosMarkdown(view.scenarios.results, view.scenarios.meta));
  return parts.join('\n');
}
