/**
 * What the watcher thread and the main thread share: the counter layout of the
 * SharedArrayBuffer (read by the sampler without messages) and the messages the watcher posts.
 * All `*Ns` values are CLOCK_MONOTONIC nanoseconds as JS numbers (exact below 2^53 ns ≈ 104 days
 * of uptime).
 */
import type { ForkLevel, OrphanState, WatchMethod } from './types.js';

/** Indices into the shared Int32Array of counters. */
export const C = {
  /** orphans reported forked by the helper */
  MADE: 0,
  /** orphans with an open pidfd (cumulative) */
  WATCHED: 1,
  /** exits observed (including late ones) */
  EXITED: 2,
  /** reaps observed */
  REAPED: 3,
  /** pidfd_open failed */
  MISSED: 4,
  /** already exited when watched */
  LATE: 5,
  /** exit and reap in one wake-up */
  COALESCED: 6,
  /** fork failures at any level reported to the watcher */
  FAILURES: 7,
  /** set to 1 by the main thread (then it writes the eventfd): flush and end */
  STOP: 8,
  /** unparseable helper lines */
  BAD_LINES: 9,
} as const;
/** Number of counters in the shared array. */
export const COUNTERS = 10;

/** Data handed to the watcher thread. */
export interface WatchWorkerData {
  /** Non-blocking read end of the helper's report pipe. */
  reportFd: number;
  /** eventfd the main thread writes to wake the watcher. */
  wakeFd: number;
  /** SharedArrayBuffer of {@link COUNTERS} Int32 counters. */
  counters: SharedArrayBuffer;
  method: WatchMethod;
  /** ESRCH probe interval for `pidfd-poll`, µs. */
  pollIntervalUs: number;
  /** Lag probe period, ms. */
  lagPeriodMs: number;
  /** Nice value for the watcher thread (0: leave it). */
  nice: number;
  /** SCHED_FIFO priority for the watcher thread (0: leave it). */
  rtPriority: number;
  /** CPU the watcher thread pins itself to (−1: leave it). */
  cpu: number;
  /** Poll the epoll set with a zero timeout instead of sleeping in it. */
  spin: boolean;
}

/** One orphan's observations. */
export interface OrphanRecord {
  pid: number;
  createdNs: number;
  watchedNs: number | null;
  exitNs: number | null;
  /** the orphan's own clock reading just before _exit (null: not received) */
  exitSelfNs: number | null;
  reapNs: number | null;
  state: OrphanState;
  late: boolean;
  coalesced: boolean;
}

/** Messages from the watcher thread. */
export type WatchMessage =
  /** the epoll loop is set up: orphans reported from now on are watched at once */
  | { kind: 'ready' }
  | { kind: 'started'; tNs: number }
  | { kind: 'failure'; level: Exclude<ForkLevel, 'helper'>; errno: number; tNs: number; madeBefore: number }
  | { kind: 'abnormal'; status: number; tNs: number }
  | { kind: 'done'; attempted: number; tNs: number }
  | { kind: 'eof' }
  | { kind: 'orphans'; records: OrphanRecord[] }
  | { kind: 'final'; lagUs: number[]; watchDelayUs: number[] }
  /** fatal: the watcher has stopped watching */
  | { kind: 'error'; message: string; fatal: boolean };
