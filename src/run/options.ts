/**
 * The options of `reapbench run`: as the command line (src/cli/main.ts) hands them over, and the
 * one table of their defaults. They live with the command, not with the parser, so that the
 * command depends on nothing in cli/; it imports only the model, so that `--help` stays light.
 * request.ts turns them into the one frozen request a run reads.
 */

import type { Instrument } from '../model/instrument.js';

/**
 * The options that say where the results go and how they are judged, as commander delivers them:
 * the same for `reapbench run` and `reapbench merge` (which writes a run's folder again).
 */
export interface ReportCliOptions {
  out: string;
  ci: boolean;
  baseline?: string;
  p50Factor: string;
  /** `--export-bmf <file>`: the load summary as Bencher Metric Format JSON (export/trend.ts). */
  exportBmf?: string;
  /** `--export-benchmark-action <file>`: the load summary as github-action-benchmark `customSmallerIsBetter` JSON. */
  exportBenchmarkAction?: string;
  verbose: boolean;
}

/** Options of `reapbench run` as commander delivers them (strings until validated). */
export interface RunCliOptions extends ReportCliOptions {
  preset?: string;
  inits?: string;
  scenario?: string;
  limits?: string;
  rates?: string;
  lifetimeMs?: string;
  durationS?: string;
  repetitions?: string;
  warmup: boolean;
  seed?: string;
  runTimeoutS?: string;
  matrix?: string;
  /** `--shard i/n`: measure slice i of n of the matrix (shard.ts). */
  shard?: string;
  base: string;
  progress: boolean;
  pin: boolean;
  instrument: string;
}

/**
 * Every default of `reapbench run` that is not a matrix axis, in one table: the command line
 * shows them in `--help` and request.ts applies them. The matrix axes default to the preset's
 * (`PRESETS` in matrix.ts; `preset` here names which), and `--seed` to the clock.
 */
export const RUN_DEFAULTS = Object.freeze({
  /** Starting matrix: `quick` finishes in under 2 minutes with warm images. */
  preset: 'quick',
  /** Base image: `auto` tries the registry, then assembles one from this host. */
  base: 'auto' as 'auto' | 'offline' | 'registry',
  /** Results root; each run gets `<out>/<UTC timestamp>/`. */
  out: 'results',
  /** With `--baseline`: a reap latency p50 worse by more than this factor (×) is a regression. */
  p50Factor: 2,
  /** Discard one warm-up run first. */
  warmup: true,
  /** Draw a progress bar (on a terminal, outside CI). */
  progress: true,
  /** Pin the watcher and the workload to different CPUs (when there are ≥ 2). */
  pin: true,
  /** How latencies are measured: `auto` takes the kernel instrument (`ebpf`) where it can be
   * loaded and says why not otherwise, then uses the in-container watcher (`pidfd`). */
  instrument: 'auto' as 'auto' | Instrument,
  /** Stack traces and engine build output. */
  verbose: false,
});

/**
 * `--ci`'s default: on when the `CI` environment variable is `true` or `1` (GitHub Actions and
 * most CI services set `CI=true`).
 */
export function ciFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}
