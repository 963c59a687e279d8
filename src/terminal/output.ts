/**
 * The one output object of `reapbench run`: every line the run writes to stderr (its news,
 * warnings, image build output, failed runs, the baseline verdict) and its progress go through
 * it. Which kind it is gets decided once, here (hyperfine's progress-bar factory): on a terminal
 * a progress bar with the lines printed above it, elsewhere (a pipe, a file, CI) plain lines, one
 * of them per run that ended, and no bar. Callers never ask which one they hold.
 */
import { ProgressBarOutput } from './progress.js';

/** Where a run's stderr lines and progress go. */
export interface RunOutput {
  /** Whether a progress bar is drawn (for tests; nothing a caller prints depends on it). */
  readonly bar: boolean;
  /** Print one line (`text` without its newline), above the bar when there is one. */
  line(text: string): void;
  /** Begin with `total` container runs planned (count). */
  start(total: number): void;
  /**
   * A run starts: show its `label`. `index` is its 0-based position (= runs done before it);
   * `total`, when given, updates the planned count.
   */
  update(label: string, index: number, total?: number): void;
  /**
   * A run ended. Without a bar: one plain line per run, `run <index + 1>/<total> <label>:
   * <outcome>`, so that a log or CI shows the progress the bar would have. With a bar: the bar
   * advances to `index + 1`, and only a notable run gets a line (`<label>: <outcome>`) above it.
   */
  finished(end: RunEnd): void;
  /** End the progress display (idempotent); lines can still be printed after it. */
  stop(): void;
}

/** How one container run ended, for {@link RunOutput.finished}. */
export interface RunEnd {
  /** The run, as `update` labelled it: init, configuration, repetition (`tini orphans L128 250/s rep 0`). */
  label: string;
  /** Its 0-based position among the planned runs (= runs ended before it). */
  index: number;
  /** Runs planned (count). */
  total: number;
  /** What came of it, one clause of plain text: `survived, p50 24 µs`, `timed-out: <reason>`. */
  outcome: string;
  /** It did not complete, or not as expected: a line even above a progress bar. */
  notable: boolean;
}

/** The plain progress line of a run that ended: `run 3/12 tini orphans L128 250/s rep 0: survived, p50 24 µs`. */
export function runEndLine(end: RunEnd): string {
  return `run ${end.index + 1}/${end.total} ${end.label}: ${end.outcome}`;
}

/**
 * The width (columns) the end-of-run report is laid out for on `stream`: a terminal's own
 * width; else the `COLUMNS` variable of `env` when it is a positive integer; else Infinity. A
 * pipe or a file has no width of its own, and a report the user reads later in an editor or a
 * pager should not lose table columns to a guess; the renderers give their charts and wrapped
 * text a fixed width of their own when given Infinity. Throws nothing.
 */
export function reportWidth(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): number {
  if (stream.isTTY === true && stream.columns !== undefined && stream.columns > 0) return stream.columns;
  const columns = /^\d+$/.test(env.COLUMNS ?? '') ? Number(env.COLUMNS) : 0;
  return columns > 0 ? columns : Number.POSITIVE_INFINITY;
}

/**
 * Columns given to what cannot be unbounded (charts, wrapped verdicts and notes) when the
 * report's width is Infinity ({@link reportWidth}): a common terminal's width.
 */
export const UNBOUNDED_TEXT_WIDTH = 100;

/** Options of {@link createOutput}. */
export interface OutputOptions {
  /** The user wants a progress bar (`--progress`, not `--ci`); it is drawn only where it can be. */
  progress: boolean;
  /** Where everything goes (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** The environment (default process.env): a `CI` variable other than '' or `false` hides the bar. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The output object for a run: a progress bar when `progress` is asked for, `stream` is a
 * terminal and no CI is set in `env`; plain lines otherwise. Throws nothing.
 */
export function createOutput(options: OutputOptions): RunOutput {
  const stream = options.stream ?? process.stderr;
  const ci = (options.env ?? process.env).CI;
  const ciEnv = ci !== undefined && ci !== '' && ci !== 'false';
  return options.progress && !ciEnv && stream.isTTY === true ? new ProgressBarOutput(stream) : new PlainOutput(stream);
}

/**
 * Plain lines and no bar, for a pipe, a file or CI, whose logs a bar would fill with redraws:
 * the progress is one line per run that ended, with no ANSI code.
 */
class PlainOutput implements RunOutput {
  readonly bar = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}
  line(text: string): void {
    this.stream.write(`${text}\n`);
  }
  start(): void {}
  update(): void {}
  finished(end: RunEnd): void {
    this.line(runEndLine(end));
  }
  stop(): void {}
}
