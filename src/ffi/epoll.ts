/**
 * Waiting on file descriptors: epoll (kernel `fs/eventpoll.c`), a one-shot `poll` (`fs/select.c`),
 * and the two descriptors made to be waited on, timerfd (`fs/timerfd.c`) and eventfd
 * (`fs/eventfd.c`). Constants: `include/uapi/linux/eventpoll.h`, `include/uapi/asm-generic/poll.h`,
 * `include/uapi/linux/time.h`, `include/uapi/linux/timerfd.h` (TFD_* and EFD_* flags share the
 * `O_CLOEXEC`/`O_NONBLOCK` values of fd.ts).
 */
import { arch } from 'node:process';
import { libc, callResult, type CallResult } from './libc.js';
import { O_CLOEXEC, O_NONBLOCK } from './fd.js';

/** `epoll_ctl` operation: add an fd. */
export const EPOLL_CTL_ADD = 1;
/** `epoll_ctl` operation: remove an fd. */
export const EPOLL_CTL_DEL = 2;
/** epoll event bit: readable (a pidfd: its process has exited). */
export const EPOLLIN = 0x001;
/** epoll event bit: hang-up (a pidfd: its process has been reaped, Linux ≥ 6.9). */
export const EPOLLHUP = 0x010;
/** epoll flag: edge-triggered (report each change once). */
export const EPOLLET = 0x80000000;
/** `epoll_create1` flag: close the epoll fd on exec (= `O_CLOEXEC`). */
export const EPOLL_CLOEXEC = 0o2000000;
/**
 * Size of one `struct epoll_event`, bytes: 4-byte events + 8-byte data, packed to 12 on x86_64
 * (`EPOLL_PACKED` in `include/uapi/linux/eventpoll.h`), 16 elsewhere.
 */
export const EPOLL_EVENT_SIZE = arch === 'x64' ? 12 : 16;
/** Byte offset of `data` in `struct epoll_event` (see {@link EPOLL_EVENT_SIZE}). */
const EPOLL_DATA_AT = arch === 'x64' ? 4 : 8;
/** `poll(2)` event bit: readable. */
export const POLLIN = 0x001;
/** `CLOCK_MONOTONIC`: the clock of `process.hrtime.bigint()` (`include/uapi/linux/time.h`). */
export const CLOCK_MONOTONIC = 1;
/** `timerfd_settime` flag: `it_value` is an absolute time (`include/uapi/linux/timerfd.h`). */
export const TFD_TIMER_ABSTIME = 1;

const c = {
  epollCreate1: libc.func('epoll_create1', 'int', ['int']),
  epollCtl: libc.func('epoll_ctl', 'int', ['int', 'int', 'int', 'void *']),
  epollWait: libc.func('epoll_wait', 'int', ['int', 'void *', 'int', 'int']),
  poll: libc.func('poll', 'int', ['void *', 'ulong', 'int']),
  timerfdCreate: libc.func('timerfd_create', 'int', ['int', 'int']),
  timerfdSettime: libc.func('timerfd_settime', 'int', ['int', 'int', 'void *', 'void *']),
  eventfd: libc.func('eventfd', 'int', ['uint', 'int']),
};

/**
 * `epoll_create1(EPOLL_CLOEXEC)` (epoll_create(2)).
 * @returns ret the epoll fd, or −1 with errno (`EMFILE`, `ENFILE`, `ENOMEM`).
 */
export function epollCreate(): CallResult {
  return callResult(c.epollCreate1(EPOLL_CLOEXEC));
}

/**
 * `epoll_ctl(2)` ADD/DEL of `fd` with `events` (`EPOLLIN`|`EPOLLHUP`|`EPOLLET`…) and a 32-bit
 * `tag` stored in the low half of `epoll_event.data` (the watcher stores a slot index there),
 * returned by {@link epollEventAt}. Allocates one small Buffer per call.
 * @returns ret 0 or −1 with errno (`EEXIST`: already added; `ENOENT`: DEL of an fd not added;
 * `EBADF`; `EPERM`: fd does not support polling; `ENOSPC`: `max_user_watches`).
 */
