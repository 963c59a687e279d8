/**
 * The watcher thread (bundled as dist/loadgen-watch-worker.mjs). It blocks in `epoll_wait`
 * (koffi, synchronous, so the main thread's event loop never delays it) on:
 *  - the helper's report pipe: each `O <pid>` line → `pidfd_open(pid)` at once, added to the
 *    epoll set edge-triggered for EPOLLIN (exit) and EPOLLHUP (reap, Linux ≥ 6.9: `pidfd_poll`
 *    reports EPOLLHUP once the task is released, kernel `fs/pidfs.c` / `kernel/fork.c`);
 *  - a 100 Hz CLOCK_MONOTONIC timerfd: how late we observe its expiries is the watcher lag;
 *  - an eventfd the main thread writes to make us flush and end;
 *  - with the `pidfd-poll` method, a timerfd at the poll interval that probes every exited
 *    orphan with `pidfd_send_signal(fd, 0)` until `ESRCH` (reaped; a zombie still answers 0).
 * The watcher is not the orphans' parent, so it never changes who reaps them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  EPOLL_CTL_ADD,
  EPOLL_EVENT_SIZE,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  POLLIN,
  epollCreate,
  epollCtl,
  epollEventAt,
  epollWait,
  pollOnce,
  timerfdCreate,
  timerfdSetAbs,
} from '../ffi/epoll.js';
import { Errno } from '../ffi/errno.js';
import { close, read } from '../ffi/fd.js';
import { pidfdOpen, pidfdSendSignal } from '../ffi/pidfd.js';
import { gettid } from '../ffi/process.js';
import { setAffinity, setThreadFifo, setThreadNice } from '../ffi/sched.js';
import { parseHelperLine } from './helper.js';
import { C, type OrphanRecord, type WatchMessage, type WatchWorkerData } from './watch-protocol.js';

const data = workerData as WatchWorkerData;
const counters = new Int32Array(data.counters);
const post = (m: WatchMessage): void => parentPort!.postMessage(m);
const now = (): number => Number(process.hrtime.bigint());

const TAG_REPORT = 0xfffffff0;
const TAG_LAG = 0xfffffff1;
const TAG_WAKE = 0xfffffff2;
const TAG_POLL = 0xfffffff3;
const MAX_SLOTS = 65536;
const MAX_EVENTS = 512;

// Slot tables (structure of arrays: no allocation per orphan).
const fdOf = new Int32Array(MAX_SLOTS).fill(-1);
const pidOf = new Int32Array(MAX_SLOTS);
const createdOf = new Float64Array(MAX_SLOTS);
const watchedOf = new Float64Array(MAX_SLOTS);
const exitOf = new Float64Array(MAX_SLOTS).fill(NaN);
const lateOf = new Uint8Array(MAX_SLOTS);
const exitSelfOf = new Float64Array(MAX_SLOTS).fill(NaN);
/** pid → slot of watched orphans, for the orphans' own exit reports. */
const slotOfPid = new Map<number, number>();
/** Exit reports that arrived before the orphan's `O` line (lifetime ≈ 0): pid → t. */
const earlyExit = new Map<number, number>();
const free: number[] = [];
for (let i = MAX_SLOTS - 1; i >= 0; i--) free.push(i);
/** Exited, not yet reaped slots probed by the poll method. */
const exited = new Set<number>();

const pollMethod = data.method === 'pidfd-poll';
let pending: OrphanRecord[] = [];
let lastFlush = now();
const lagUs: number[] = [];
const watchDelayUs: number[] = [];

function flush(force: boolean): void {
  if (pending.length === 0) return;
  const t = now();
  if (!force && pending.length < 256 && t - lastFlush < 50e6) return;
  post({ kind: 'orphans', records: pending });
  pending = [];
  lastFlush = t;
}

function finishSlot(slot: number, state: OrphanRecord['state'], reapNs: number | null, coalesced: boolean): void {
  const e = exitOf[slot]!;
  const es = exitSelfOf[slot]!;
  pending.push({
    pid: pidOf[slot]!,
    createdNs: createdOf[slot]!,
    watchedNs: watchedOf[slot]!,
    exitNs: Number.isNaN(e) ? null : e,
    exitSelfNs: Number.isNaN(es) ? null : es,
    reapNs,
    state,
    late: lateOf[slot] === 1,
    coalesced,
  });
  close(fdOf[slot]!); // also removes it from the epoll set
  fdOf[slot] = -1;
  exitOf[slot] = NaN;
  exitSelfOf[slot] = NaN;
  slotOfPid.delete(pidOf[slot]!);
  lateOf[slot] = 0;
  exited.delete(slot);
  free.push(slot);
}

