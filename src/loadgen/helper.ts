/**
 * The orphan-making helper (`orphanage`, a small static C program, src/loadgen/native/orphanage.c):
 * locating it, starting it outside libuv, talking to it, and parsing what it reports.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { errnoName } from '../ffi/errno.js';
import { close, F_SETFD, F_SETFL, fcntl, O_CLOEXEC, O_NONBLOCK, pipe2, write } from '../ffi/fd.js';
import type { CallResult } from '../ffi/libc.js';
import { kill } from '../ffi/process.js';
import { spawnDetached } from '../ffi/spawn.js';
import { decodeWaitStatus, exitStatusOf, waitpid, WNOHANG } from '../ffi/wait.js';
import type { ForkLevel } from './types.js';

/** A line reported by `orphanage produce` or `orphanage solo` (timestamps: CLOCK_MONOTONIC ns). */
export type HelperReport =
  | { kind: 'started'; tNs: number }
  | { kind: 'orphan'; pid: number; tNs: number }
  | { kind: 'exit'; pid: number; tNs: number }
  | { kind: 'failure'; level: Exclude<ForkLevel, 'helper'>; errno: number; tNs: number }
  | { kind: 'abnormal'; status: number; tNs: number }
  | { kind: 'done'; attempted: number; tNs: number }
  /** `orphanage solo` only: orphans forked, and of those before the first failed fork (null: none failed). */
  | { kind: 'counts'; made: number; madeBeforeFailure: number | null };

/**
 * Parse one line of the helper's report pipe (format documented in orphanage.c).
 * @returns null for a line that matches no report (never expected; counted by the caller).
 */
export function parseHelperLine(line: string): HelperReport | null {
  const f = line.split(' ');
  const n = (i: number): number => Number(f[i]);
  switch (f[0]) {
    case 'O':
      return f.length === 3 ? { kind: 'orphan', pid: n(1), tNs: n(2) } : null;
    case 'E':
      return f.length === 3 ? { kind: 'exit', pid: n(1), tNs: n(2) } : null;
    case 'S':
      return f.length === 2 ? { kind: 'started', tNs: n(1) } : null;
    case 'F':
      return f.length === 4 && (f[1] === 'i' || f[1] === 'o')
        ? { kind: 'failure', level: f[1] === 'i' ? 'intermediate' : 'orphan', errno: n(2), tNs: n(3) }
        : null;
    case 'X':
      return f.length === 3 ? { kind: 'abnormal', status: n(1), tNs: n(2) } : null;
    case 'D':
      return f.length === 4 ? { kind: 'done', attempted: n(1), tNs: n(3) } : null;
    case 'N':
      return f.length === 3 ? { kind: 'counts', made: n(1), madeBeforeFailure: n(2) < 0 ? null : n(2) } : null;
    default:
      return null;
  }
}

/**
 * Path of the `orphanage` binary: `$REAPBENCH_ORPHANAGE`, else next to the bundle
 * (`dist/orphanage` beside `dist/loadgen.mjs`), else `dist/orphanage` seen from tsc output
 * (`dist/src/loadgen/*.js`).
 * @throws Error naming the places looked at when none exists.
 */
export function orphanagePath(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [process.env.REAPBENCH_ORPHANAGE, path.join(here, 'orphanage'), path.join(here, '../../orphanage')].filter(
    (p): p is string => typeof p === 'string' && p !== '',
  );
  for (const p of candidates) if (existsSync(p)) return p;
  throw new Error(`orphanage helper not found (looked at ${candidates.join(', ')}); run npm run build`);
}

/** Parameters of one production run (units in names). */
export interface ProduceParams {
  /** Orphans per second; null: as fast as possible. */
  ratePerS: number | null;
  lifetimeUs: number;
  batch: number;
  /** null: unlimited */
  count: number | null;
  /** null: unlimited */
  durationMs: number | null;
  /** Intermediates allowed to run at once (default 1: strictly one after the other). */
  inflight?: number;
}

