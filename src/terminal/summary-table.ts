import Table from 'cli-table3';
import { completedRuns, type SummaryRow } from '../model/records.js';
import { CONFIG_FIELDS } from '../model/config.js';
import { compareCells } from '../stats/config-key.js';
import { formatNumber, formatOrphansBeforeFailure, formatWithSpread } from '../export/format.js';
import { INIT_COLORS } from '../model/init-colors.js';

const RESET = '\x1b[0m';

/** One column of the terminal table; lower `priority` is dropped last when space is short. */
interface Column {
  head: string;
  priority: number;
  value: (r: SummaryRow) => string;
}

const CONFIG_COLUMNS: Record<(typeof CONFIG_FIELDS)[number], Column> = {
  scenario: { head: 'scenario', priority: 1, value: (r) => r.scenario },
  pids_limit: { head: 'limit', priority: 1, value: (r) => String(r.pids_limit) },
  rate_per_s: { head: 'rate/s', priority: 1, value: (r) => String(r.rate_per_s) },
  lifetime_ms: { head: 'life ms', priority: 3, value: (r) => String(r.lifetime_ms) },
  duration_s: { head: 'dur s', priority: 3, value: (r) => String(r.duration_s) },
};

const MEASURE_COLUMNS: Column[] = [
  {
    head: 'survived',
    priority: 0,
    value: (r) => {
      const notes = [r.failed_runs ? `${r.failed_runs} failed` : '', r.aborted_runs ? `${r.aborted_runs} aborted` : ''].filter(Boolean);
      return `${r.survived_runs}/${completedRuns(r)}${notes.length ? ` (${notes.join(', ')})` : ''}`;
    },
  },
  {
    head: '1st fork fail s',
    priority: 0,
    value: (r) => (r.first_fork_failure_s === null ? '–' : formatWithSpread(r.first_fork_failure_s, r.first_fork_failure_spread_s)),
  },
  { head: 'orphans before', priority: 2, value: formatOrphansBeforeFailure },
  { head: 'zombies peak', priority: 1, value: (r) => formatNumber(r.zombies_peak) },
  { head: 'p50 µs', priority: 0, value: (r) => formatNumber(r.reap_latency_p50_us) },
  { head: 'p99 µs', priority: 1, value: (r) => formatNumber(r.reap_latency_p99_us) },
  { head: 'unreaped', priority: 1, value: (r) => formatNumber(r.unreaped) },
  { head: 'PID1 RSS KiB', priority: 2, value: (r) => formatNumber(r.pid1_rss_kib) },
  { head: 'PID1 CPU ms', priority: 3, value: (r) => formatNumber(r.pid1_cpu_ms) },
];

/**
 * The summary as a box table for the terminal, at most `width` columns wide: configuration
 * fields that are the same on every row move to a heading line, and the least important
 * columns are dropped until the table fits. Init names are colored when `color` is set.
 */
export function renderSummaryTable(summary: readonly SummaryRow[], opts: { color: boolean; width: number }): string {
  const rows = [...summary].sort(compareCells);
  if (rows.length === 0) return 'No run was recorded.\n';
  const constant = CONFIG_FIELDS.filter((f) => new Set(rows.map((r) => r[f])).size === 1);
  const varying = CONFIG_FIELDS.filter((f) => !constant.includes(f)).map((f) => CONFIG_COLUMNS[f]);
  let columns: Column[] = [{ head: 'init', priority: 0, value: (r) => r.init }, ...varying, ...MEASURE_COLUMNS];
  const all = columns;
  const cells = (cs: Column[]): string[][] => rows.map((r) => cs.map((c) => c.value(r)));
  const heading = wrap(
    constant.map((f) => `${HEADING_LABEL[f]}=${String(rows[0]![f])}${unit(f)}`),
    opts.width,
  );
  while (tableWidth(columns, cells(columns)) > opts.width) {
    const worst = Math.max(...columns.map((c) => c.priority));
    // Even the essential columns do not fit: one block of `head: value` lines per row instead.
    // Vertical space is cheap there, so every column is shown.
    if (worst === 0) return heading + renderList(rows, all, opts);
    const idx = columns.map((c) => c.priority).lastIndexOf(worst);
    columns = columns.filter((_, i) => i !== idx);
  }
  const table = new Table({
    head: columns.map((c) => c.head),
    // compact: a rule under the heading only, none between body rows.
    style: opts.color ? { head: ['bold'], border: ['grey'], compact: true } : { head: [], border: [], compact: true },
    colAligns: columns.map((c, i) => (i === 0 || c.head === 'scenario' ? 'left' : 'right')),
  });
  for (const [i, r] of rows.entries()) {
    const line = cells(columns)[i]!;
    if (opts.color) line[0] = `${INIT_COLORS[r.init]?.ansi ?? ''}${line[0]}${RESET}`;
    table.push(line);
  }
  // Name what the width hid, so that a reader knows what to look for in summary.csv.
  const hidden = all.filter((c) => !columns.includes(c)).map((c) => c.head);
  return `${heading}${table.toString()}\n${hidden.length ? wrapText(`(hidden for width: ${hidden.join(', ')}; all in summary.csv)`, opts.width) : ''}`;
}

/**
 * The narrow form of the summary: per row, the init on a line of its own, then `head: value`
 * lines, cut to `width` characters (the table's columns do not fit side by side).
 */
function renderList(rows: SummaryRow[], columns: Column[], opts: { color: boolean; width: number }): string {
  const cut = (l: string): string => ([...l].length > opts.width ? `${[...l].slice(0, Math.max(1, opts.width - 1)).join('')}…` : l);
  const blocks = rows.map((r) => {
    const name = opts.color ? `${INIT_COLORS[r.init]?.ansi ?? ''}${r.init}${RESET}` : r.init;
    return [name, ...columns.slice(1).map((c) => cut(`  ${c.head}: ${c.value(r)}`))].join('\n');
  });
  return `${blocks.join('\n')}\n${cut('(narrow terminal: one block per row)')}\n`;
}

const HEADING_LABEL: Record<(typeof CONFIG_FIELDS)[number], string> = {
  scenario: 'scenario',
  pids_limit: 'limit',
  rate_per_s: 'rate',
  lifetime_ms: 'life',
  duration_s: 'duration',
};

/** `text` wrapped at spaces into lines of at most `width` characters (each line ends with a newline). */
export function wrapText(text: string, width: number): string {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines.map((l) => `${l}\n`).join('');
}

/** Join words with two spaces into lines of at most `width` characters (each line ends with a newline). */
function wrap(words: string[], width: number): string {
  const lines: string[] = [];
  for (const w of words) {
    const last = lines[lines.length - 1];
    if (last !== undefined && last.length + 2 + w.length <= width) lines[lines.length - 1] = `${last}  ${w}`;
    else lines.push(w);
  }
  return lines.map((l) => `${l}\n`).join('');
}

function unit(f: (typeof CONFIG_FIELDS)[number]): string {
  return f === 'lifetime_ms' ? 'ms' : f === 'duration_s' ? 's' : f === 'rate_per_s' ? '/s' : '';
}

/** Width cli-table3 will draw: each column is its widest cell + 2 padding, plus borders. */
function tableWidth(columns: Column[], body: string[][]): number {
  let w = columns.length + 1;
  columns.forEach((c, i) => {
    w += Math.max(c.head.length, ...body.map((r) => r[i]!.length)) + 2;
  });
  return w;
}