function watch(ep: number, pid: number, createdNs: number): void {
  Atomics.add(counters, C.MADE, 1);
  const fd = pidfdOpen(pid);
  const t = now();
  let early = earlyExit.get(pid);
  if (early !== undefined) {
    earlyExit.delete(pid);
    if (early < createdNs) early = undefined; // a previous process with the same pid
  }
  if (fd.ret < 0 || free.length === 0) {
    if (fd.ret >= 0) close(fd.ret);
    Atomics.add(counters, C.MISSED, 1);
    pending.push({
      pid,
      createdNs,
      watchedNs: null,
      exitNs: null,
      exitSelfNs: early ?? null,
      reapNs: null,
      state: 'missed',
      late: false,
      coalesced: false,
    });
    return;
  }
  const slot = free.pop()!;
  slotOfPid.set(pid, slot);
  if (early !== undefined) exitSelfOf[slot] = early;
  fdOf[slot] = fd.ret;
  pidOf[slot] = pid;
  createdOf[slot] = createdNs;
  watchedOf[slot] = t;
  watchDelayUs.push((t - createdNs) / 1e3);
  Atomics.add(counters, C.WATCHED, 1);
  // Already readable: it exited before we looked, so its exit time is unknown.
  const ready = pollOnce(fd.ret, POLLIN);
  if (ready > 0 && (ready & POLLIN) !== 0) {
    lateOf[slot] = 1;
    Atomics.add(counters, C.LATE, 1);
    Atomics.add(counters, C.EXITED, 1);
    if (pollMethod) exited.add(slot);
  }
  const events = pollMethod ? EPOLLIN | EPOLLET : EPOLLIN | EPOLLHUP | EPOLLET;
  const r = epollCtl(ep, EPOLL_CTL_ADD, fd.ret, events, slot);
  if (r.ret < 0) post({ kind: 'error', message: `epoll_ctl(ADD pidfd) failed: errno ${r.errno}`, fatal: false });
}

let carry = '';
let reportOpen = true;
const readBuf = Buffer.alloc(65536);

function readReports(ep: number): void {
  for (;;) {
    const r = read(data.reportFd, readBuf);
    if (r.ret < 0) {
      if (r.errno === Errno.EINTR) continue;
      return; // EAGAIN: drained
    }
    if (r.ret === 0) {
      reportOpen = false;
      close(data.reportFd);
      post({ kind: 'eof' });
      return;
    }
    const text = carry + readBuf.toString('latin1', 0, r.ret);
    const lines = text.split('\n');
    carry = lines.pop()!;
    for (const line of lines) {
      const rep = parseHelperLine(line);
      if (rep === null) {
        Atomics.add(counters, C.BAD_LINES, 1);
        continue;
      }
      switch (rep.kind) {
        case 'orphan':
          watch(ep, rep.pid, rep.tNs);
          break;
        case 'exit': {
          const slot = slotOfPid.get(rep.pid);
          if (slot !== undefined) exitSelfOf[slot] = rep.tNs;
          else if (earlyExit.size < 65536) earlyExit.set(rep.pid, rep.tNs);
          break;
        }
        case 'failure':
          Atomics.add(counters, C.FAILURES, 1);
          flush(true);
          post({ ...rep, madeBefore: Atomics.load(counters, C.MADE) });
          break;
        case 'counts':
          // `orphanage solo` only; `produce`, which this worker reads, writes none.
          break;
        default:
          post(rep);
      }
    }
  }
}

function add(ep: number, fd: number, tag: number): void {
  const r = epollCtl(ep, EPOLL_CTL_ADD, fd, EPOLLIN, tag);
  if (r.ret < 0) throw new Error(`epoll_ctl(ADD) failed: errno ${r.errno}`);
}

