/**
 * Scheduling of one thread: nice value (`setpriority(2)`, kernel `kernel/sys.c`), real-time
 * policy (`sched_setscheduler(2)`), EEVDF time slice (`sched_setattr(2)`/`sched_getattr(2)`,
 * `kernel/sched/syscalls.c`) and CPU affinity (`sched_setaffinity(2)`). Every call takes a thread
 * id (process.ts `gettid`); on Linux these attributes are per thread (sched(7)).
 */
import { arch } from 'node:process';
import { Errno } from './errno.js';
import { libc, callResult, type CallResult } from './libc.js';

/** `SCHED_FIFO` policy (`include/uapi/linux/sched.h`). */
export const SCHED_FIFO = 1;
/** `PRIO_PROCESS` "which" of setpriority (`include/uapi/linux/resource.h`). */
const PRIO_PROCESS = 0;

/**
 * sched_setattr / sched_getattr numbers for this CPU (x86_64 314/315 from
 * `arch/x86/entry/syscalls/syscall_64.tbl`, aarch64 274/275 from
 * `include/uapi/asm-generic/unistd.h`), or null where unknown (then ENOSYS).
 */
const SYS_SCHED_ATTR: { set: number; get: number } | null =
  arch === 'x64' ? { set: 314, get: 315 } : arch === 'arm64' ? { set: 274, get: 275 } : null;
/** `SCHED_FLAG_RESET_ON_FORK` (`include/uapi/linux/sched.h`): kept when the slice is set. */
const SCHED_FLAG_RESET_ON_FORK = 1n;
/** `sizeof(struct sched_attr)` as of SCHED_ATTR_SIZE_VER1 (`include/uapi/linux/sched/types.h`). */
const SCHED_ATTR_BYTES = 56;
/** Offset of `sched_runtime` (u64) in `struct sched_attr`, bytes (`include/uapi/linux/sched/types.h`). */
const SCHED_RUNTIME_AT = 24;
/** Bytes of the CPU mask passed to sched_setaffinity: 1024 CPUs (glibc's `cpu_set_t`). */
const CPU_MASK_BYTES = 128;

const c = {
  setpriority: libc.func('setpriority', 'int', ['int', 'int', 'int']),
  schedSetscheduler: libc.func('sched_setscheduler', 'int', ['int', 'int', '_In_ int *']),
  schedSetattr: libc.func('syscall', 'long', ['long', 'int', 'void *', 'uint']),
  schedGetattr: libc.func('syscall', 'long', ['long', 'int', 'void *', 'uint', 'uint']),
  schedSetaffinity: libc.func('sched_setaffinity', 'int', ['int', 'size_t', 'void *']),
};

/**
 * `setpriority(PRIO_PROCESS, tid, nice)` for one thread: on Linux the "process" argument of
 * PRIO_PROCESS is a thread id and the nice value is per thread (`kernel/sys.c`, sched(7)).
 * @param nice −20 (favoured) … 19; negative values need CAP_SYS_NICE.
 * @returns ret 0 or −1 with errno (`EACCES`/`EPERM`: not allowed; `ESRCH`: no such thread).
 */
export function setThreadNice(tid: number, nice: number): CallResult {
  return callResult(c.setpriority(PRIO_PROCESS, tid, nice));
}

/**
 * `sched_setscheduler(tid, SCHED_FIFO, {priority})` for one thread (a tid from process.ts
 * `gettid`): the thread then preempts every ordinary (CFS) task on its CPU when it wakes. Needs
 * CAP_SYS_NICE and, with cgroup v1 RT group scheduling, a non-zero `cpu.rt_runtime_us` (Docker
 * containers have 0 by default; `Documentation/scheduler/sched-rt-group.rst`).
 * @param priority 1–99.
 * @returns ret 0 or −1 with errno (`EPERM`: not allowed; `EINVAL`: bad priority; `ESRCH`).
 */
export function setThreadFifo(tid: number, priority: number): CallResult {
  return callResult(c.schedSetscheduler(tid, SCHED_FIFO, [priority]));
}

