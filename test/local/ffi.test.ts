import { describe, expect, it } from 'vitest';
import {
  EPOLL_CTL_ADD,
  EPOLL_EVENT_SIZE,
  EPOLLET,
  EPOLLHUP,
  EPOLLIN,
  epollCreate,
  epollCtl,
  epollEventAt,
  epollWait,
} from '../../src/ffi/epoll.js';
import { Errno } from '../../src/ffi/errno.js';
import { close } from '../../src/ffi/fd.js';
import { pidfdOpen, pidfdSendSignal } from '../../src/ffi/pidfd.js';
import { spawnDetached } from '../../src/ffi/spawn.js';
import { decodeWaitStatus, exitStatusOf, waitpid } from '../../src/ffi/wait.js';

describe('ffi', () => {
  it('decodes wait statuses with the 128+signal convention', () => {
    expect(decodeWaitStatus(7 << 8)).toEqual({ kind: 'exited', code: 7 });
    expect(exitStatusOf(decodeWaitStatus(15))).toBe(143);
    expect(exitStatusOf(decodeWaitStatus(9 | 0x80))).toBe(137);
    expect(decodeWaitStatus(0x137f)).toEqual({ kind: 'stopped', signal: 0x13 });
    expect(decodeWaitStatus(0xffff)).toEqual({ kind: 'continued' });
  });

  it('spawns outside libuv and reaps the child with waitpid', () => {
    const r = spawnDetached(['sh', '-c', 'exit 42']);
    expect(r.errno).toBe(0);
    const st = new Int32Array(1);
    expect(waitpid(r.ret, st, 0).ret).toBe(r.ret);
    expect(exitStatusOf(decodeWaitStatus(st[0]!))).toBe(42);
  });

  it('reports a missing program as ENOENT, not a pid', () => {
    expect(spawnDetached(['/nonexistent/program'])).toEqual({ ret: -1, errno: Errno.ENOENT });
  });

  it('starts the child with default signal dispositions even though Node ignores SIGPIPE', () => {
    const r = spawnDetached(['sh', '-c', 'kill -PIPE $$; exit 0']);
    const st = new Int32Array(1);
    waitpid(r.ret, st, 0);
    expect(decodeWaitStatus(st[0]!)).toMatchObject({ kind: 'signaled', signal: 13 });
  });

  it('sees exit (EPOLLIN) and reap (EPOLLHUP) of a process through a pidfd', () => {
    const r = spawnDetached(['sleep', '0.05']);
    const fd = pidfdOpen(r.ret);
    expect(fd.errno).toBe(0);
    const ep = epollCreate();
    expect(epollCtl(ep.ret, EPOLL_CTL_ADD, fd.ret, EPOLLIN | EPOLLHUP | EPOLLET, 7).ret).toBe(0);
    const buf = Buffer.alloc(EPOLL_EVENT_SIZE * 4);
    // Deadlines on events that come in ~50 ms (the sleep) and at once (the reap), not bounds.
    const DEADLINE_MS = 60_000;
    expect(epollWait(ep.ret, buf, 4, DEADLINE_MS).ret).toBe(1);
    expect(epollEventAt(buf, 0)).toEqual({ events: EPOLLIN, tag: 7 });
    const st = new Int32Array(1);
    waitpid(r.ret, st, 0);
    expect(epollWait(ep.ret, buf, 4, DEADLINE_MS).ret).toBe(1);
    expect(epollEventAt(buf, 0).events & EPOLLHUP).toBe(EPOLLHUP);
    expect(pidfdSendSignal(fd.ret, 0).errno).toBe(Errno.ESRCH);
    close(fd.ret);
    close(ep.ret);
  });
});
