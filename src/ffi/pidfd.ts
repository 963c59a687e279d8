/**
 * Process file descriptors: `pidfd_open(2)` (kernel `kernel/pid.c`) and `pidfd_send_signal(2)`
 * (`kernel/signal.c`), called through `syscall(2)` because glibc < 2.36 has no wrappers. Numbers
 * from `include/uapi/asm-generic/unistd.h` (pidfd_send_signal = 424, pidfd_open = 434), the same
 * on x86_64 (`arch/x86/entry/syscalls/syscall_64.tbl`) and aarch64.
 *
 * A pidfd is readable (`EPOLLIN`/`POLLIN`) once its process has exited, and reports `EPOLLHUP`
 * once it has been reaped (Linux ≥ 6.9, the kernel's `pidfd_poll()`; test/local/ffi.test.ts
 * checks both on the machine it runs on). See epoll.ts.
 */
import { libc, callResult, type CallResult } from './libc.js';

const SYS_PIDFD_SEND_SIGNAL = 424;
const SYS_PIDFD_OPEN = 434;

const c = {
  pidfdOpen: libc.func('syscall', 'long', ['long', 'int', 'uint']),
  pidfdSendSignal: libc.func('syscall', 'long', ['long', 'int', 'int', 'void *', 'uint']),
};

/**
 * `pidfd_open(2)` (Linux ≥ 5.3): a close-on-exec file descriptor that refers to `pid`, which need
 * not be a child (any process of the caller's PID namespace or below).
 * @returns ret the fd, or −1 with errno (`ESRCH`: no such process, or already reaped; `ENOSYS`:
 * kernel < 5.3 or a seccomp filter; `EMFILE`; `EINVAL`).
 */
export function pidfdOpen(pid: number): CallResult {
  return callResult(c.pidfdOpen(SYS_PIDFD_OPEN, pid, 0));
}

/**
 * `pidfd_send_signal(2)` (Linux ≥ 5.1): send `signal` to the process of `pidfd`, with no pid
 * reuse race. Signal 0 probes: `ESRCH` means the process has been reaped (a zombie still
 * answers 0).
 * @returns ret 0 or −1 with errno (`ESRCH`: reaped; `EPERM`; `EBADF`: not a pidfd; `ENOSYS`).
 */
export function pidfdSendSignal(pidfd: number, signal: number): CallResult {
  return callResult(c.pidfdSendSignal(SYS_PIDFD_SEND_SIGNAL, pidfd, signal, null, 0));
}
