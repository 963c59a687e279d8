import cliProgress from 'cli-progress';

/** Options of {@link ProgressReporter}. */
export interface ProgressOptions {
  /**
   * Show the bar. Default: only when stdout and `stream` are terminals and neither CI mode
   * (`ci`) nor the `CI` environment variable is set.
   */
  enabled?: boolean;
  /** CI mode: never show the bar. */
  ci?: boolean;
  /** Where the bar is drawn (default process.stderr, so stdout stays clean for results). */
  stream?: NodeJS.WriteStream;
}

/**
 * A progress bar for the benchmark matrix: runs done of total, ETA, and the run in progress
 * (init and configuration). When hidden, `update` prints nothing and `warn` writes plain lines.
 */
export class ProgressReporter {
  /** Whether the bar is drawn. */
  readonly enabled: boolean;
  private readonly stream: NodeJS.WriteStream;
  private multi: cliProgress.MultiBar | null = null;
  private bar: cliProgress.SingleBar | null = null;
  private total = 0;
  private updates = 0;
  private startedAt = 0;

  constructor(options: ProgressOptions = {}) {
    this.stream = options.stream ?? process.stderr;
    const ciEnv = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
    this.enabled = !options.ci && !ciEnv && (options.enabled ?? (process.stdout.isTTY === true && this.stream.isTTY === true));
  }

  /** Start with `total` runs planned (count). */
  start(total: number): void {
    this.total = total;
    this.updates = 0;
    if (!this.enabled || this.multi) return;
    this.multi = new cliProgress.MultiBar(
      {
        stream: this.stream,
        format: ' {bar} {value}/{total} runs | ETA {eta_text} | {label}',
        barsize: 24,
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    this.startedAt = Date.now();
    this.bar = this.multi.create(total, 0, { label: 'starting…', eta_text: '…' });
  }

  /**
   * A run starts: show its `label`. `index` is its 0-based position (= runs done before it);
   * without it, each call counts the previous run as done. `total` updates the planned count.
   */
  update(label: string, index?: number, total?: number): void {
    const done = index ?? this.updates;
    this.updates = done + 1;
    if (total !== undefined && total !== this.total) {
      this.total = total;
      this.bar?.setTotal(total);
    }
    this.bar?.update(done, { label, eta_text: this.eta(done) });
  }

  /** Time left from the mean time per run so far (`…` before the first run is done). */
  private eta(done: number): string {
    if (done <= 0) return '…';
    const s = Math.round((((Date.now() - this.startedAt) / done) * Math.max(this.total - done, 0)) / 1000);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  }

  /** A one-line message (e.g. a failed run) printed above the bar, or as a plain line. */
  warn(line: string): void {
    if (this.multi) this.multi.log(`${line}\n`);
    else this.stream.write(`${line}\n`);
  }

  /** Stop and leave the bar's last state on screen; when every run was started, as all done (idempotent). */
  stop(): void {
    if (!this.multi) return;
    if (this.updates === this.total) this.bar?.update(this.total, { eta_text: '0s' });
    this.multi.stop();
    this.multi = null;
    this.bar = null;
  }
}
