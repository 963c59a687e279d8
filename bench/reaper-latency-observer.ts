/**
 * Observer thread of bench/reaper-latency: waits on the epoll instance in which the workload
 * registers a pidfd per orphan, and stamps each orphan's EPOLLIN (exit) and EPOLLHUP (reap)
 * with CLOCK_MONOTONIC nanoseconds (`process.hrtime`). It is not the orphans' parent, so it does
 * not disturb reaping. Runs until the main thread sets `stop`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EPOLL_EVENT_SIZE, epollEventAt, EPOLLHUP, EPOLLIN, epollWait } from '../src/ffi/epoll.js';
import { gettid } from '../src/ffi/process.js';

/** Start data: the epoll fd and shared result arrays indexed by orphan index. */
export interface ObserverData {
  epfd: number;
  /** Float64 nanoseconds (relative to `base`) of EPOLLIN per orphan; 0 = not seen. */
  tIn: SharedArrayBuffer;
  /** Float64 nanoseconds of EPOLLHUP per orphan; 0 = not seen. */
  tHup: SharedArrayBuffer;
  /** Int32 flags per orphan: 1 = IN and HUP arrived in the same wake-up (latency unknown). */
  together: SharedArrayBuffer;
  /** Int32[1]: set to 1 by the main thread to stop. */
  stop: SharedArrayBuffer;
  /** Busy-poll (true) or block in epoll_wait (false). */
  spin: boolean;
}

const d = workerData as ObserverData;
const tIn = new Float64Array(d.tIn);
const tHup = new Float64Array(d.tHup);
const together = new Int32Array(d.together);
const stop = new Int32Array(d.stop);
const MAX = 256;
const buf = Buffer.alloc(MAX * EPOLL_EVENT_SIZE);
const base = process.hrtime.bigint();

// Busy-poll (timeout 0) with nice −20 (set by the main thread once it knows the tid): on this
// VM a blocking epoll_wait wakes through an inter-processor interrupt that takes longer than
// most reaps, and a nice-0 spinner was preempted by other load, so exit and reap were seen in
// the same wake-up for 60–88 % of orphans (measured). `--observer block` keeps the blocking
// variant for comparison.
parentPort?.postMessage({ tid: gettid() });
let spins = 0;
while ((++spins & 0x3ff) !== 0 || Atomics.load(stop, 0) === 0) {
  const n = epollWait(d.epfd, buf, MAX, d.spin ? 0 : 100).ret;
  if (n <= 0) continue;
  const now = Number(process.hrtime.bigint() - base) || 1;
  for (let i = 0; i < n; i++) {
    const { events, tag } = epollEventAt(buf, i);
    if (tag >= tIn.length) continue;
    const isIn = (events & EPOLLIN) !== 0;
    const isHup = (events & EPOLLHUP) !== 0;
    if (isIn && tIn[tag] === 0) tIn[tag] = now;
    // The HUP event also carries IN (the pidfd stays readable): "together" means both were
    // first seen in this same wake-up.
    if (isHup && tHup[tag] === 0) {
      tHup[tag] = now;
      if (tIn[tag] === now) together[tag] = 1;
    }
  }
}
parentPort?.postMessage({ stopped: true });
