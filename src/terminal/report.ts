import type { RunRecord, SummaryRow } from '../model/records.js';
import { compareConfigs, configKey, groupBy } from '../stats/config-key.js';
import { plural } from '../export/format.js';
import { renderSummaryTable } from './summary-table.js';
import { renderZombieChart } from './zombie-chart.js';
import { UNBOUNDED_TEXT_WIDTH } from './output.js';

/** Options of {@link renderTerminalReport}. */
export interface TerminalReportOptions {
  /** ANSI colors (init colors, bold heads). */
  color: boolean;
  /**
   * Terminal columns; nothing printed is wider. Infinity (a pipe: output.ts's reportWidth): the
   * table hides no column and the charts are {@link UNBOUNDED_TEXT_WIDTH} wide.
   */
  width: number;
  /** Most configurations charted (default 2): those with the highest zombie peak. */
  maxCharts?: number;
}

/**
 * The end-of-run terminal report: the summary table, then asciichart charts of zombies over
 * time (one series per init) for the `maxCharts` configurations with the highest zombie peak
 * among their completed runs, in the table's order (configuration order, {@link compareConfigs}).
 * Pure.
 */
export function renderTerminalReport(summary: readonly SummaryRow[], runs: readonly RunRecord[], opts: TerminalReportOptions): string {
  const width = Math.max(40, Math.floor(opts.width));
  const chartWidth = Number.isFinite(width) ? width : UNBOUNDED_TEXT_WIDTH;
  const out = ['', renderSummaryTable(summary, { color: opts.color, width })];
  // Only completed runs are charted (renderZombieChart), so only they rank a configuration.
  const drawn = (r: RunRecord): boolean => r.state === 'completed' && r.series.length > 0;
  const peak = (g: RunRecord[]): number => Math.max(...g.filter(drawn).map((r) => r.zombies_peak));
  const groups = groupBy(runs, configKey)
    .filter((g) => g.some(drawn))
    .sort((a, b) => peak(b) - peak(a) || compareConfigs(a[0]!, b[0]!));
  const max = opts.maxCharts ?? 2;
  // The peaks choose which configurations are charted; the table's order (by configuration,
  // a rate sweep by rising rate) says in which order, so each chart is found where its rows are.
  const charted = groups.slice(0, max).sort((a, b) => compareConfigs(a[0]!, b[0]!));
  for (const g of charted) out.push(renderZombieChart(g, { color: opts.color, width: chartWidth }));
  if (groups.length > max) {
    out.push(`(${plural(groups.length - max, 'more configuration', 'more configurations')} charted in the report's charts/ folder)\n`);
  }
  return out.join('\n');
}
