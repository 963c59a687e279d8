/**
 * The NDJSON results file. Written synchronously (no libuv thread pool: its threads would be
 * tasks in the measured cgroup) to `<out>.partial`, renamed to `<out>` only by
 * {@link NdjsonWriter.commit} after the summary line, so a file with the final name is always
 * complete.
 */
import { closeSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { LoadgenEvent } from './types.js';

/** Buffered NDJSON writer with atomic completion. */
export class NdjsonWriter {
  readonly partialPath: string;
  private fd: number;
  private buf: string[] = [];
  private bytes = 0;

  /**
   * Create (truncate) `<out>.partial`, making the directory if needed.
   * @throws Error (ENOENT, EACCES…) when the file cannot be created: checked before any work.
   */
  constructor(readonly out: string) {
    mkdirSync(path.dirname(out), { recursive: true });
    this.partialPath = `${out}.partial`;
    this.fd = openSync(this.partialPath, 'w');
  }

  /** Queue one event line; flushed at 64 KiB or by {@link flush}. */
  write(e: LoadgenEvent): void {
    const line = JSON.stringify(e) + '\n';
    this.buf.push(line);
    this.bytes += line.length;
    if (this.bytes >= 65536) this.flush();
  }

  /** Write queued lines to the file. */
  flush(): void {
    if (this.buf.length === 0 || this.fd < 0) return;
    writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.bytes = 0;
  }

  /** Flush, close and rename `<out>.partial` → `<out>`. Call after writing the summary. */
  commit(): void {
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.partialPath, this.out);
  }

  /** Flush and close, leaving the `.partial` name (an incomplete run). Idempotent. */
  abandon(): void {
    if (this.fd < 0) return;
    this.flush();
    closeSync(this.fd);
    this.fd = -1;
  }

  /** Close and delete `<out>.partial`: for runs refused before anything was measured. */
  discard(): void {
    this.abandon();
    try {
      unlinkSync(this.partialPath);
    } catch {
      // already gone
    }
  }
}
