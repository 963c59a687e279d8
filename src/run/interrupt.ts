/**
 * SIGINT, SIGTERM and SIGHUP, as the commands handle them: the first signal aborts what is running (the
 * registered callbacks), then asks the runtime in use to remove everything of this run; a second
 * signal leaves at once and says how to finish the cleanup. The runtime knows nothing of
 * signals: it only removes what it made ({@link ContainerRuntime.removeRun}).
 */
import { constants } from 'node:os';
import { ReapbenchError } from '../errors.js';
import { RUN_ID } from '../runtime/cleanup.js';
import type { ContainerRuntime } from '../runtime/runtime.js';

/** What the handler needs of a runtime: remove everything of this run, now or at once. */
export type RunCleanup = Pick<ContainerRuntime, 'removeRun' | 'removeRunNow'>;

const interruptCallbacks = new Set<(signal: NodeJS.Signals) => void>();
/** Where the handler's lines go (the latest registered); none: dropped. See {@link onInterrupt}. */
let noticeSink: ((line: string) => void) | null = null;
/** What a second signal does last before the process exits (the latest registered); see {@link onInterrupt}. */
let leaving: (() => string | null) | null = null;
let handlersInstalled = false;
let interrupted: NodeJS.Signals | null = null;
/** When the first interrupt arrived, ms (`performance.now()`). */
let interruptedAt = 0;
/** A second delivery of the interrupting signal within this is the same interrupt, ms (see installHandlers). */
export const DUPLICATE_MS = 200;
/** The runtimes whose containers an interrupt removes (the ones this process connected). */
const cleanups = new Set<RunCleanup>();

/** The signals that interrupt a command: Ctrl-C, what `timeout`, CI runners and `kill` send, and a closed terminal. */
export const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The signal that interrupted the run, or null. */
export function interruptedBy(): NodeJS.Signals | null {
  return interrupted;
}

/** The exit status of a command ended by `signal` (default: the one that interrupted it, else SIGINT): 128 + its number (130, 143, 129). */
export function interruptExitCode(signal: NodeJS.Signals | null = interrupted): number {
  return 128 + constants.signals[signal ?? 'SIGINT'];
}

/**
 * `p`, or as soon as `signal` aborts (an interrupt), a rejection, whatever `p` does: an engine
 * request that hangs (an engine stopped, or swapping) must not hold an interrupted command,
 * which has to end within seconds. `p` is left to settle unheard (the command exits soon after).
 * @throws ReapbenchError "interrupted before the first run ended" with exit status 128 + the
 *   signal's number, when `signal` aborts first; whatever `p` rejects with otherwise.
 */
export function untilInterrupted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  const interruptedError = (): ReapbenchError =>
    new ReapbenchError('interrupted before the first run ended; nothing was measured', { exitCode: interruptExitCode() });
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(interruptedError());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(interruptedError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Have an interrupt remove what `runtime` made for this run (call it once connected).
 * @returns a function that stops doing so.
 */
export function cleanUpOnInterrupt(runtime: RunCleanup): () => void {
  cleanups.add(runtime);
  return () => void cleanups.delete(runtime);
}

/**
 * The line a second signal prints before leaving at once: where the partial results are
 * (`results`, a folder; null: none kept), and, when `left`, the command that removes what this
 * run (`runId`) may have left, and nothing of any other run's. Null when it has nothing to say.
 */
export function secondSignalNotice(left = true, results: string | null = null, runId: string = RUN_ID): string | null {
  const parts = [
    ...(results === null ? [] : [`partial results in ${results}`]),
    ...(left ? [`run reapbench clean --run ${runId} to remove what this run may have left`] : []),
  ];
  return parts.length === 0 ? null : `reapbench: left at once; ${parts.join('; ')}`;
}

/**
 * Register `cb` to run when SIGINT, SIGTERM or SIGHUP arrives (before containers are removed), and
 * install the process-wide handlers once. The handlers run the callbacks (which abort what is
 * running and decide how to finish), then remove everything of this run through the runtimes
 * given to {@link cleanUpOnInterrupt}; if no callback is registered the process then exits with
 * 128 + signal (130 for SIGINT, 143 SIGTERM, 129 SIGHUP). `onNotice` receives the handlers' lines (a container that could
 * not be removed; after a second signal, the {@link secondSignalNotice}), without newline: it
 * must write them synchronously, as the process exits right after. `onLeave` runs on a second
 * signal, just before that line: synchronously, it leaves the results as they should stay and
 * returns the folder that holds them, or null when none is kept.
 * @returns a function that unregisters `cb` (and `onNotice`, `onLeave`).
 */
export function onInterrupt(
  cb: (signal: NodeJS.Signals) => void,
  onNotice?: (line: string) => void,
  onLeave?: () => string | null,
): () => void {
  interruptCallbacks.add(cb);
  installHandlers(onNotice);
  if (onLeave) leaving = onLeave;
  return () => {
    interruptCallbacks.delete(cb);
    if (onNotice && noticeSink === onNotice) noticeSink = null;
    if (onLeave && leaving === onLeave) leaving = null;
  };
}

/**
 * Install SIGINT/SIGTERM/SIGHUP handlers that remove this run's containers (idempotent); `onNotice`,
 * when given, becomes where their lines go (see {@link onInterrupt}).
 */
export function installHandlers(onNotice?: (line: string) => void): void {
  if (onNotice) noticeSink = onNotice;
  if (handlersInstalled) return;
  handlersInstalled = true;
  const handle = (signal: NodeJS.Signals): void => {
    // The same signal again within moments is one interrupt delivered twice, not a user who
    // insists: GNU `timeout` sends its signal to the command and then to the command's process
    // group, and a shell's `kill -INT 0` reaches every process of the group, reapbench included,
    // as does the terminal's. A person's second Ctrl-C takes longer than this.
    if (interrupted === signal && performance.now() - interruptedAt < DUPLICATE_MS) return;
    if (interrupted) {
      // Second signal: the user insists; leave at once. Force-removals already sent go on in
      // the engine; what can go synchronously goes now; one line says where the partial results
      // are and, when anything may be left, how to finish the cleanup.
      let left = 0;
      for (const c of cleanups) left += c.removeRunNow();
      let results: string | null = null;
      try {
        results = leaving?.() ?? null;
      } catch {
        // Leaving at once matters more than the tidying: the line still goes out.
      }
      const line = secondSignalNotice(left > 0, results);
      if (line !== null) noticeSink?.(line);
      process.exit(interruptExitCode(signal));
    }
    interrupted = signal;
    interruptedAt = performance.now();
    // Callbacks first (they abort the run in progress, so it is recorded as aborted, not as a
    // failed run of its init), then the containers go.
    for (const cb of interruptCallbacks) cb(signal);
    void Promise.all([...cleanups].map((c) => c.removeRun())).then((failures) => {
      for (const f of failures.flat()) noticeSink?.(`reapbench: could not remove ${f}`);
      if (interruptCallbacks.size === 0) process.exit(interruptExitCode(signal));
    });
  };
  for (const s of INTERRUPTS) process.on(s, handle);
}