/** A started helper, waiting for {@link Producer.go}. */
export interface Producer {
  pid: number;
  /** Read end of the report pipe (non-blocking, close-on-exec): hand it to the watcher. */
  reportFd: number;
  /** Start production. */
  go(): void;
  /** Ask production to stop (idempotent); the helper then writes `D` and exits. */
  stop(): void;
  /** Wait (polling, non-blocking) until the helper has exited and reap it; SIGKILL after `timeoutMs`. */
  wait(timeoutMs: number): Promise<number>;
}

function check(what: string, r: CallResult): number {
  if (r.ret < 0) throw new Error(`${what} failed: ${errnoName(r.errno)}`);
  return r.ret;
}

/**
 * Start `orphanage produce` with posix_spawn (outside libuv: Node's own `waitpid` calls never see
 * it, and the spawn does not fork the Node process). The helper blocks until {@link Producer.go}.
 * @returns the producer, or `{ errno }` when the spawn itself failed (EAGAIN under pids.max: a
 *   fork failure at level `helper`).
 * @throws Error when the pipes cannot be made.
 */
export function startProducer(bin: string, p: ProduceParams): Producer | { errno: number } {
  const rep = pipe2(O_CLOEXEC);
  check('pipe2', rep);
  const ctl = pipe2(O_CLOEXEC);
  check('pipe2', ctl);
  const [repR, repW] = rep.fds;
  const [ctlR, ctlW] = ctl.fds;
  // The helper inherits exactly the two ends it needs: clear close-on-exec on those only.
  check('fcntl', fcntl(repW, F_SETFD, 0));
  check('fcntl', fcntl(ctlR, F_SETFD, 0));
  check('fcntl', fcntl(repR, F_SETFL, O_NONBLOCK));
  const argv = [
    bin,
    'produce',
    String(repW),
    String(ctlR),
    String(p.ratePerS ?? 0),
    String(Math.round(p.lifetimeUs)),
    String(p.batch),
    String(p.count ?? 0),
    String(p.durationMs === null ? 0 : Math.max(1, Math.round(p.durationMs))),
    String(p.inflight ?? 1),
  ];
  const r = spawnDetached(argv);
  close(repW);
  close(ctlR);
  if (r.ret < 0) {
    close(repR);
    close(ctlW);
    return { errno: r.errno };
  }
  const pid = r.ret;
  let ctlOpen = true;
  const send = (c: string): void => {
    if (!ctlOpen) return;
    write(ctlW, Buffer.from(c));
  };
  return {
    pid,
    reportFd: repR,
    go: () => send('g'),
    stop: () => {
      send('s');
      if (ctlOpen) {
        ctlOpen = false;
        close(ctlW);
      }
    },
    wait: async (timeoutMs: number) => {
      const st = new Int32Array(1);
      const deadline = Date.now() + timeoutMs;
      // Imported on first use rather than at start-up, like the drain loop's in run.ts.
      const { setTimeout: sleep } = await import('node:timers/promises');
      for (;;) {
        const w = waitpid(pid, st, WNOHANG);
        if (w.ret === pid) return exitStatusOf(decodeWaitStatus(st[0]!));
        if (w.ret < 0) return -1; // ECHILD: someone else reaped it
        if (Date.now() > deadline) kill(pid, 9);
        await sleep(5);
      }
    },
  };
}

/**
 * Rate of a plain fork + `_exit` + `waitpid` loop in one small static process, for `ms`
 * milliseconds: the reference next to the achieved orphan rate.
 * @returns iterations per second, or null when the loop could not run (e.g. fork failed).
 */
export function forkloopRate(bin: string, ms: number): number | null {
  const r = spawnSync(bin, ['forkloop', String(Math.max(1, Math.round(ms)))], { encoding: 'utf8', timeout: ms + 10_000 });
  const m = /^R (\d+) (\d+)$/m.exec(r.stdout ?? '');
  if (r.status !== 0 || !m) return null;
  return Number(m[1]) / (Number(m[2]) / 1e9);
}
