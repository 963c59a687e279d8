/**
 * SVG charts of a benchmark, drawn by vega-lite (spec) and vega (rendering, no browser). The
 * spec builders are pure; {@link renderSvg} is the only rendering step.
 *
 * Charts (one file each), of completed runs only; a chart whose group holds runs that did not
 * complete names them in its subtitle ({@link leftOutPhrase}):
 * - `zombies-<config>.svg`: zombie count over time (s), one line per init and repetition.
 * - `latency-<config>.svg`: reaping latency distribution (µs, log scale) per init, as the share
 *   of reaped orphans per log-spaced bin, summed over the completed repetitions.
 * - `survival-<group>.svg` (rate sweeps only, ≥ 2 rates): survival time (s; time to first fork
 *   failure, or the run duration when it survived) versus orphan rate (per s), per init.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { median } from 'simple-statistics';
import type { InitName } from '../model/inits.js';
import type { RunConfig } from '../model/config.js';
import { seriesMethod, type LatencyBin, type RunRecord } from '../model/records.js';
import { compareCells, compareConfigs, configKey, configLabel, groupBy, initIndex } from '../stats/config-key.js';
import { mergeHistograms } from '../stats/histogram.js';
import { initColorScale } from '../model/init-colors.js';
import { leftOutPhrase } from './format.js';

/** One chart to write: file name (relative to `charts/`), title, and its spec. */
export interface ChartSpec {
  file: string;
  title: string;
  spec: TopLevelSpec;
}

/** Most points drawn per run line; longer series are reduced by keeping each bucket's peak. */
export const MAX_POINTS_PER_LINE = 400;

/** Colour of the survival chart's "whole run survived" line (hex): no init's, see init-colors.ts. */
export const SURVIVED_RULE_COLOR = '#000000';

const WIDTH = 640;
const HEIGHT = 300;
/** Shared look: readable fonts, white background. */
const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  background: 'white',
  axis: { labelFontSize: 12, titleFontSize: 13 },
  legend: { labelFontSize: 12, titleFontSize: 13 },
  title: { fontSize: 15, subtitleFontSize: 12, anchor: 'start' as const },
};

/** Build every chart spec for a set of runs (pure; configs in sort order). */
export function chartSpecs(runs: readonly RunRecord[]): ChartSpec[] {
  const out: ChartSpec[] = [];
  for (const group of groupBy(runs, configKey).sort((a, b) => compareConfigs(a[0]!, b[0]!))) {
    const z = zombiesChartSpec(group);
    if (z) out.push(z);
    const l = latencyChartSpec(group);
    if (l) out.push(l);
  }
  const sweepKey = (r: RunConfig): string => `${r.scenario}|${r.pids_limit}|${r.lifetime_ms}|${r.duration_s}`;
  for (const group of groupBy(runs, sweepKey).sort((a, b) => compareConfigs(a[0]!, b[0]!))) {
    const s = survivalChartSpec(group);
    if (s) out.push(s);
  }
  return out;
}

/**
 * Zombie count over time for the runs of one configuration, one line per completed run; null
 * when no completed run has samples. A run that did not complete is left out (its samples stop
 * where it broke off) and named in the subtitle.
 */
export function zombiesChartSpec(runs: readonly RunRecord[]): ChartSpec | null {
  const sorted = runs.filter((r) => r.state === 'completed').sort((a, b) => compareCells(a, b) || a.repetition - b.repetition);
  const values = sorted.flatMap((r) =>
    downsample(r.series, MAX_POINTS_PER_LINE).map((p) => ({
      init: r.init,
      run: `${r.init} #${r.repetition + 1}`,
      t_s: p.t_s,
      zombies: p.zombies,
    })),
  );
  if (values.length === 0) return null;
  const c = sorted[0]!;
  const title = `Zombies over time — ${configLabel(c)}`;
  return {
    file: `zombies-${fileSlug(c)}.svg`,
    title,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: { text: 'Zombie processes over time, per init', subtitle: [...subtitle(c, sorted), ...leftOut(runs)] },
      width: WIDTH,
      height: HEIGHT,
      config: CONFIG,
      data: { values },
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2, opacity: 0.85 },
      encoding: {
        x: { field: 't_s', type: 'quantitative', title: 'time since production started (s)' },
        y: { field: 'zombies', type: 'quantitative', title: `zombies (count; ${seriesMethod(c.latency_method)})` },
        color: { field: 'init', type: 'nominal', title: 'PID 1', scale: initColorScale(values.map((v) => v.init)) },
        detail: { field: 'run', type: 'nominal' },
      },
    },
  };
}

