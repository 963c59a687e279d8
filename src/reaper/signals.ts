/**
 * Signal names, parsing, and forwarding to the main child (or its process group).
 *
 * Node lets JavaScript listen to every named signal except a few it reserves; those cannot be
 * forwarded by ts-reaper (documented in `--help`):
 *  - SIGKILL, SIGSTOP: cannot be caught by any process.
 *  - SIGSEGV, SIGBUS, SIGFPE, SIGILL: Node keeps these for its own fault handling; a listener
 *    would run JavaScript in a process that may be corrupt.
 *  - real-time signals (SIGRTMIN..SIGRTMAX, 34–64): `process.on` only accepts named signals.
 * SIGCHLD is deliberately not forwarded: it is about ts-reaper's own children.
 * SIGTTIN and SIGTTOU are caught but dropped unless a rewrite says otherwise, as tini ignores
 * them: the terminal sends them to ts-reaper's own process group (e.g. after `-g` gave the
 * terminal to the child, a `-v` write under `stty tostop`), and forwarding them would stop the
 * child for something ts-reaper did.
 */
import { constants } from 'node:os';
import type { CallResult } from '../ffi/libc.js';
import { pidfdSendSignal } from '../ffi/pidfd.js';
import { kill } from '../ffi/process.js';
import { signalAdopted, type AdoptedReport } from './adopted.js';

const NUMBERS: Readonly<Record<string, number>> = constants.signals as unknown as Record<string, number>;

/** Signals that ts-reaper never listens to (see the module comment for why). */
export const UNFORWARDABLE: readonly string[] = ['SIGKILL', 'SIGSTOP', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGCHLD'];

/** Terminal job-control signals ts-reaper catches and drops unless rewritten (module comment). */
export const JOB_CONTROL_DROPPED: readonly string[] = ['SIGTTIN', 'SIGTTOU'];

/**
 * Every signal ts-reaper listens to and forwards (except {@link JOB_CONTROL_DROPPED}, caught and
 * dropped unless rewritten), one name per number (aliases such as SIGIOT,
 * SIGPOLL dropped), in numeric order.
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = (() => {
  const seen = new Set<number>();
  const out: NodeJS.Signals[] = [];
  for (const [name, num] of Object.entries(NUMBERS).sort((a, b) => a[1] - b[1])) {
    if (UNFORWARDABLE.includes(name) || seen.has(num)) continue;
    seen.add(num);
    out.push(name as NodeJS.Signals);
  }
  return out;
})();

/**
 * Signals a rewrite (`-r FROM:TO`) may start from: the ones ts-reaper listens to,
 * {@link FORWARDED_SIGNALS} (SIGTTIN and SIGTTOU included: a rewrite is what forwards them). A
 * rule from any other signal could never fire: ts-reaper never sees it.
 */
export const REWRITABLE: ReadonlySet<number> = new Set(FORWARDED_SIGNALS.map((name) => NUMBERS[name]!));

/**
 * glibc's own signals, 32 (`SIGCANCEL`) and 33 (`SIGSETXID`), `nptl/pthreadP.h`: its threads use
 * them internally, so ts-reaper neither sends them (a rewrite target) nor can listen to them.
 */
export const GLIBC_INTERNAL: readonly number[] = [32, 33];

/** The number of a signal name (`SIGTERM`) or 0 when unknown. */
export function signalNumber(name: string): number {
  return NUMBERS[name] ?? 0;
}

/** The canonical name of signal `num` (`15` → `SIGTERM`), or `SIG<num>` when it has none. */
export function signalName(num: number): string {
  for (const [name, n] of Object.entries(NUMBERS)) if (n === num && name !== 'SIGIOT' && name !== 'SIGPOLL') return name;
  return `SIG${num}`;
}

/**
 * Parse a signal given as a number (`15`), a name (`SIGTERM`) or a short name (`TERM`),
 * case-insensitively. `0` is accepted only when `allowZero` (it means "drop" in a rewrite).
 * @returns the signal number (0–64).
 * @throws Error with a one-line message when the signal is unknown or out of range.
 */
export function parseSignal(spec: string, allowZero: boolean): number {
  const s = spec.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if ((n === 0 && allowZero) || (n >= 1 && n <= 64)) return n;
    throw new Error(`Expected a signal number between ${allowZero ? 0 : 1} and 64, got \`${spec}\``);
  }
  const upper = s.toUpperCase();
  const n = signalNumber(upper.startsWith('SIG') ? upper : `SIG${upper}`);
  if (n === 0) throw new Error(`Expected a signal name such as TERM or SIGTERM, got \`${spec}\``);
  return n;
}

