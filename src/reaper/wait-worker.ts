/**
 * ts-reaper's wait thread (a `worker_threads` worker, bundled as dist/ts-reaper-wait-worker.cjs).
 *
 * It owns all waiting: it blocks in a synchronous `waitpid(-1, …, __WALL)` through koffi, so the
 * kernel wakes this thread directly when any child (own or adopted) exits, and it reaps in the
 * same system call. The main thread's event loop is not on this path. The thread talks to the
 * main thread only for the main child's exit and for "no children left" (see reap-loop.ts).
 *
 * No busy-waiting: when `waitpid` reports ECHILD the thread sleeps in `Atomics.wait` until the
 * main thread bumps the generation counter (it only does that if it starts another child).
 * ECHILD means ts-reaper has no descendants at all: any live descendant has a chain of live or
 * zombie parents up to ts-reaper, and orphans are re-parented to it (PID 1 or subreaper), so no
 * child can appear without ts-reaper starting one.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { writeSync } from 'node:fs';
import { Errno } from '../ffi/errno.js';
import { gettid } from '../ffi/process.js';
import { getThreadSlice, setThreadNice, setThreadSlice } from '../ffi/sched.js';
import { P_ALL, waitid, waitpid, WEXITED, WNOHANG, WNOWAIT } from '../ffi/wait.js';
import { readStat } from '../procfs/stat.js';
import { zombieComm } from './comm.js';
import { formatMessage, formatReapJson } from './log.js';
import {
  SHARED,
  WAIT_ALL as WALL,
  describeStatus,
  type WaitWorkerBoot,
  type WaitWorkerData,
  type WaitWorkerMessage,
} from './reap-protocol.js';

/**
 * Write one line on stderr, synchronously, and never fail: reaping must go on when stderr is a
 * pipe nobody reads any more (EPIPE) or a terminal that refuses a background write (EIO). A
 * throw here would end this thread, and with it all reaping.
 */
function say(text: string): void {
  try {
    writeSync(2, text);
  } catch {
    // Nothing else to do with a log line that cannot be written.
  }
}

/**
 * Boot: report it, then block until the main thread has started its child and posted the
 * settings (reap-loop.ts). By then this thread's modules are loaded and its first call through
 * koffi made, so that its first real wait costs what every later one does.
 * @returns the settings, and the shared counters.
 */
function boot(b: WaitWorkerBoot): { data: WaitWorkerData; shared: Int32Array } {
  const shared = new Int32Array(b.shared);
  // No child exists yet: ECHILD at once. The call's first run sets up its binding.
  waitpid(-1, new Int32Array(1), WNOHANG | WALL);
  parentPort!.postMessage({ kind: 'booted' } satisfies WaitWorkerMessage);
  while (Atomics.load(shared, SHARED.GO) === 0) Atomics.wait(shared, SHARED.GO, 0);
  // Posted before GO was set, hence queued on this port by now; read without an event loop.
  let m = receiveMessageOnPort(b.settings);
  while (!m) {
    Atomics.wait(shared, SHARED.GO, 1, 1);
    m = receiveMessageOnPort(b.settings);
  }
  return { data: m.message as WaitWorkerData, shared };
}

