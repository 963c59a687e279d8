/**
 * The one output object of `reapbench run`: every line the run writes to stderr (its news,
 * warnings, image build output, failed runs, the baseline verdict) and its progress go through
 * it. Which kind it is gets decided once, here (hyperfine's progress-bar factory): on a terminal
 * a progress bar with the lines printed above it, elsewhere (a pipe, a file, CI) plain lines and
 * no bar. Callers never ask which one they hold.
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
  /** End the progress display (idempotent); lines can still be printed after it. */
  stop(): void;
}

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

/** Plain lines and no progress: for a pipe, a file or CI, whose logs a bar would fill with redraws. */
class PlainOutput implements RunOutput {
  readonly bar = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}
  line(text: string): void {
    this.stream.write(`${text}\n`);
  }
  start(): void {}
  update(): void {}
  stop(): void {}
}