/** Where forwarded signals go: the main child alone, or its whole process group. */
export interface SignalTarget {
  /** The main child's pid. */
  pid: number;
  /** A pidfd of the main child (−1 when `pidfd_open` is unavailable): never hits a recycled pid. */
  pidfd: number;
  /** Signal the process group whose id is `pid` (the child leads its own group). */
  group: boolean;
  /**
   * `--signal-adopted`: ts-reaper's own pid, whose other children (adopted orphans) get every
   * forwarded signal too (adopted.ts); null: they get none.
   */
  adoptedBy: number | null;
}

/**
 * Send `signal` to the target. Errors are returned, not thrown: `ESRCH` just means the child (or
 * its group) is already gone, which is normal while it exits.
 */
export function sendToTarget(target: SignalTarget, signal: number): CallResult {
  if (target.group) return kill(-target.pid, signal);
  if (target.pidfd >= 0) return pidfdSendSignal(target.pidfd, signal);
  return kill(target.pid, signal);
}

/** State and controls of the installed forwarding. */
export interface Forwarder {
  /** Set the target once the child exists; signals that arrived before are delivered now. */
  setTarget(target: SignalTarget): void;
  /** Remove every listener (Node then restores the default disposition). */
  uninstall(): void;
}

/**
 * Send `signal` to the adopted processes of `target` when it asks for that (`adoptedBy` set),
 * skipping the command's group when the group was signalled as a whole. Null when not asked.
 */
export function sendToAdopted(target: SignalTarget, signal: number): AdoptedReport | null {
  if (target.adoptedBy === null) return null;
  return signalAdopted({ self: target.adoptedBy, command: target.pid, skipGroup: target.group ? target.pid : null }, signal);
}

/**
 * Listen to every signal in {@link FORWARDED_SIGNALS} and forward it, after applying `rewrite`
 * (signal → replacement; replacement 0 drops it). Installing a listener is also what makes a
 * Node PID 1 react to SIGTERM/SIGINT at all (the kernel drops default-action signals sent to a
 * namespace init). Signals received before {@link Forwarder.setTarget} are queued in order.
 * With `adoptedBy` set, the adopted processes get the signal ({@link sendToAdopted}) just before
 * the command (or its group), in the same synchronous handler.
 * @param onSignal called for each received signal with the number actually sent (0: dropped,
 *   by a rewrite or as a job-control signal), the command's send result, and what the adopted
 *   processes got (null: not asked, or dropped), e.g. for verbose logging.
 */
export function installForwarding(
  rewrite: ReadonlyMap<number, number>,
  onSignal: (received: number, sent: number, result: CallResult | null, adopted: AdoptedReport | null) => void,
): Forwarder {
  let target: SignalTarget | null = null;
  const pending: number[] = [];
  const dropped = new Set(JOB_CONTROL_DROPPED.map(signalNumber));
  const deliver = (received: number): void => {
    const sent = rewrite.get(received) ?? (dropped.has(received) ? 0 : received);
    if (sent === 0) {
      onSignal(received, 0, null, null);
      return;
    }
    if (target === null) {
      pending.push(received);
      return;
    }
    // Adopted first: once the command has the signal it may die at once, and its children,
    // re-parented to ts-reaper, would then count as adopted and get a signal that, without -g,
    // is the command's alone (seen: the shell's own children got it). Listed before, the
    // adopted set is what ts-reaper had adopted when the signal came.
    const adopted = sendToAdopted(target, sent);
    onSignal(received, sent, sendToTarget(target, sent), adopted);
  };
  const listeners = new Map<NodeJS.Signals, () => void>();
  for (const name of FORWARDED_SIGNALS) {
    const num = signalNumber(name);
    const fn = (): void => deliver(num);
    try {
      process.on(name, fn);
      listeners.set(name, fn);
    } catch {
      // A signal this platform's Node refuses to watch: it is simply not forwarded.
    }
  }
  return {
    setTarget(t: SignalTarget): void {
      target = t;
      for (const sig of pending.splice(0)) deliver(sig);
    },
    uninstall(): void {
      for (const [name, fn] of listeners) process.off(name, fn);
      listeners.clear();
    },
  };
}
