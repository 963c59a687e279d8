import cliProgress from 'cli-progress';

/**
 * The terminal form of a run's output (made by `createOutput` in output.ts, only for a terminal):
 * a progress bar of runs done of total, ETA, and the run in progress (init and configuration),
 * with every other line printed above it. It has the shape of `RunOutput` (output.ts), which
 * `createOutput` checks; it does not import the interface, so that the two modules form no cycle.
 */
export class ProgressBarOutput {
  readonly bar = true;
  private multi: cliProgress.MultiBar | null = null;
  private progress: cliProgress.SingleBar | null = null;
  private total = 0;
  private updates = 0;
  private startedAt = 0;

  /** `stream`: the terminal the bar is drawn on (stderr, so that stdout stays clean for results). */
  constructor(private readonly stream: NodeJS.WriteStream) {}

  start(total: number): void {
    this.total = total;
    this.updates = 0;
    if (this.multi) return;
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
    this.progress = this.multi.create(total, 0, { label: 'starting…', eta_text: '…' });
  }

  update(label: string, index: number, total?: number): void {
    this.updates = index + 1;
    if (total !== undefined && total !== this.total) {
      this.total = total;
      this.progress?.setTotal(total);
    }
    this.progress?.update(index, { label, eta_text: this.eta(index) });
  }

  /**
   * A run ended (`RunEnd` in output.ts, by shape): the bar counts it and shows its label until
   * the next run starts; a notable run (failed, timed out, unexpected) also gets a line above the
   * bar, `<label>: <outcome>`. The others get none: the bar already says the run is done.
   */
  finished(end: { label: string; index: number; total: number; outcome: string; notable: boolean }): void {
    if (end.notable) this.line(`${end.label}: ${end.outcome}`);
    this.updates = Math.max(this.updates, end.index + 1);
    if (end.total !== this.total) {
      this.total = end.total;
      this.progress?.setTotal(end.total);
    }
    this.progress?.update(end.index + 1, { label: end.label, eta_text: this.eta(end.index + 1) });
  }

  /** Time left from the mean time per run so far (`…` before the first run is done). */
  private eta(done: number): string {
    if (done <= 0) return '…';
    const s = Math.round((((Date.now() - this.startedAt) / done) * Math.max(this.total - done, 0)) / 1000);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  }

  line(text: string): void {
    if (this.multi) this.multi.log(`${text}\n`);
    else this.stream.write(`${text}\n`);
  }

  /** Leaves the bar's last state on screen; when every run was started, as all done. */
  stop(): void {
    if (!this.multi) return;
    if (this.updates === this.total) this.progress?.update(this.total, { eta_text: '0s' });
    // Lines go out at the bar's next redraw (every 100 ms), and MultiBar.stop() drops what is
    // still waiting: a line printed just before the end (the last run's failure) would be lost.
    this.multi.update();
    this.multi.stop();
    this.multi = null;
    this.progress = null;
  }
}
