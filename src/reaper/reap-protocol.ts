import type { MessagePort } from 'node:worker_threads';
import { decodeWaitStatus } from '../ffi/wait.js';
import type { LogFormat } from './log.js';

/**
 * The contract between ts-reaper's main thread (reap-loop.ts) and its wait thread
 * (wait-worker.ts): the worker's start data, its messages, and the shared counters.
 */

/** Indexes into the shared `Int32Array` (one SharedArrayBuffer of {@link SHARED_BYTES}). */
export const SHARED = {
  /** Generation: bumped (and notified) by the main thread when it starts a new child. */
  GEN: 0,
  /** Number of processes reaped so far (own and adopted). */
  REAPED: 1,
  /** 1 once the main child has been reaped (set before its message is posted). */
  CHILD_DONE: 2,
  /** 1 once the main thread has posted the {@link WaitWorkerData} (the child exists): the booted thread waits on it. */
  GO: 3,
} as const;

/** `__WALL` (`include/uapi/linux/wait.h`): also wait for children whose exit signal is not SIGCHLD. */
export const WAIT_ALL = 0x40000000;

/** A raw wait status in words: `exited 3`, `killed by signal 15 (core dumped)`. */
export function describeStatus(status: number): string {
  const s = decodeWaitStatus(status);
  switch (s.kind) {
    case 'exited':
      return `exited ${s.code}`;
    case 'signaled':
      return `killed by signal ${s.signal}${s.coreDumped ? ' (core dumped)' : ''}`;
    default:
      return s.kind;
  }
}

/** Size of the shared counters buffer, bytes. */
export const SHARED_BYTES = 16;

/** What the wait thread is created with, before ts-reaper has read its options or started its child. */
export interface WaitWorkerBoot {
  /** Counters, see {@link SHARED}. */
  shared: SharedArrayBuffer;
  /** Where the main thread posts the {@link WaitWorkerData} before it sets {@link SHARED}.GO (read synchronously). */
  settings: MessagePort;
}

/** What the wait thread reaps with, posted once the main child exists. */
export interface WaitWorkerData {
  /** Pid of the main child, whose status is sent to the main thread. */
  childPid: number;
  /** Log each reap on stderr (the wait thread writes it synchronously itself). */
  verbose: boolean;
  /** Format of the thread's lines on stderr (log.ts); `json` also reads each zombie's comm. */
  logFormat: LogFormat;
  /** Nice value to give the wait thread (0: leave it). */
  nice: number;
  /** EEVDF slice to request for the wait thread, µs (0: leave the kernel default). */
  sliceUs: number;
  /** Warn on stderr when the slice cannot be set (the user asked for it explicitly). */
  sliceExplicit: boolean;
}

/** Messages from the wait thread to the main thread. */
export type WaitWorkerMessage =
  /** The thread has booted (its isolate, its modules, its first system call made) and waits for {@link SHARED}.GO: the child can be started. */
  | { kind: 'booted' }
  /** The main child was reaped; `status` is the raw wait status word. */
  | { kind: 'child-exit'; pid: number; status: number }
  /** `waitpid` reported ECHILD: ts-reaper has no children (hence no descendants) now. */
  | { kind: 'no-children' };
