import asciichart from 'asciichart';
import { seriesMethod, type RunRecord } from '../model/records.js';
import { compareCells, configLabel, groupBy, initIndex } from '../stats/config-key.js';
import { INIT_COLORS } from '../model/init-colors.js';
import { leftOutPhrase } from '../export/format.js';
import { wrapText } from './summary-table.js';

const RESET = '\x1b[0m';

/** Options of {@link renderZombieChart}. */
export interface ZombieChartOptions {
  /** ANSI colors, one per init, and a colored legend; without color each init gets its own small chart. */
  color: boolean;
  /** Terminal columns available (the chart never exceeds it). */
  width: number;
  /** Rows of the combined chart (default 10). */
  height?: number;
}

/**
 * Zombies over time for the runs of one configuration, one series per init, as asciichart
 * text. Each init is drawn from one representative run: the completed run with the median
 * `zombies_peak`. A run that did not complete is never drawn (its samples stop where it broke
 * off, which would read as data), so an init with no completed run has no series; the runs
 * left out are named under the legend ({@link leftOutPhrase}). Time is split into equal
 * buckets (one per column) and each bucket shows its highest sampled zombie count, so peaks are
 * never lost; a series ends where its run's samples end. Returns '' when no completed run has
 * samples.
 */
export function renderZombieChart(runs: readonly RunRecord[], opts: ZombieChartOptions): string {
  const reps = representativeRuns(runs);
  if (reps.length === 0) return '';
  const tMax = Math.max(...reps.map((r) => r.series[r.series.length - 1]!.t_s), 1e-9);
  const yMax = Math.max(...reps.flatMap((r) => r.series.map((p) => p.zombies)), 0);
  const labelWidth = Math.max(String(yMax).length, 1) + 1;
  const points = Math.max(10, Math.min(200, opts.width - labelWidth - 4));
  const format = (x: number): string => String(Math.round(x)).padStart(labelWidth);
  const series = reps.map((r) => resample(r, tMax, points));
  // The configuration comes first and the title wraps rather than being cut: it is what tells
  // one chart from the next, and the method text after it is the same for every chart.
  const title = wrapText(
    `Zombies over time — ${configLabel(reps[0]!)} (count, ${seriesMethod(reps[0]!.latency_method)}; x: 0 … ${fmtS(tMax)} s)`,
    opts.width,
  ).trimEnd();
  const axis = `${' '.repeat(labelWidth + 2)}0 s${`${fmtS(tMax)} s`.padStart(Math.max(points - 3, 4))}`;
  if (opts.color) {
    const plot = asciichart.plot(series, {
      height: Math.min(opts.height ?? 10, Math.max(yMax, 1)),
      min: 0,
      format,
      colors: reps.map((r) => INIT_COLORS[r.init]?.ansi),
    });
    const legend = reps.map((r) => `${INIT_COLORS[r.init]?.ansi ?? ''}── ${r.init}${RESET}`).join('  ');
    return [title, trimLineEnds(plot), axis, legend, ...leftOut(runs, opts.width), ''].join('\n');
  }
  // Without color, overlapping lines cannot be told apart: one small chart per init.
  const out = [title];
  reps.forEach((r, i) => {
    out.push(
      `${r.init}:`,
      trimLineEnds(asciichart.plot(series[i]!, { height: Math.min(3, Math.max(yMax, 1)), min: 0, max: yMax, format })),
    );
  });
  out.push(axis, ...leftOut(runs, opts.width), '');
  return out.join('\n');
}

/** The lines naming the runs left out of a chart, wrapped to `width`; none when every run completed. */
function leftOut(runs: readonly RunRecord[], width: number): string[] {
  const phrase = leftOutPhrase(runs);
  return phrase === null ? [] : wrapText(`(${phrase})`, width).trimEnd().split('\n');
}

/** One completed run with samples per init that has one (in INITS order); see {@link renderZombieChart}. */
export function representativeRuns(runs: readonly RunRecord[]): RunRecord[] {
  const sampled = [...runs].sort(compareCells).filter((r) => r.state === 'completed' && r.series.length > 0);
  const out: RunRecord[] = [];
  for (const group of groupBy(sampled, (r) => r.init).sort((a, b) => initIndex(a[0]!.init) - initIndex(b[0]!.init))) {
    const pool = group.sort((a, b) => a.zombies_peak - b.zombies_peak || a.repetition - b.repetition);
    out.push(pool[Math.floor((pool.length - 1) / 2)]!);
  }
  return out;
}

/** Bucket maxima over [0, tMax] in `points` buckets; the array stops at the run's last sample. */
function resample(run: RunRecord, tMax: number, points: number): number[] {
  const out: (number | undefined)[] = new Array(points).fill(undefined);
  let last = 0;
  for (const p of run.series) {
    const i = Math.min(points - 1, Math.max(0, Math.floor((p.t_s / tMax) * points)));
    out[i] = Math.max(out[i] ?? 0, p.zombies);
    last = Math.max(last, i);
  }
  // Empty buckets (samples sparser than columns) carry the previous value.
  const filled: number[] = [];
  let prev = 0;
  for (let i = 0; i <= last; i++) {
    prev = out[i] ?? prev;
    filled.push(prev);
  }
  return filled.length >= 2 ? filled : [filled[0] ?? 0, filled[0] ?? 0];
}

/**
 * `text` with the spaces at the end of each line removed: asciichart pads every row to the
 * chart's full width, which a copied chart, a diff or a log keeps as trailing whitespace.
 * ANSI color codes end at each symbol (asciichart resets after every one), so the padding is
 * always plain spaces after the last code.
 */
function trimLineEnds(text: string): string {
  return text.replace(/[ \t]+$/gm, '');
}

function fmtS(s: number): string {
  return s >= 10 ? s.toFixed(0) : s.toFixed(1);
}
