/**
 * The one way tests wait: for an event (a line of output, a file, a state in /proc, a container),
 * never for a fixed time. The integration tiers run on a loaded 2-core machine, where a process
 * can take seconds to exec or to be scheduled, so a deadline is a generous bound on a failure,
 * not a guess at how long things take.
 */
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/** How {@link waitFor} waits. */
export interface WaitOptions {
  /** What is awaited, for the failure message: "the child to exec", "150 reaps". */
  what: string;
  /** Deadline, ms (default 60 s: enough for anything that does happen on a loaded machine). */
  timeoutMs?: number;
  /** Poll period, ms (default 10). */
  intervalMs?: number;
  /** Called at the deadline: what was seen instead (output so far, a /proc state), for the message. */
  detail?: () => string;
}

/** Default deadline of {@link waitFor}, ms. */
export const WAIT_TIMEOUT_MS = 60_000;

/**
 * Poll `predicate` until it returns something other than `undefined`, `null` or `false`, and
 * return that value (so that it can hand back what it found: a pid, a line, a list).
 * @throws Error `timed out after N s waiting for <what>` (plus `detail()`) at the deadline.
 */
export async function waitFor<T>(
  predicate: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? WAIT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v !== undefined && v !== null && v !== false) return v;
    if (performance.now() >= deadline) {
      const detail = opts.detail ? `\n${opts.detail()}` : '';
      throw new Error(`timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${opts.what}${detail}`);
    }
    await delay(opts.intervalMs ?? 10);
  }
}

/** Wait until `file` exists (see {@link waitFor}). */
export function waitForFile(file: string, timeoutMs = WAIT_TIMEOUT_MS): Promise<true> {
  return waitFor(() => existsSync(file) || undefined, { what: `${file} to exist`, timeoutMs });
}
