/**
 * The signal state ts-reaper inherited at exec, which its command must inherit in turn: the
 * signals that were ignored (exec keeps `SIG_IGN`; `nohup` and `trap '' HUP` rely on it) and the
 * signal mask. Everything else starts at its default action, as exec leaves it.
 *
 * Node destroys that state before any JavaScript runs: its start-up (`PlatformInit` in Node's
 * `src/node.cc`) sets every signal 1–31 but SIGKILL and SIGSTOP to the default action, SIGPIPE
 * and SIGXFSZ to ignored, and sets the main thread's mask to {SIGUSR1}, which the inspector's
 * set-up then unblocks. Measured on Node 20.20 after `trap '' HUP INT TERM`: SigIgn
 * 0000000001001000 (PIPE, XFSZ) and SigBlk 0; signals 32–64 keep what they inherited (Node's
 * loop stops at 31), except 33, glibc's own, which glibc catches. So ts-reaper cannot read
 * the state itself; its launcher (src/reaper/native/launcher.c, `dist/bin/ts-reaper`, the
 * package's `ts-reaper` command) reads it before it executes node and passes it in
 * {@link INHERITED_ENV}. Started by node directly (`node dist/ts-reaper.cjs`, the image's
 * launcher), ts-reaper knows only signals 32 and 34–64 and takes the rest as a container's
 * engine starts its PID 1: nothing ignored, nothing blocked.
 */
import { readFileSync } from 'node:fs';
import { ALL_SIGNALS, ignoreSignal, restoreSignal, signalBit, signalsOf, type SavedAction, type SignalSet } from '../ffi/signal.js';

/**
 * Environment variable the launcher sets: `<pid>:<ignored>:<blocked>`, the pid in decimal and
 * two sets as 16 hex digits (the `SigIgn`/`SigBlk` layout of /proc/<pid>/status). exec keeps the
 * pid, so a value whose pid is not ts-reaper's own was left by some other process (an outer
 * ts-reaper's launcher) and is not used. ts-reaper removes it from its command's environment.
 */
export const INHERITED_ENV = 'TS_REAPER_INHERITED_SIGNALS';

/** The signal state ts-reaper's process had when it was executed. */
export interface InheritedSignals {
  /** Signals whose disposition was `SIG_IGN`. */
  ignored: SignalSet;
  /** The signal mask of the thread that executed it. */
  blocked: SignalSet;
  /**
   * `launcher`: read by the launcher before node ran, exact. `node`: ts-reaper was started by
   * node directly; signals 1–31 and 33 taken as not ignored and the mask as empty.
   */
  source: 'launcher' | 'node';
}

/** Signals 1–31 and 33: what Node or glibc set at start-up, so their inherited state is lost. */
const LOST_AT_START: SignalSet = ((1n << 31n) - 1n) | signalBit(33);

/** SIGKILL and SIGSTOP: never ignored, never blocked (the kernel refuses both). */
const UNCATCHABLE: SignalSet = signalBit(9) | signalBit(19);

/**
 * Parse {@link INHERITED_ENV}'s value for process `pid`.
 * @returns the sets, or null when the value is missing, malformed, or about another pid.
 */
export function parseInheritedEnv(value: string | undefined, pid: number): Omit<InheritedSignals, 'source'> | null {
  const m = /^(\d+):([0-9a-f]{1,16}):([0-9a-f]{1,16})$/i.exec(value ?? '');
  if (!m || Number(m[1]) !== pid) return null;
  return { ignored: BigInt(`0x${m[2]}`), blocked: BigInt(`0x${m[3]}`) };
}

/**
 * The `SigIgn` set of a /proc/<pid>/status text, or 0 when the line is missing.
 */
export function ignoredFromStatus(status: string): SignalSet {
  const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) & ALL_SIGNALS : 0n;
}

/**
 * What ts-reaper inherited: from the launcher's {@link INHERITED_ENV} when it names this
 * process, else what survives Node's start-up in `status` (this process's /proc/self/status
 * text, '' when unreadable): the ignored signals among 32 and 34–64.
 */
export function inheritedSignals(env: NodeJS.ProcessEnv, pid: number, status: string): InheritedSignals {
  const fromLauncher = parseInheritedEnv(env[INHERITED_ENV], pid);
  if (fromLauncher) return { ...fromLauncher, source: 'launcher' };
  return { ignored: ignoredFromStatus(status) & ~LOST_AT_START, blocked: 0n, source: 'node' };
}

/**
 * Read what this process inherited (see {@link inheritedSignals}) and remove
 * {@link INHERITED_ENV} from `process.env`, so that neither the command nor the wait thread
 * sees it. Call it first thing: nothing in ts-reaper changes signals 32–64, but nothing should
 * have the chance to.
 */
export function takeInheritedSignals(): InheritedSignals {
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'latin1');
  } catch {
    // No /proc: only the launcher's word is left.
  }
  const inherited = inheritedSignals(process.env, process.pid, status);
  delete process.env[INHERITED_ENV];
  return inherited;
}

/** How the command is spawned so that it inherits {@link InheritedSignals}. */
export interface SpawnSignals {
  /** Signals the child gets at their default action (`posix_spawnattr_setsigdefault`). */
  defaultSignals: SignalSet;
  /** The child's mask (`posix_spawnattr_setsigmask`). */
  signalMask: SignalSet;
  /**
   * Signals ts-reaper must ignore itself while it spawns: posix_spawn can only pass an ignored
   * signal on by leaving it ignored in the caller (spawn.ts). 32 and 33 are not among them:
   * glibc's child ignores those itself when they are not in `defaultSignals`.
   */
  ignoreDuringSpawn: number[];
}

/** The spawn settings that give the command exactly the inherited `state` (see {@link SpawnSignals}). */
export function spawnSignals(state: InheritedSignals): SpawnSignals {
  const ignored = state.ignored & ~UNCATCHABLE;
  return {
    defaultSignals: ALL_SIGNALS & ~ignored,
    signalMask: state.blocked & ~UNCATCHABLE,
    ignoreDuringSpawn: signalsOf(ignored & ~(signalBit(32) | signalBit(33))),
  };
}

/**
 * Run `spawn` with `signals` ignored by ts-reaper (see {@link SpawnSignals.ignoreDuringSpawn}),
 * then give each its previous disposition back (libuv's handler, Node's, or the default). One of
 * those signals that arrives during the spawn, a fraction of a millisecond, is discarded by the
 * kernel instead of forwarded: the command, which ignores it too, would have done the same.
 * @returns what `spawn` returned, and the signals that could not be ignored (with errno).
 */
export function withSignalsIgnored<T>(signals: readonly number[], spawn: () => T): { result: T; failed: [number, number][] } {
  const saved: SavedAction[] = [];
  const failed: [number, number][] = [];
  try {
    for (const sig of signals) {
      const r = ignoreSignal(sig);
      if ('errno' in r) failed.push([sig, r.errno]);
      else saved.push(r);
    }
    return { result: spawn(), failed };
  } finally {
    for (const s of saved.reverse()) restoreSignal(s);
  }
}
