/**
 * The end of a command that wrote a results folder (`reapbench run`, `reapbench merge`): the
 * baseline gate, the report on stdout (a JSON line in CI mode), the `$GITHUB_STEP_SUMMARY`
 * markdown, and the gate's verdict. One implementation for both, so that a merged folder is
 * gated, printed and summarized exactly as a single run's would be.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { compareWithBaseline, type BaselineComparison, type BaselineRow } from './baseline.js';
import { plural } from '../export/format.js';
import { renderStepSummary, type ResultsView } from '../export/view.js';
import { renderTerminalReport } from '../terminal/report.js';
import { reportWidth, type RunOutput } from '../terminal/output.js';
import { renderScenarioTable } from '../terminal/scenario-table.js';

/** What the end of a command depends on: the parts of a run's request (request.ts) that merge has too. */
export interface FinishRequest {
  /** CI mode: a JSON line on stdout instead of the terminal report. */
  readonly ci: boolean;
  /** `--baseline`: its path and rows; null without it. */
  readonly baseline: { readonly file: string; readonly rows: readonly BaselineRow[] } | null;
  /** `--p50-factor` (> 1, ×). */
  readonly p50Factor: number;
}

/**
 * The `--baseline` comparison of a view's load summary (an empty summary when it has no load
 * part), or null without `--baseline`. Pure.
 */
export function applyGate(req: FinishRequest, view: ResultsView): BaselineComparison | null {
  return req.baseline ? compareWithBaseline(req.baseline.rows, view.load?.summary ?? [], { p50Factor: req.p50Factor }) : null;
}

/**
 * The end of a command on stdout (a JSON line in CI mode, else the terminal report and the
 * scenario table), its data-quality warnings on stderr, and the `$GITHUB_STEP_SUMMARY` markdown:
 * all from `view`, the one the files were written from. `partial`: the results are incomplete
 * (an interrupted run, a merge with shards missing).
 * @throws the file system's error when `$GITHUB_STEP_SUMMARY` names a file that cannot be appended to.
 */
export async function finishReport(
  req: FinishRequest,
  dir: string,
  view: ResultsView,
  out: RunOutput,
  partial: boolean,
  gate: BaselineComparison | null,
): Promise<void> {
  const summary = view.load?.summary ?? [];
  const warnings = [...(view.load?.warnings ?? [])];
  if (gate && gate.compared === 0) warnings.push(nothingComparedWarning(req));
  for (const w of warnings) out.line(`reapbench: warning: ${w}`);
  if (req.ci) {
    // `regressions`: the --baseline findings that fail the gate (empty without --baseline).
    const regressions = (gate?.regressions ?? []).map((f) => ({ ...f.cell, kind: f.kind, message: f.message }));
    process.stdout.write(`${JSON.stringify({ results: dir, partial, warnings, regressions, summary })}\n`);
  } else {
    if (view.load)
      process.stdout.write(
        renderTerminalReport(summary, view.load.runs, { color: process.stdout.isTTY === true, width: reportWidth(process.stdout) }),
      );
    if (view.scenarios)
      process.stdout.write(
        `\nScenarios × inits (the table and its details: ${path.join(dir, 'scenarios.md')})\n\n${renderScenarioTable(view.scenarios.results, { color: process.stdout.isTTY === true, width: reportWidth(process.stdout) })}`,
      );
    process.stdout.write(`\nreport: ${path.join(dir, view.load ? 'report.md' : 'scenarios.md')}\n`);
  }
  if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, renderStepSummary(view));
}

/** The one-line warning of a --baseline gate that compared nothing. */
function nothingComparedWarning(req: FinishRequest): string {
  return `--baseline ${req.baseline?.file ?? ''}: none of its configurations was measured in this run, so nothing was compared (exit 1); run the matrix the baseline was made with`;
}

/**
 * Whether the gate fails the command (exit 1): a regression, or a baseline that compared
 * nothing. Prints the gate's findings, and the count of regressions, through `out`. False
 * without `--baseline`.
 */
export function gateFails(req: FinishRequest, gate: BaselineComparison | null, out: RunOutput): boolean {
  if (!req.baseline || !gate) return false;
  for (const line of gate.messages) out.line(line);
  if (gate.regressions.length > 0) {
    out.line(`reapbench: ${plural(gate.regressions.length, 'regression')} against ${req.baseline.file}`);
    return true;
  }
  // A gate that compared nothing must not pass: it would pass forever after a matrix change.
  return gate.compared === 0;
}