/** `sched_getattr(tid)` into a fresh `struct sched_attr`, seen through a DataView. */
function readSchedAttr(tid: number): { view: DataView; r: CallResult } {
  const attr = new Uint8Array(SCHED_ATTR_BYTES);
  const r = SYS_SCHED_ATTR
    ? callResult(c.schedGetattr(SYS_SCHED_ATTR.get, tid, attr, SCHED_ATTR_BYTES, 0))
    : { ret: -1, errno: Errno.ENOSYS };
  return { view: new DataView(attr.buffer), r };
}

/**
 * Request an EEVDF time slice for one thread of the ordinary (`SCHED_OTHER`) class:
 * `sched_getattr` then `sched_setattr` with `sched_runtime` = `sliceNs`, policy and nice kept.
 * Since Linux 6.12 the fair scheduler takes `sched_runtime` as the thread's requested slice,
 * clamped to 0.1–100 ms (`kernel/sched/syscalls.c`, commit "sched/eevdf: Use
 * sched_attr::sched_runtime to set request/slice suggestion"); a shorter slice gives an earlier
 * virtual deadline, so the thread preempts a CPU hog when it wakes instead of waiting for the
 * hog's slice to end (`PREEMPT_SHORT`, `kernel/sched/fair.c`). It is not a priority: the thread's
 * share of CPU is unchanged, and no capability is needed. Older kernels accept and ignore it.
 * @param tid a thread id (process.ts `gettid`); 0 is the caller.
 * @param sliceNs requested slice, nanoseconds (> 0).
 * Policy, nice, priority and `SCHED_FLAG_RESET_ON_FORK` are kept as read; other flags (util
 * clamps, which need their own flag) are not set.
 * @returns ret 0 or −1 with errno (`ENOSYS` on a CPU other than x86_64/aarch64 or under a
 * seccomp filter without sched_setattr, `EPERM`, `ESRCH`, `EINVAL`); the granted slice is
 * {@link getThreadSlice}.
 */
export function setThreadSlice(tid: number, sliceNs: number): CallResult {
  const { view: v, r } = readSchedAttr(tid);
  if (r.ret < 0 || !SYS_SCHED_ATTR) return r;
  v.setUint32(0, SCHED_ATTR_BYTES, true); // size
  v.setBigUint64(8, v.getBigUint64(8, true) & SCHED_FLAG_RESET_ON_FORK, true); // sched_flags
  v.setBigUint64(SCHED_RUNTIME_AT, BigInt(Math.round(sliceNs)), true);
  return callResult(c.schedSetattr(SYS_SCHED_ATTR.set, tid, v, 0));
}

/**
 * The EEVDF slice of one thread as the kernel reports it (`sched_attr.sched_runtime` of
 * `sched_getattr(2)`), nanoseconds: since Linux 6.12 the default (`sysctl_sched_base_slice`) or
 * what {@link setThreadSlice} obtained after clamping; 0 on older kernels, which do not report
 * (nor honour) a slice for ordinary threads.
 * @returns `ns` ≥ 0, or −1 with `errno` (`ESRCH`: no such thread; `ENOSYS`; `EINVAL`).
 */
export function getThreadSlice(tid: number): { ns: number; errno: number } {
  const { view, r } = readSchedAttr(tid);
  if (r.ret < 0) return { ns: -1, errno: r.errno };
  return { ns: Number(view.getBigUint64(SCHED_RUNTIME_AT, true)), errno: 0 };
}

/**
 * `sched_setaffinity(2)`: restrict one thread (a tid; a pid names its main thread; 0 the caller)
 * to the given CPUs. Children forked afterwards inherit the mask. Same-user targets need no
 * capability. The CPUs must also be in the cgroup's cpuset, or the call fails with EINVAL.
 * @param cpus CPU numbers (0-based, < 1024).
 * @returns ret 0 or −1 with errno (`EINVAL`: no allowed CPU in the mask; `ESRCH`; `EPERM`).
 * @throws RangeError for a CPU number that is not an integer in 0–1023.
 */
export function setAffinity(tid: number, cpus: readonly number[]): CallResult {
  const mask = Buffer.alloc(CPU_MASK_BYTES);
  for (const cpu of cpus) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= CPU_MASK_BYTES * 8) throw new RangeError(`setAffinity: bad CPU number ${cpu}`);
    mask[cpu >> 3]! |= 1 << (cpu & 7);
  }
  return callResult(c.schedSetaffinity(tid, mask.length, mask));
}
