/**
 * Main-thread side of reaping: starts the wait thread (wait-worker.ts) and turns its messages
 * into promises. The thread reaps everything; the main thread only learns the main child's
 * status and when no children are left.
 */
import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SHARED, SHARED_BYTES, type WaitWorkerData, type WaitWorkerMessage } from './reap-protocol.js';

/** A running wait thread. */
export interface ReapLoop {
  /** Resolves with the raw wait status of the main child once it has been reaped. */
  readonly childExit: Promise<number>;
  /** Resolves once the wait thread has found no children at all (ECHILD); final once true. */
  noChildren(): Promise<void>;
  /** Number of processes reaped so far (own child and adopted orphans). */
  reaped(): number;
}

/**
 * Locate the wait thread's script next to this module: the bundle `ts-reaper-wait-worker.mjs`
 * beside `ts-reaper.mjs` (also inside an image at /app/dist/), or `wait-worker.js` beside the
 * tsc output. Resolved from `import.meta.url`, never from the working directory.
 * @throws Error when neither file exists.
 */
export function waitWorkerUrl(): URL {
  for (const name of ['./ts-reaper-wait-worker.mjs', './wait-worker.js']) {
    const url = new URL(name, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error(`wait thread script not found beside ${fileURLToPath(import.meta.url)}`);
}

/**
 * Start the wait thread for main child `childPid`; `nice` (−20…19, 0: unchanged) applies to
 * that thread only. Call it after the child is spawned (the child
 * may already have exited: its zombie waits for the thread).
 * @param onError called if the thread dies (a bug); ts-reaper cannot reap without it.
 */
export function startReapLoop(childPid: number, verbose: boolean, nice: number, onError: (err: Error) => void): ReapLoop {
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const counters = new Int32Array(shared);
  const data: WaitWorkerData = { childPid, verbose, nice, shared };
  // A small heap: the thread allocates almost nothing.
  const worker = new Worker(waitWorkerUrl(), {
    workerData: data,
    stdout: false,
    stderr: false,
    resourceLimits: { maxYoungGenerationSizeMb: 4, maxOldGenerationSizeMb: 16 },
  });
  let resolveExit!: (status: number) => void;
  const childExit = new Promise<number>((r) => (resolveExit = r));
  // ECHILD is final: without ts-reaper starting another child none can appear (wait-worker.ts).
  let resolveNoChildren!: () => void;
  const noChildren = new Promise<void>((r) => (resolveNoChildren = r));
  worker.on('message', (m: WaitWorkerMessage) => {
    if (m.kind === 'child-exit') resolveExit(m.status);
    else resolveNoChildren();
  });
  worker.on('error', onError);
  worker.on('exit', (code) => onError(new Error(`wait thread exited (code ${code})`)));
  return {
    childExit,
    noChildren: () => noChildren,
    reaped: () => Atomics.load(counters, SHARED.REAPED),
  };
}