/**
 * Reaping latency distribution per init for one configuration, from its completed runs; null
 * when they reaped nothing. The subtitle names the inits whose completed runs reaped no orphan,
 * and the runs that did not complete.
 */
export function latencyChartSpec(runs: readonly RunRecord[]): ChartSpec | null {
  const done = runs.filter((r) => r.state === 'completed');
  const byInit = new Map<InitName, LatencyBin[]>();
  for (const init of new Set(done.map((r) => r.init))) {
    const merged = mergeHistograms(done.filter((r) => r.init === init).map((r) => r.latency_histogram));
    if (merged.some((b) => b.count > 0)) byInit.set(init, merged);
  }
  if (byInit.size === 0) return null;
  // Show the range of occupied bins across inits, one empty bin either side.
  const all = [...byInit.values()].flat();
  const occupied = all.filter((b) => b.count > 0);
  const lo = Math.min(...occupied.map((b) => b.lo_us));
  const hi = Math.max(...occupied.map((b) => b.hi_us));
  const values = [...byInit.entries()]
    .sort((a, b) => initIndex(a[0]) - initIndex(b[0]))
    .flatMap(([init, bins]) => {
      const total = bins.reduce((s, b) => s + b.count, 0);
      const width = bins.length > 1 ? bins[1]!.lo_us / bins[0]!.lo_us : 10;
      return bins
        .filter((b) => b.hi_us >= lo / width && b.lo_us <= hi * width)
        .map((b) => ({
          init,
          center_us: Math.sqrt(Math.max(b.lo_us, 0.001) * b.hi_us),
          share_pct: (100 * b.count) / total,
          count: b.count,
        }));
    });
  const c = runs[0]!;
  // An init with no completed run did not measure "no orphan reaped": the left-out line names it.
  const missing = [...new Set(done.map((r) => r.init))].filter((i) => !byInit.has(i));
  return {
    file: `latency-${fileSlug(c)}.svg`,
    title: `Reaping latency — ${configLabel(c)}`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: {
        text: 'Reaping latency (exit → reaped) per init',
        subtitle: [configLabel(c), ...(missing.length ? [`no orphan reaped: ${missing.join(', ')}`] : []), ...leftOut(runs)],
      },
      width: WIDTH,
      height: HEIGHT,
      config: CONFIG,
      data: { values },
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x: {
          field: 'center_us',
          type: 'quantitative',
          title: 'zombie lifetime (µs, log scale; log-spaced bins)',
          scale: { type: 'log' },
          axis: { format: '~s' },
        },
        y: { field: 'share_pct', type: 'quantitative', title: 'share of reaped orphans (%)' },
        color: { field: 'init', type: 'nominal', title: 'PID 1', scale: initColorScale(byInit.keys()) },
      },
    },
  };
}

/**
 * Survival time versus orphan rate for one (scenario, limit, lifetime, duration) group; null
 * unless its completed runs cover at least two rates. Survival time of a run: first fork
 * failure (s), or `duration_s` when no fork failed; plotted: the median per init × rate. The
 * runs that did not complete are named in the subtitle.
 */
