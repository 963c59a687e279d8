/**
 * The kernel instrument as a child process: start the loader (dist/tracer), wait for its
 * `ready` line (its programs are attached: from then on every event is recorded), keep every
 * event it prints, and stop it on demand, on abort, or when this process exits. Events are not
 * filtered here: the container's PID namespace is usually learnt after its PID 1 started, i.e.
 * after its first events, so filtering happens in {@link matchTrace}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ReapbenchError } from '../errors.js';
import { tracerBinaryPath } from './availability.js';
import { parseTracerLine, type TracerEvent, type TracerStats } from './protocol.js';

/** Options of {@link startTracer}. */
export interface StartTracerOptions {
  /** Aborting it stops the loader (SIGKILL) and rejects a pending start with the abort reason. */
  signal?: AbortSignal;
  /** The loader binary (default: {@link tracerBinaryPath}). */
  binary?: string;
  /** How long the loader may take to load and attach, ms (default 30,000: ~0.1 s here idle, seconds on a loaded machine). */
  readyTimeoutMs?: number;
  /** How long {@link Tracer.stop} waits for the loader to drain and exit before SIGKILL, ms (default 10,000). */
  stopTimeoutMs?: number;
}

/** What a stopped tracer recorded. */
export interface Trace {
  /** Every event, in the order the loader printed them (per-CPU order; sort by `tsNs` for time order). */
  events: TracerEvent[];
  /** The loader's closing counts, or null when it did not close properly (killed, crashed): then events may be missing. */
  stats: TracerStats | null;
  /** When the programs were attached (the `ready` line), CLOCK_MONOTONIC ns. */
  readyNs: bigint;
  /** When stop was asked (or the loader ended on its own), CLOCK_MONOTONIC ns (`process.hrtime.bigint()`). */
  stoppedNs: bigint;
  /** Lines that did not parse (a loader from another build), at most 20 kept. */
  malformed: string[];
  /** The loader's stderr (libbpf's warnings with -v, a one-line diagnosis on failure). */
  stderr: string;
}

/** A running tracer. `stop()` is idempotent. */
export interface Tracer {
  /** The loader's pid (host). */
  readonly pid: number;
  /** When its programs were attached, CLOCK_MONOTONIC ns. */
  readonly readyNs: bigint;
  /** Events so far (the same array {@link Trace.events} returns; reading it parses what arrived since the last read). */
  readonly events: readonly TracerEvent[];
  /** Whether the loader is still running. */
  readonly running: boolean;
  /**
   * Stop the loader (SIGTERM: it detaches, drains its ring buffer, prints its stats and exits;
   * SIGKILL after `stopTimeoutMs`) and return everything it recorded. Never rejects.
   */
  stop(): Promise<Trace>;
}

/** Loaders started and not yet gone: killed when this process exits. */
const live = new Set<ChildProcess>();
let exitHook = false;
function killAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  // 'exit' handlers run synchronously: kill() is. A loader also stops on EOF on its stdin,
  // which covers a parent killed with SIGKILL.
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/**
 * Start the kernel instrument and resolve once its programs are attached.
 * @returns a running {@link Tracer}; from `readyNs` on, every event is recorded.
 * @throws ReapbenchError `tracer: unavailable: …` (the loader's one line: not root, no BTF, a
 *   missing tracepoint) when the loader exits before `ready`; `tracer: not ready after N s` at
 *   the deadline (the loader is then killed); the abort reason when `signal` aborts first.
 *   Check {@link tracerAvailability} first for a reason without starting anything.
 */
