/**
 * Waiting for an event instead of for a time: tests poll for the thing itself (a file, a line, a
 * /proc state) until a generous deadline, so that a loaded machine makes them slower, not red.
 */
import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Poll `probe` every `everyMs` until it returns a value other than `undefined`/`false`, and
 * return that value.
 * @param what what is awaited, for the error message.
 * @param timeoutMs deadline, ms (default 60 s: a generous bound, not a performance goal).
 * @throws Error naming `what` when the deadline passes.
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 10): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(everyMs);
  }
}

/** Wait until `file` exists (see {@link waitFor}). */
export function waitForFile(file: string, timeoutMs = 60_000): Promise<true> {
  return waitFor(`${file} to exist`, () => existsSync(file) || undefined, timeoutMs);
}