export function survivalChartSpec(runs: readonly RunRecord[]): ChartSpec | null {
  const done = runs.filter((r) => r.state === 'completed');
  const rates = [...new Set(done.map((r) => r.rate_per_s))];
  if (rates.length < 2) return null;
  const cells = groupBy(done, (r) => `${r.init}|${r.rate_per_s}`).sort((a, b) => compareCells(a[0]!, b[0]!));
  const values = cells.map((g) => {
    const r = g[0]!;
    const survived = g.filter((x) => x.first_fork_failure_s === null).length;
    return {
      init: r.init,
      rate_per_s: r.rate_per_s,
      survival_s: median(g.map((x) => x.first_fork_failure_s ?? x.duration_s)),
      outcome: survived === g.length ? 'survived' : survived === 0 ? 'forks failed' : 'mixed',
    };
  });
  const c = done[0]!;
  const logX = Math.max(...rates) / Math.min(...rates) >= 10 && Math.min(...rates) > 0;
  return {
    file: `survival-${slug(c.scenario)}-L${c.pids_limit}-life${c.lifetime_ms}ms-${c.duration_s}s.svg`,
    title: `Survival time vs orphan rate — ${c.scenario} limit=${c.pids_limit}`,
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      title: {
        text: 'Survival time versus orphan rate, per init',
        subtitle: [
          `${c.scenario} limit=${c.pids_limit} life=${c.lifetime_ms}ms; median over repetitions`,
          `black dashed line: ${c.duration_s} s, the whole run survived (no fork failed); inits with identical results overlap`,
          ...leftOut(runs),
        ],
      },
      width: WIDTH,
      height: HEIGHT,
      config: CONFIG,
      layer: [
        {
          data: { values },
          mark: { type: 'line', point: { size: 60, filled: true }, strokeWidth: 2 },
          encoding: {
            x: {
              field: 'rate_per_s',
              type: 'quantitative',
              title: `orphan rate (per s${logX ? ', log scale' : ''})`,
              scale: logX ? { type: 'log' } : { zero: false },
            },
            y: {
              field: 'survival_s',
              type: 'quantitative',
              title: 'time to first fork failure (s)',
              scale: { domainMin: 0 },
            },
            color: { field: 'init', type: 'nominal', title: 'PID 1', scale: initColorScale(values.map((v) => v.init)) },
            shape: { field: 'outcome', type: 'nominal', title: 'outcome' },
          },
        },
        // The reference goes last, over the inits' lines: a run that survived sits exactly on
        // it, so drawn underneath it would be hidden wherever an init survived. Black is no
        // init's colour (init-colors.ts), so it is not read as one.
        {
          data: { values: [{ y: c.duration_s }] },
          mark: { type: 'rule', strokeDash: [6, 4], strokeWidth: 1.5, color: SURVIVED_RULE_COLOR },
          encoding: { y: { field: 'y', type: 'quantitative' } },
        },
      ],
    },
  };
}

/** Render a vega-lite spec to an SVG document (vega headless, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A file-name-safe slug of a configuration: `orphans-L128-R1000-life2ms-10s`. */
export function fileSlug(c: RunConfig): string {
  return `${slug(c.scenario)}-L${c.pids_limit}-R${c.rate_per_s}-life${c.lifetime_ms}ms-${c.duration_s}s`;
}

function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9.]+/g, '-')
      .replace(/^-|-$/g, '') || 'x'
  );
}

/** The subtitle line naming the runs of a chart's group that did not complete; none when all did. */
function leftOut(runs: readonly RunRecord[]): string[] {
  const phrase = leftOutPhrase(runs);
  return phrase === null ? [] : [phrase];
}

function subtitle(c: RunConfig, runs: readonly RunRecord[]): string[] {
  const reps = Math.max(...runs.map((r) => r.repetition)) + 1;
  return [`${configLabel(c)}; one line per repetition (${reps})`];
}

/** Reduce a series to at most `max` points, keeping the highest zombie count of each bucket. */
export function downsample<T extends { t_s: number; zombies: number }>(points: readonly T[], max: number): T[] {
  if (points.length <= max) return [...points];
  const size = Math.ceil(points.length / max);
  const out: T[] = [];
  for (let i = 0; i < points.length; i += size) {
    let best = points[i]!;
    for (let j = i + 1; j < Math.min(i + size, points.length); j++) {
      if (points[j]!.zombies > best.zombies) best = points[j]!;
    }
    out.push(best);
  }
  return out;
}
