/**
 * The scenario results on the terminal: one line per scenario × init variant (scenario, variant,
 * verdict), the verdict wrapped to the terminal's width, in a cli-table3 box. scenarios.md keeps
 * the scenario × init grid in markdown; a grid of six inits with their variants does not fit a
 * terminal, and markdown's `<br>` and `**…**` are noise there.
 */
import Table from 'cli-table3';
import { INIT_COLORS } from '../model/init-colors.js';
import { initIndex } from '../stats/config-key.js';
import { UNBOUNDED_TEXT_WIDTH } from './output.js';
import { marked, rowKey, rows, type ScenarioResult } from '../export/scenarios-md.js';

const RESET = '\x1b[0m';

/**
 * The table, at most `width` columns wide (≥ 40; Infinity, a pipe: {@link UNBOUNDED_TEXT_WIDTH}): the scenario named on the first line of its
 * group, then each variant (`tini -s`) with its verdict (`✗ (expected …)` when it differs from
 * the documented behaviour). Init names colored when `color` is set. Pure; throws nothing.
 */
export function renderScenarioTable(results: readonly ScenarioResult[], opts: { color: boolean; width: number }): string {
  if (results.length === 0) return 'No scenario was run.\n';
  const width = Number.isFinite(opts.width) ? Math.max(40, Math.floor(opts.width)) : UNBOUNDED_TEXT_WIDTH;
  const keys = rows(results);
  // Text width left after 4 vertical rules and 1 space of padding each side of 3 columns; the
  // scenario and init columns take what they need up to a share of it, the verdict the rest.
  const text = width - 4 - 6;
  const keyW = Math.min(Math.floor(text * 0.3), Math.max('scenario'.length, ...keys.map((k) => k.length)));
  const variantW = Math.min(Math.floor(text * 0.25), Math.max('init'.length, ...results.map((r) => r.variant.length)));
  const verdictW = text - keyW - variantW;
  const table = new Table({
    head: ['scenario', 'init', 'verdict'],
    colWidths: [keyW + 2, variantW + 2, verdictW + 2],
    wordWrap: true,
    wrapOnWordBoundary: true,
    style: opts.color ? { head: ['bold'], border: ['grey'], compact: true } : { head: [], border: [], compact: true },
  });
  for (const key of keys) {
    // Inits in their usual order, each plain before its variants, as in scenarios.md's cells.
    const group = results
      .filter((r) => rowKey(r) === key)
      .map((r, seen) => ({ r, seen }))
      .sort(
        (a, b) =>
          initIndex(a.r.init) - initIndex(b.r.init) || Number(a.r.flags.length > 0) - Number(b.r.flags.length > 0) || a.seen - b.seen,
      )
      .map((x) => x.r);
    for (const [i, r] of group.entries()) {
      const color = opts.color ? (INIT_COLORS[r.init as keyof typeof INIT_COLORS]?.ansi ?? '') : '';
      table.push([i === 0 ? key : '', color ? `${color}${r.variant}${RESET}` : r.variant, marked(r)]);
    }
  }
  return `${table.toString()}\n`;
}