export function startTracer(options: StartTracerOptions = {}): Promise<Tracer> {
  const binary = options.binary ?? tracerBinaryPath();
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  if (options.signal?.aborted) return Promise.reject(options.signal.reason);
  killAllOnExit();

  const child = spawn(binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  const events: TracerEvent[] = [];
  const malformed: string[] = [];
  let stats: TracerStats | null = null;
  let stderr = '';
  let readyNs: bigint | null = null;
  let stoppedNs: bigint | null = null;
  let exited = false;
  let onReady: (() => void) | null = null;
  const closed = new Promise<void>((resolve) => {
    const gone = (): void => {
      if (exited) return;
      exited = true;
      live.delete(child);
      stoppedNs ??= process.hrtime.bigint();
      resolve();
    };
    child.on('close', gone);
    // A spawn that failed (no binary, not executable) may never emit 'close'.
    child.on('error', (e) => {
      stderr += `tracer: cannot start ${binary}: ${e.message}\n`;
      if (child.pid === undefined) gone();
    });
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => (stderr = (stderr + d).slice(-16_384)));
  child.stdin.on('error', () => {}); // EPIPE when the loader is gone first: nothing to tell it

  // Lines are parsed when the events are asked for (the `events` getter, stop()), not as they
  // arrive: during a run the tracer's own CPU time competes with the workload it measures (two
  // cores here), and parsing ~20,000 lines/s was a visible part of it. Only the `ready` line is
  // looked for at once.
  let rest = '';
  let chunks: string[] = [];
  const parse = (text: string): void => {
    const lines = (rest + text).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line === '') continue;
      try {
        const l = parseTracerLine(line);
        if (l.kind === 'event') events.push(l.event);
        else if (l.kind === 'stats') stats = l.stats;
        else {
          readyNs = l.tsNs;
          onReady?.();
        }
      } catch {
        if (malformed.length < 20) malformed.push(line);
      }
    }
  };
  const drain = (): TracerEvent[] => {
    if (chunks.length > 0) {
      const text = chunks.join('');
      chunks = [];
      parse(text);
    }
    return events;
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    if (readyNs === null) parse(chunk);
    else chunks.push(chunk);
  });

  let stopping: Promise<Trace> | null = null;
  const stop = (): Promise<Trace> => {
    stopping ??= (async () => {
      stoppedNs ??= process.hrtime.bigint();
      if (!exited) {
        child.kill('SIGTERM');
        child.stdin.end();
        const t = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
        await closed;
        clearTimeout(t);
      }
      options.signal?.removeEventListener('abort', onAbort);
      drain();
      return { events, stats, readyNs: readyNs ?? 0n, stoppedNs: stoppedNs ?? process.hrtime.bigint(), malformed, stderr };
    })();
    return stopping;
  };
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  return new Promise<Tracer>((resolve, reject) => {
    // Removed once settled: a run of many tracers on one signal must not pile up listeners.
    const onStartAbort = (): void => fail(options.signal?.reason);
    // The first reason wins: a deadline or an abort kills the loader, whose exit must not then
    // replace that reason with "exited before it was ready".
    let failed = false;
    const fail = (err: unknown): void => {
      failed = true;
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onStartAbort);
      options.signal?.removeEventListener('abort', onAbort);
      child.kill('SIGKILL');
      // Settle only once the loader is gone, so that a caller never outlives a loader it did not get.
      void closed.then(() => reject(err));
    };
    const deadline = setTimeout(
      () =>
        fail(
          new ReapbenchError(
            `tracer: not ready after ${Math.round(readyTimeoutMs / 1000)} s (loading the eBPF programs); stderr: ${stderr.trim().split('\n')[0] ?? ''}`,
          ),
        ),
      readyTimeoutMs,
    );
    options.signal?.addEventListener('abort', onStartAbort, { once: true });
    void closed.then(() => {
      if (readyNs !== null || failed) return;
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onStartAbort);
      options.signal?.removeEventListener('abort', onAbort);
      const line = stderr.trim().split('\n').filter(Boolean).pop();
      const why = line?.replace(/^tracer: /, '') ?? `the loader ${binary} exited with code ${String(child.exitCode)} before it was ready`;
      reject(new ReapbenchError(`tracer: ${why}`));
    });
    onReady = () => {
      clearTimeout(deadline);
      options.signal?.removeEventListener('abort', onStartAbort);
      const tracer: Tracer = {
        pid: child.pid!,
        readyNs: readyNs!,
        get events() {
          return drain();
        },
        get running() {
          return !exited;
        },
        stop,
      };
      resolve(tracer);
    };
  });
}