function run(data: WaitWorkerData, shared: Int32Array): void {
  const port = parentPort!;
  const status = new Int32Array(1);
  const siginfo = new Uint8Array(128);
  const si = new DataView(siginfo.buffer);
  const post = (m: WaitWorkerMessage): void => port.postMessage(m);
  // Reap lines as JSON objects (-v --log-format json); the text form is untouched.
  const json = data.verbose && data.logFormat === 'json';
  if (data.nice !== 0) {
    const r = setThreadNice(gettid(), data.nice);
    if (r.ret < 0)
      say(
        formatMessage(
          data.logFormat,
          'warning',
          `warning: cannot set the wait thread's nice to ${data.nice} (errno ${r.errno}${r.errno === Errno.EACCES || r.errno === Errno.EPERM ? ': needs CAP_SYS_NICE' : ''}); continuing at the default`,
        ),
      );
  }
  if (data.sliceUs !== 0) {
    // A short EEVDF slice: on wake-up the thread preempts a CPU-bound task on its CPU instead
    // of queueing behind it (ffi/sched.ts setThreadSlice). Unprivileged; ignored before Linux 6.12.
    const r = setThreadSlice(gettid(), data.sliceUs * 1000);
    if (r.ret < 0 && (data.sliceExplicit || data.verbose)) {
      say(
        formatMessage(
          data.logFormat,
          data.sliceExplicit ? 'warning' : 'info',
          `${data.sliceExplicit ? 'warning: ' : ''}cannot set the wait thread's time slice to ${data.sliceUs} us (errno ${r.errno}); continuing with the kernel's default`,
        ),
      );
    }
  }
  if (data.verbose) {
    const slice = getThreadSlice(0);
    const sliceText =
      slice.ns > 0
        ? `${(slice.ns / 1000).toFixed(0)} us`
        : slice.ns === 0
          ? 'not reported (Linux < 6.12: kernel default)'
          : `unknown (errno ${slice.errno})`;
    // The nice value the thread has (not the one asked for, which may have been refused).
    const nice = readStat(gettid())?.nice ?? 'unknown';
    say(formatMessage(data.logFormat, 'info', `wait thread ${gettid()}: nice ${nice}, time slice ${sliceText}`));
  }

  for (;;) {
    let pid: number;
    let zombieUs = -1;
    let comm: string | null = null;
    if (data.verbose) {
      // Peek first so that the time from "seen waitable" to "reaped" can be reported.
      const peek = waitid(P_ALL, 0, siginfo, WEXITED | WNOWAIT | WALL);
      if (peek.ret < 0) {
        if (handleError(peek.errno)) continue;
        continue;
      }
      const seen = process.hrtime.bigint();
      const target = si.getInt32(16, true);
      // Still a zombie: /proc/<pid>/comm is readable until the reap (JSON lines carry it).
      if (json) comm = zombieComm(target);
      const r = waitpid(target, status, WNOHANG | WALL);
      if (r.ret <= 0) continue;
      pid = r.ret;
      zombieUs = Number(process.hrtime.bigint() - seen) / 1000;
    } else {
      const r = waitpid(-1, status, WALL);
      if (r.ret < 0) {
        handleError(r.errno);
        continue;
      }
      pid = r.ret;
    }
    Atomics.add(shared, SHARED.REAPED, 1);
    const st = status[0]!;
    if (json)
      say(
        formatReapJson({
          pid,
          comm,
          role: pid === data.childPid ? 'command' : 'adopted',
          status: st,
          seenToReapedUs: zombieUs,
        }),
      );
    else if (data.verbose) {
      const what = pid === data.childPid ? 'main child' : 'pid';
      say(`ts-reaper: reaped ${what} ${pid} (${describeStatus(st)}), zombie ${zombieUs.toFixed(1)} us seen-to-reaped\n`);
    }
    if (pid === data.childPid) {
      Atomics.store(shared, SHARED.CHILD_DONE, 1);
      post({ kind: 'child-exit', pid, status: st });
    }
  }

  /** React to a failed wait; returns after sleeping when there is nothing to wait for. */
  function handleError(errno: number): boolean {
    if (errno === Errno.EINTR) return true;
    if (errno === Errno.ECHILD) {
      const gen = Atomics.load(shared, SHARED.GEN);
      post({ kind: 'no-children' });
      Atomics.wait(shared, SHARED.GEN, gen);
      return true;
    }
    // Not expected from waitpid(-1) (EINVAL would be a bug): report, back off 10 ms, retry.
    say(formatMessage(data.logFormat, 'error', `waitpid failed with errno ${errno}; retrying`));
    Atomics.wait(shared, SHARED.GEN, Atomics.load(shared, SHARED.GEN), 10);
    return true;
  }
}

const booted = boot(workerData as WaitWorkerBoot);
run(booted.data, booted.shared);
