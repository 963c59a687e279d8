import { describe, expect, it } from 'vitest';
import * as L from '../../src/ffi/linux.js';

describe('ffi/linux', () => {
  it('decodes wait statuses with the 128+signal convention', () => {
    expect(L.decodeWaitStatus(7 << 8)).toEqual({ kind: 'exited', code: 7 });
    expect(L.exitStatusOf(L.decodeWaitStatus(15))).toBe(143);
    expect(L.exitStatusOf(L.decodeWaitStatus(9 | 0x80))).toBe(137);
    expect(L.decodeWaitStatus(0x137f)).toEqual({ kind: 'stopped', signal: 0x13 });
    expect(L.decodeWaitStatus(0xffff)).toEqual({ kind: 'continued' });
  });

  it('spawns outside libuv and reaps the child with waitpid', () => {
    const r = L.spawnDetached(['sh', '-c', 'exit 42']);
    expect(r.errno).toBe(0);
    const st = new Int32Array(1);
    expect(L.waitpid(r.ret, st, 0).ret).toBe(r.ret);
    expect(L.exitStatusOf(L.decodeWaitStatus(st[0]!))).toBe(42);
  });

  it('reports a missing program as ENOENT, not a pid', () => {
    expect(L.spawnDetached(['/nonexistent/program'])).toEqual({ ret: -1, errno: L.Errno.ENOENT });
  });

  it('starts the child with default signal dispositions even though Node ignores SIGPIPE', () => {
    const r = L.spawnDetached(['sh', '-c', 'kill -PIPE $$; exit 0']);
    const st = new Int32Array(1);
    L.waitpid(r.ret, st, 0);
    expect(L.decodeWaitStatus(st[0]!)).toMatchObject({ kind: 'signaled', signal: 13 });
  });

  it('sees exit (EPOLLIN) and reap (EPOLLHUP) of a process through a pidfd', () => {
    const r = L.spawnDetached(['sleep', '0.05']);
    const fd = L.pidfdOpen(r.ret);
    expect(fd.errno).toBe(0);
    const ep = L.epollCreate();
    expect(L.epollCtl(ep.ret, L.EPOLL_CTL_ADD, fd.ret, L.EPOLLIN | L.EPOLLHUP | L.EPOLLET, 7).ret).toBe(0);
    const buf = Buffer.alloc(L.EPOLL_EVENT_SIZE * 4);
    expect(L.epollWait(ep.ret, buf, 4, 5000).ret).toBe(1);
    expect(L.epollEventAt(buf, 0)).toEqual({ events: L.EPOLLIN, tag: 7 });
    const st = new Int32Array(1);
    L.waitpid(r.ret, st, 0);
    expect(L.epollWait(ep.ret, buf, 4, 5000).ret).toBe(1);
    expect(L.epollEventAt(buf, 0).events & L.EPOLLHUP).toBe(L.EPOLLHUP);
    expect(L.pidfdSendSignal(fd.ret, 0).errno).toBe(L.Errno.ESRCH);
    L.close(fd.ret);
    L.close(ep.ret);
  });
});