export function epollCtl(epfd: number, op: number, fd: number, events: number, tag: number): CallResult {
  const ev = Buffer.alloc(EPOLL_EVENT_SIZE);
  ev.writeUInt32LE(events >>> 0, 0);
  ev.writeUInt32LE(tag >>> 0, EPOLL_DATA_AT);
  return callResult(c.epollCtl(epfd, op, fd, ev));
}

/**
 * `epoll_wait(2)` into `buf` (a Buffer of at least `max * EPOLL_EVENT_SIZE` bytes, reused).
 * Blocks the calling thread up to `timeoutMs` milliseconds (−1: forever; 0: do not block).
 * Decode entries with {@link epollEventAt}.
 * @returns ret the number of ready entries (0: timed out), or −1 with errno (`EINTR`: a
 * signal arrived; `EBADF`; `EINVAL`).
 */
export function epollWait(epfd: number, buf: Buffer, max: number, timeoutMs: number): CallResult {
  return callResult(c.epollWait(epfd, buf, max, timeoutMs));
}

/** Decode entry `i` of an `epoll_wait` buffer: the event bits and the 32-bit tag given to {@link epollCtl}. Pure. */
export function epollEventAt(buf: Buffer, i: number): { events: number; tag: number } {
  const off = i * EPOLL_EVENT_SIZE;
  return { events: buf.readUInt32LE(off), tag: buf.readUInt32LE(off + EPOLL_DATA_AT) };
}

/**
 * `poll(2)` on one fd with a zero timeout: the ready event bits (`POLLIN`…; 0 when none), or −1
 * on error (errno not kept: `EINTR`, `ENOMEM`; a closed fd reports `POLLNVAL` 0x020 instead).
 * Used to ask whether a pidfd is already readable (its process has exited) without blocking.
 */
export function pollOnce(fd: number, events: number): number {
  const pfd = Buffer.alloc(8); // struct pollfd { int fd; short events; short revents; }
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(events, 4);
  const r = c.poll(pfd, 1, 0) as number;
  return r < 0 ? -1 : pfd.readInt16LE(6);
}

/**
 * `timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC|TFD_NONBLOCK)` (timerfd_create(2)).
 * @returns ret the fd, or −1 with errno (`EMFILE`, `ENFILE`, `ENOMEM`).
 */
export function timerfdCreate(): CallResult {
  return callResult(c.timerfdCreate(CLOCK_MONOTONIC, O_CLOEXEC | O_NONBLOCK));
}

/**
 * Arm a timerfd (`timerfd_settime(2)` with `TFD_TIMER_ABSTIME`) to expire first at the absolute
 * CLOCK_MONOTONIC time `firstNs` and then every `intervalNs` (nanoseconds; 0: once; `firstNs`
 * 0 disarms). Reading the fd (fd.ts `read`, 8 bytes) yields the number of expirations as a u64.
 * @returns ret 0 or −1 with errno (`EINVAL`: bad fd or time; `EBADF`).
 */
export function timerfdSetAbs(fd: number, firstNs: bigint, intervalNs: bigint): CallResult {
  const spec = Buffer.alloc(32); // struct itimerspec { timespec it_interval; timespec it_value; }
  spec.writeBigInt64LE(intervalNs / 1_000_000_000n, 0);
  spec.writeBigInt64LE(intervalNs % 1_000_000_000n, 8);
  spec.writeBigInt64LE(firstNs / 1_000_000_000n, 16);
  spec.writeBigInt64LE(firstNs % 1_000_000_000n, 24);
  return callResult(c.timerfdSettime(fd, TFD_TIMER_ABSTIME, spec, null));
}

/**
 * `eventfd(0, EFD_CLOEXEC|EFD_NONBLOCK)` (eventfd(2)): a wake-up fd for a thread blocked in
 * `epoll_wait`; write 8 bytes (a u64 > 0) to make it readable.
 * @returns ret the fd, or −1 with errno (`EMFILE`, `ENFILE`, `ENOMEM`).
 */
export function eventfdCreate(): CallResult {
  return callResult(c.eventfd(0, O_CLOEXEC | O_NONBLOCK));
}
