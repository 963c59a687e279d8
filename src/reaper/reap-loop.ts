/**
 * Main-thread side of reaping: boots the wait thread (wait-worker.ts) and turns its messages
 * into promises. The thread reaps everything; the main thread only learns the main child's
 * status and when no children are left.
 *
 * Booted before the child exists: the thread needs 35–65 ms to boot (its own V8 isolate and
 * koffi) on the project's machines, and orphans that exited meanwhile used to be reaped by a
 * stand-in (one `waitpid(-1)` at a time on a libuv pool thread, each turn through the main
 * thread's event loop), milliseconds late while the boot took the CPU: measured by the kernel
 * instrument (`npm run bench:startup-reaping`), a max ×7 and a mean ×8 of tini's when the load
 * starts with the init. So ts-reaper creates the thread first thing, reads its options and sets
 * up its signals while the thread boots (on another CPU when there is one), and starts the child
 * only once the thread waits: from the child's first instant every exit is reaped by a thread
 * already blocked in `waitpid`.
 */
import type { Worker as WorkerType } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SHARED, SHARED_BYTES, type WaitWorkerBoot, type WaitWorkerData, type WaitWorkerMessage } from './reap-protocol.js';

/** A running wait thread. */
export interface ReapLoop {
  /** Resolves with the raw wait status of the main child once it has been reaped. */
  readonly childExit: Promise<number>;
  /** Resolves once the wait thread has found no children at all (ECHILD); final once true. */
  noChildren(): Promise<void>;
  /** Number of processes reaped so far (own child and adopted orphans). */
  reaped(): number;
}

/** A wait thread that is booting or booted, not yet reaping. */
export interface WaitThread {
  /** Resolves once the thread has booted and waits for {@link WaitThread.start}: start the child then. */
  readonly booted: Promise<void>;
  /**
   * Give the thread the main child's pid and its settings: it applies them to itself and starts
   * reaping (call once, right after the child was spawned).
   * @param childPid the main child, whose status {@link ReapLoop.childExit} resolves with.
   * @param settings see {@link WaitWorkerData} for each field's meaning and units.
   */
  start(childPid: number, settings: WaitThreadSettings): ReapLoop;
}

/**
 * Locate the wait thread's script next to this module: the bundle `ts-reaper-wait-worker.cjs`
 * beside `ts-reaper.cjs` (also inside an image at /app/dist/), or `wait-worker.js` beside the
 * tsc output. Resolved from `import.meta.url`, never from the working directory.
 * @throws Error when neither file exists.
 */
export function waitWorkerUrl(): URL {
  for (const name of ['./ts-reaper-wait-worker.cjs', './wait-worker.js']) {
    const url = new URL(name, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error(`wait thread script not found beside ${fileURLToPath(import.meta.url)}`);
}

/** How the wait thread runs: see {@link WaitWorkerData} for each field's meaning and units. */
export type WaitThreadSettings = Omit<WaitWorkerData, 'childPid'>;

/**
 * Create the wait thread now, before anything else of ts-reaper's start-up, so that its boot
 * overlaps the option parsing and the signal set-up. The thread inherits this thread's signal
 * mask at creation: block what it must not take before calling this.
 * With `require`, not `import()`: in the CommonJS bundle a dynamic import would start Node's
 * ES module loader (~8 ms) at this point.
 * @param onError called if the thread dies (a bug); ts-reaper cannot reap without it.
 * @param log where the verbose start-up line goes.
 * @throws Error when the thread's script is missing ({@link waitWorkerUrl}).
 */
export function bootWaitThread(onError: (err: Error) => void, log: (line: string) => void = () => {}): WaitThread {
  const { Worker, MessageChannel } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const counters = new Int32Array(shared);
  const { port1, port2 } = new MessageChannel();
  const boot: WaitWorkerBoot = { shared, settings: port2 };
  // A small heap: the thread allocates almost nothing.
  const worker: WorkerType = new Worker(waitWorkerUrl(), {
    workerData: boot,
    transferList: [port2],
    stdout: false,
    stderr: false,
    resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 16 },
  });
  let resolveBooted!: () => void;
  const booted = new Promise<void>((r) => (resolveBooted = r));
  let resolveExit!: (status: number) => void;
  const childExit = new Promise<number>((r) => (resolveExit = r));
  // ECHILD is final: without ts-reaper starting another child none can appear (wait-worker.ts).
  let resolveNoChildren!: () => void;
  const noChildren = new Promise<void>((r) => (resolveNoChildren = r));
  worker.on('message', (m: WaitWorkerMessage) => {
    if (m.kind === 'booted') {
      log(`wait thread booted ${performance.now().toFixed(1)} ms after process start`);
      resolveBooted();
    } else if (m.kind === 'child-exit') resolveExit(m.status);
    else if (m.kind === 'no-children') resolveNoChildren();
  });
  worker.on('error', onError);
  worker.on('exit', (code) => onError(new Error(`wait thread exited (code ${code})`)));
  const loop: ReapLoop = {
    childExit,
    noChildren: () => noChildren,
    reaped: () => Atomics.load(counters, SHARED.REAPED),
  };
  return {
    booted,
    start: (childPid, settings) => {
      const data: WaitWorkerData = { childPid, ...settings };
      port1.postMessage(data);
      Atomics.store(counters, SHARED.GO, 1);
      Atomics.notify(counters, SHARED.GO);
      return loop;
    },
  };
}
