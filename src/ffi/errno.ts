/**
 * errno values and their names, from Node's own table of the platform's `<errno.h>`
 * (`os.constants.errno`), so that no module keeps a hand-written copy. It loads no koffi: the
 * harness and the bundles can name an errno without loading libc, and `node:os` is a built-in.
 */
import { constants } from 'node:os';

/**
 * errno numbers by name, every one this platform defines (on Linux `Errno.EAGAIN` is 11,
 * `Errno.ECHILD` 10). The values the FFI wrappers return in `errno` compare against these.
 */
export const Errno = constants.errno;

/** Number → name, built on first use; aliases (EWOULDBLOCK = EAGAIN) keep the first name Node lists. */
let names: Map<number, string> | undefined;

/**
 * Symbolic name of an errno value: `11` → `EAGAIN`, or `E<number>` (`E999`) when the platform
 * defines no name for it. Not `util.getSystemErrorName`: it knows only libuv's error codes and
 * names ECHILD and ENOEXEC "Unknown system error".
 */
export function errnoName(errno: number): string {
  if (names === undefined) {
    names = new Map();
    for (const [name, value] of Object.entries(Errno)) if (!names.has(value)) names.set(value, name);
  }
  return names.get(errno) ?? `E${errno}`;
}
