/** One errno table for the project: Node's `os.constants.errno`, named both ways. */
import { describe, expect, it } from 'vitest';
import { Errno, errnoName } from '../../src/ffi/errno.js';

describe('errno', () => {
  it('has the Linux values the FFI callers compare against', () => {
    expect([Errno.EPERM, Errno.ENOENT, Errno.ESRCH, Errno.EINTR, Errno.ECHILD, Errno.EAGAIN, Errno.ENOSYS]).toEqual([
      1, 2, 3, 4, 10, 11, 38,
    ]);
  });

  it('names every value, including those libuv has no name for, and aliases by their usual name', () => {
    expect(errnoName(Errno.ECHILD)).toBe('ECHILD');
    expect(errnoName(Errno.ENOEXEC)).toBe('ENOEXEC');
    expect(errnoName(Errno.EWOULDBLOCK)).toBe('EAGAIN');
    expect(errnoName(Errno.EOPNOTSUPP)).toBe('ENOTSUP');
    expect(errnoName(999)).toBe('E999');
  });
});