function run(): void {
  if (data.cpu >= 0) {
    const r = setAffinity(gettid(), [data.cpu]);
    if (r.ret < 0)
      post({ kind: 'error', message: `could not pin the watcher to CPU ${data.cpu} (errno ${r.errno}); it runs unpinned`, fatal: false });
  }
  if (data.nice !== 0) {
    const r = setThreadNice(gettid(), data.nice);
    if (r.ret < 0)
      post({
        kind: 'error',
        message: `could not set the watcher's nice value to ${data.nice} (errno ${r.errno}); it runs at the default priority`,
        fatal: false,
      });
  }
  if (data.rtPriority > 0) {
    const r = setThreadFifo(gettid(), data.rtPriority);
    if (r.ret < 0)
      post({
        kind: 'error',
        message: `could not make the watcher SCHED_FIFO ${data.rtPriority} (errno ${r.errno}: needs CAP_SYS_NICE and RT runtime); it runs as an ordinary thread`,
        fatal: false,
      });
  }
  const ep = epollCreate().ret;
  if (ep < 0) throw new Error('epoll_create1 failed');
  add(ep, data.reportFd, TAG_REPORT);
  add(ep, data.wakeFd, TAG_WAKE);
  const lagFd = timerfdCreate().ret;
  const periodNs = BigInt(Math.round(data.lagPeriodMs * 1e6));
  const lagStart = process.hrtime.bigint() + periodNs;
  timerfdSetAbs(lagFd, lagStart, periodNs);
  add(ep, lagFd, TAG_LAG);
  let lagExpirations = 0n;
  let pollFd = -1;
  if (pollMethod) {
    pollFd = timerfdCreate().ret;
    const p = BigInt(data.pollIntervalUs * 1000);
    timerfdSetAbs(pollFd, process.hrtime.bigint() + p, p);
    add(ep, pollFd, TAG_POLL);
  }
  const buf = Buffer.alloc(MAX_EVENTS * EPOLL_EVENT_SIZE);
  const u64 = Buffer.alloc(8);
  // Warm the per-orphan path (JIT, koffi call stubs) on ourselves before the first orphan.
  for (let i = 0; i < 50; i++) {
    const fd = pidfdOpen(process.pid).ret;
    pollOnce(fd, POLLIN);
    close(fd);
  }
  post({ kind: 'ready' });

  // Sleeping in epoll_wait, every instant below is the end of a wake-up, whose length depends on
  // how long the CPU had been idle (measured here: the exit's wake-up, after ~20 ms of sleep at
  // 50 orphans/s, was often later than the reap's, ~40 µs after it). Spinning, the thread is
  // running when the pidfd is notified and takes its instant within one poll (~1 µs).
  const timeout = data.spin ? 0 : -1;
  for (;;) {
    const n = epollWait(ep, buf, MAX_EVENTS, timeout);
    const t = now();
    if (n.ret < 0) {
      if (n.errno === Errno.EINTR) continue;
      throw new Error(`epoll_wait failed: errno ${n.errno}`);
    }
    let stop = false;
    let probe = false;
    for (let i = 0; i < n.ret; i++) {
      const { events, tag } = epollEventAt(buf, i);
      if (tag === TAG_REPORT) {
        if (reportOpen) readReports(ep);
      } else if (tag === TAG_LAG) {
        if (read(lagFd, u64).ret === 8) {
          lagExpirations += u64.readBigUInt64LE(0);
          const due = lagStart + (lagExpirations - 1n) * periodNs;
          lagUs.push((t - Number(due)) / 1e3);
        }
      } else if (tag === TAG_WAKE) {
        read(data.wakeFd, u64);
        if (Atomics.load(counters, C.STOP) === 1) stop = true;
      } else if (tag === TAG_POLL) {
        read(pollFd, u64);
        probe = true;
      } else {
        const slot = tag;
        if (fdOf[slot] === -1) continue;
        const fresh = Number.isNaN(exitOf[slot]!) && lateOf[slot] === 0;
        if ((events & EPOLLIN) !== 0 && fresh) {
          exitOf[slot] = t;
          Atomics.add(counters, C.EXITED, 1);
          if (pollMethod) exited.add(slot);
        }
        if (!pollMethod && (events & EPOLLHUP) !== 0) {
          Atomics.add(counters, C.REAPED, 1);
          // Exit and reap in one wake-up: the measured latency (0) only says "≤ watcher lag".
          const coalesced = fresh;
          if (coalesced) Atomics.add(counters, C.COALESCED, 1);
          finishSlot(slot, 'reaped', t, coalesced);
        }
      }
    }
    if (probe) {
      for (const slot of exited) {
        if (pidfdSendSignal(fdOf[slot]!, 0).errno === Errno.ESRCH) {
          Atomics.add(counters, C.REAPED, 1);
          finishSlot(slot, 'reaped', t, false);
        }
      }
    }
    if (stop) {
      // Final drain of the pipe, then report every orphan still watched.
      if (reportOpen) readReports(ep);
      for (let s = 0; s < MAX_SLOTS; s++) {
        if (fdOf[s] !== -1) finishSlot(s, Number.isNaN(exitOf[s]!) && lateOf[s] === 0 ? 'live' : 'zombie', null, false);
      }
      flush(true);
      post({ kind: 'final', lagUs, watchDelayUs });
      if (reportOpen) close(data.reportFd);
      close(lagFd);
      if (pollFd >= 0) close(pollFd);
      close(ep);
      return;
    }
    flush(false);
  }
}

try {
  run();
} catch (err) {
  post({ kind: 'error', message: err instanceof Error ? err.message : String(err), fatal: true });
}
