/**
 * Main-thread side of reaping: starts the wait thread (wait-worker.ts) and turns its messages
 * into promises. The thread reaps everything; the main thread only learns the main child's
 * status and when no children are left.
 *
 * Early reaping: the wait thread needs 35–65 ms to boot (its own V8 isolate and koffi) on the
 * project's machines, and orphans that exit meanwhile stayed zombies until it was up, a p99
 * of that size when the load starts with the container. Until the thread says `ready`, the
 * main thread keeps one `waitpid(-1)` pending on a libuv pool thread (koffi `.async`).
 */
import type { Worker as WorkerType } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitpidAsync } from '../ffi/wait.js';
import { SHARED, SHARED_BYTES, WAIT_ALL, describeStatus, type WaitWorkerData, type WaitWorkerMessage } from './reap-protocol.js';
import { formatReapJson } from './log.js';

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
export type WaitThreadSettings = Pick<WaitWorkerData, 'verbose' | 'logFormat' | 'nice' | 'sliceUs' | 'sliceExplicit'>;

/**
 * Start the wait thread for main child `childPid`; `settings.nice` (−20…19, 0: unchanged) and
 * `settings.sliceUs` (EEVDF slice, µs; 0: unchanged) apply to that thread only. Call it after
 * the child is spawned (the child may already have exited: its zombie waits for the thread).
 * `node:worker_threads` is loaded here, after the child has started, not at load time: it
 * costs ~4 ms of ts-reaper's start-up on the project's machines (`npm run bench:startup`).
 * With `require`, not `import()`: in the CommonJS bundle a dynamic import would start Node's
 * ES module loader (~8 ms) at this point.
 * @param onError called if the thread dies (a bug); ts-reaper cannot reap without it.
 * @param log writes one message line (verbose mode; formatted by the caller).
 * @param raw writes one line already formatted (a JSON reap line), newline included.
 */
export function startReapLoop(
  childPid: number,
  settings: WaitThreadSettings,
  onError: (err: Error) => void,
  log: (line: string) => void = () => {},
  raw: (line: string) => void = () => {},
): ReapLoop {
  const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const shared = new SharedArrayBuffer(SHARED_BYTES);
  const counters = new Int32Array(shared);
  const verbose = settings.verbose;
  const data: WaitWorkerData = { childPid, ...settings, shared };
  // A small heap: the thread allocates almost nothing.
  const worker: WorkerType = new Worker(waitWorkerUrl(), {
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
  let workerReady = false;
  worker.on('message', (m: WaitWorkerMessage) => {
    if (m.kind === 'ready') {
      workerReady = true;
      log(`wait thread ready ${performance.now().toFixed(1)} ms after process start`);
    } else if (m.kind === 'child-exit') resolveExit(m.status);
    else resolveNoChildren();
  });

  // Early reaping on the thread pool until the wait thread is up. One call may still be
  // pending afterwards: it reaps one more child, correctly, whichever it is.
  const early = (): void => {
    const status = new Int32Array(1);
    waitpidAsync(-1, status, WAIT_ALL, (r) => {
      if (r.ret > 0) {
        Atomics.add(counters, SHARED.REAPED, 1);
        if (verbose && settings.logFormat === 'json')
          // Reaped already: no comm to read, no peek to time from.
          raw(
            formatReapJson({
              pid: r.ret,
              comm: null,
              role: r.ret === childPid ? 'command' : 'adopted',
              status: status[0]!,
              seenToReapedUs: null,
              reaper: 'thread-pool',
            }),
          );
        else if (verbose)
          log(`reaped ${r.ret === childPid ? 'main child' : 'pid'} ${r.ret} (${describeStatus(status[0]!)}) early, on the thread pool`);
        if (r.ret === childPid) {
          Atomics.store(counters, SHARED.CHILD_DONE, 1);
          resolveExit(status[0]!);
          return;
        }
        if (!workerReady) early();
      } else if (!workerReady && Atomics.load(counters, SHARED.CHILD_DONE) === 0) {
        setTimeout(early, 1); // EINTR, or ECHILD after the thread took the child: no spinning
      }
    });
  };
  early();
  worker.on('error', onError);
  worker.on('exit', (code) => onError(new Error(`wait thread exited (code ${code})`)));
  return {
    childExit,
    noChildren: () => noChildren,
    reaped: () => Atomics.load(counters, SHARED.REAPED),
  };
}
