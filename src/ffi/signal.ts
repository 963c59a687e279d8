/**
 * Signal sets, dispositions and per-thread masks: glibc `sigaction(2)` and `pthread_sigmask(3)`
 * (kernel `kernel/signal.c`). Sets of signals are bigints in the layout of the `SigIgn`/`SigBlk`
 * lines of /proc/<pid>/status (proc(5)): bit n−1 is signal n, for signals 1–64.
 *
 * glibc's `sigset_t` is 1024 bits, an array of `unsigned long` in native byte order, signal n at
 * bit n−1 (`sysdeps/unix/sysv/linux/bits/types/__sigset_t.h`, `signal/sigsetops.h`). glibc's
 * `sigaddset`/`sigfillset` refuse or leave out signals 32 and 33, its own (`SIGCANCEL`,
 * `SIGSETXID`, `nptl/pthreadP.h`); {@link sigsetBuffer} writes the bits directly, so that a set
 * handed to `posix_spawnattr_setsigdefault` can name them too.
 */
import { endianness } from 'node:os';
import { libc, callResult, type CallResult } from './libc.js';

/** A set of signals 1–64: bit n−1 is signal n (the layout of `SigIgn`/`SigBlk` in /proc/<pid>/status). */
export type SignalSet = bigint;

/** Every signal 1–64. */
export const ALL_SIGNALS: SignalSet = (1n << 64n) - 1n;

/** Bytes of glibc's `sigset_t` (1024 signal bits). */
export const SIGSET_BYTES = 128;

/**
 * Bytes reserved for glibc's `struct sigaction` (152 on x86_64 and aarch64: handler, 128-byte
 * mask, flags, restorer; rounded up). Only the first field, the handler, is read or written
 * here; the rest is kept as the kernel returned it.
 */
const SIGACTION_BYTES = 256;

/** `SIG_IGN` as a handler value (`include/uapi/asm-generic/signal-defs.h`). */
const SIG_IGN = 1n;

/** `pthread_sigmask` how: add the set to the thread's mask. */
export const SIG_BLOCK = 0;

const c = {
  sigaction: libc.func('sigaction', 'int', ['int', 'void *', 'void *']),
  pthreadSigmask: libc.func('pthread_sigmask', 'int', ['int', 'void *', 'void *']),
};

/** The bit of signal `sig` (1–64) in a {@link SignalSet}. */
export function signalBit(sig: number): SignalSet {
  return 1n << BigInt(sig - 1);
}

/** The signals of `set`, in increasing order. */
export function signalsOf(set: SignalSet): number[] {
  const out: number[] = [];
  for (let sig = 1; sig <= 64; sig++) if (set & signalBit(sig)) out.push(sig);
  return out;
}

/**
 * A glibc `sigset_t` holding exactly the signals of `set` (signals 1–64 live in the first
 * `unsigned long`, written in this machine's byte order), 32 and 33 included when named.
 */
export function sigsetBuffer(set: SignalSet): Buffer {
  const buf = Buffer.alloc(SIGSET_BYTES);
  writeWord(buf, set & ALL_SIGNALS);
  return buf;
}

/** Write a 64-bit `unsigned long` (or pointer) at the start of `buf`, in this machine's byte order. */
function writeWord(buf: Buffer, value: bigint): void {
  if (endianness() === 'LE') buf.writeBigUInt64LE(value, 0);
  else buf.writeBigUInt64BE(value, 0);
}

/** Read the 64-bit word {@link writeWord} writes. */
function readWord(buf: Buffer): bigint {
  return endianness() === 'LE' ? buf.readBigUInt64LE(0) : buf.readBigUInt64BE(0);
}

/** A disposition saved by {@link ignoreSignal}, to give back to {@link restoreSignal}. */
export interface SavedAction {
  /** The signal (1–64, not 32 or 33: glibc refuses its own). */
  signal: number;
  /** The `struct sigaction` the kernel returned, opaque. */
  action: Buffer;
  /** Whether the signal was already ignored (`SIG_IGN`) before. */
  wasIgnored: boolean;
}

/**
 * Set `sig`'s disposition to `SIG_IGN` for the whole process and return the previous one. The
 * kernel discards instances of `sig` that are pending when it becomes ignored, and every one
 * that arrives while it stays ignored (a blocked signal is still queued: `sig_ignored()` in
 * `kernel/signal.c`).
 * @returns the saved action, or `errno` (`EINVAL`: SIGKILL, SIGSTOP, 32, 33, out of range).
 */
export function ignoreSignal(sig: number): SavedAction | { errno: number } {
  const act = Buffer.alloc(SIGACTION_BYTES);
  writeWord(act, SIG_IGN); // the handler: pointer-sized, the first field on every 64-bit glibc
  const old = Buffer.alloc(SIGACTION_BYTES);
  const r = callResult(c.sigaction(sig, act, old));
  if (r.ret < 0) return { errno: r.errno };
  return { signal: sig, action: old, wasIgnored: readWord(old) === SIG_IGN };
}

/**
 * Give `saved.signal` back the disposition {@link ignoreSignal} saved (Node's or libuv's handler,
 * or the default), exactly as the kernel returned it.
 * @returns ret 0 or −1 with errno (`EINVAL` only for a signal `ignoreSignal` refused).
 */
export function restoreSignal(saved: SavedAction): CallResult {
  return callResult(c.sigaction(saved.signal, saved.action, null));
}

/**
 * Add `set` to the signal mask of the calling thread only (`pthread_sigmask(3)`). Other threads
 * keep theirs, so a process-directed signal is still delivered to one of them (the kernel picks
 * a thread that does not block it, `complete_signal()` in `kernel/signal.c`). glibc silently
 * leaves 32 and 33 out.
 * @returns ret 0 or −1 with errno (`EINVAL`: bad `how`); pthread_sigmask returns the error
 * number instead of setting errno, translated here.
 */
export function blockInThisThread(set: SignalSet): CallResult {
  const rc = c.pthreadSigmask(SIG_BLOCK, sigsetBuffer(set), null) as number;
  return rc === 0 ? { ret: 0, errno: 0 } : { ret: -1, errno: rc };
}
