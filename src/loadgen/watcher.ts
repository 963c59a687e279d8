/**
 * Main-thread side of the watcher: starts the watcher thread (watch-worker.ts), exposes its
 * live counters to the sampler, forwards its messages, and stops it.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { eventfdCreate } from '../ffi/epoll.js';
import { close, write } from '../ffi/fd.js';
import { pidfdOpen } from '../ffi/pidfd.js';
import { UsageError } from './options.js';
import type { WatchMethod } from './types.js';
import { C, COUNTERS, type WatchMessage, type WatchWorkerData } from './watch-protocol.js';

/** Kernel version from `os.release()` as [major, minor]. */
function kernelVersion(): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(os.release());
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/**
 * Choose the latency method and check that the kernel can do it.
 * `auto`: `pidfd-hup` on Linux ≥ 6.9 (EPOLLHUP on reap), else `pidfd-poll`.
 * @throws UsageError when `pidfd_open` is missing (Linux < 5.3: ENOSYS) or `hup` is forced on an
 *   older kernel.
 */
export function chooseWatchMethod(requested: 'auto' | 'hup' | 'poll'): WatchMethod {
  const probe = pidfdOpen(process.pid);
  if (probe.ret < 0) {
    throw new UsageError(`This kernel cannot open pidfds (pidfd_open: errno ${probe.errno}); Linux ≥ 5.3 is required`);
  }
  close(probe.ret);
  const [maj, min] = kernelVersion();
  const hasHup = maj > 6 || (maj === 6 && min >= 9);
  if (requested === 'hup' && !hasHup) {
    throw new UsageError(`Expected \`--watch-method hup\` on Linux ≥ 6.9, got kernel \`${os.release()}\`; use auto or poll`);
  }
  if (requested === 'poll') return 'pidfd-poll';
  return hasHup ? 'pidfd-hup' : 'pidfd-poll';
}

/** Path of the watcher thread's script: the bundle's sibling, or tsc output's sibling. */
function workerPath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const p of [path.join(here, 'loadgen-watch-worker.mjs'), path.join(here, 'watch-worker.js')]) {
    if (existsSync(p)) return p;
  }
  throw new Error(`watcher script not found next to ${here}; run npm run build`);
}

/** A running watcher. */
export interface Watcher {
  /** Live counters (indices {@link C}); read with `Atomics.load`. */
  counters: Int32Array;
  /** Resolves once the thread waits in epoll_wait (its task is then counted in the baseline,
   * and the first orphan is watched without start-up delay). */
  ready: Promise<void>;
  /** Ask the watcher to report every orphan still watched, post `final`, and end. Resolves
   * when the thread has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start the watcher thread on the helper's report pipe.
 * @param onMessage receives every message of the thread, in order.
 */
export function startWatcher(
  reportFd: number,
  method: WatchMethod,
  pollIntervalUs: number,
  sched: { nice: number; rtPriority: number; cpu: number; spin: boolean },
  onMessage: (m: WatchMessage) => void,
): Watcher {
  const wake = eventfdCreate();
  if (wake.ret < 0) throw new Error(`eventfd failed: errno ${wake.errno}`);
  const sab = new SharedArrayBuffer(COUNTERS * 4);
  const counters = new Int32Array(sab);
  const wd: WatchWorkerData = { reportFd, wakeFd: wake.ret, counters: sab, method, pollIntervalUs, lagPeriodMs: 10, ...sched };
  const worker = new Worker(workerPath(), { workerData: wd });
  let onReady: () => void = () => {};
  const ready = new Promise<void>((res) => (onReady = res));
  worker.on('message', (m: WatchMessage) => {
    if (m.kind === 'ready') onReady();
    else onMessage(m);
  });
  worker.on('error', (err) => onMessage({ kind: 'error', message: err.message, fatal: true }));
  let stopRequested = false;
  worker.once('exit', () => {
    if (!stopRequested) onMessage({ kind: 'error', message: 'the watcher thread ended before it was asked to', fatal: true });
  });
  const exited = new Promise<void>((res) => worker.once('exit', () => res()));
  // A thread that dies before it is ready must not hang the run.
  void exited.then(() => onReady());
  let stopping: Promise<void> | null = null;
  return {
    counters,
    ready,
    stop: () => {
      if (!stopping) {
        stopRequested = true;
        Atomics.store(counters, C.STOP, 1);
        const one = Buffer.alloc(8);
        one.writeBigUInt64LE(1n);
        write(wake.ret, one);
        stopping = exited.then(() => {
          close(wake.ret);
        });
      }
      return stopping;
    },
  };
}
