// SPDX-License-Identifier: GPL-2.0
/*
 * reapbench's kernel instrument: the BPF side. Reports, for tasks in a non-initial PID
 * namespace only (so that host activity is dropped here, not in user space), the instants a
 * process becomes a zombie, is reaped, is created, is freed, and fails to fork.
 *
 * Built with libbpf CO-RE (clang -target bpf against a vmlinux.h dumped from the running
 * kernel's BTF), so that one object runs on every kernel >= 5.8 with BTF: 5.8 for the BPF ring
 * buffer. Only tracepoints are used: kprobes and fentry are not available on every machine kind
 * this harness runs on (CONFIG_KPROBES may be unset), tracepoints are a stable ABI. All of
 * them are attached as BTF-typed raw tracepoints (tp_btf, Linux >= 5.5, needs the kernel's BTF
 * like CO-RE does, no trampoline unlike fentry, and no tracefs: they are found by BTF id):
 * their pointer arguments can then be read with plain loads, which the verifier turns into
 * fault-safe loads, instead of a bpf_probe_read_kernel() call per field: these programs run on
 * every fork, free, signal and system call exit of the machine. The current task is still read with probe reads
 * (a BTF pointer to it needs bpf_get_current_task_btf(), Linux 5.11), and so is the siginfo
 * (the kernel types that argument as a scalar: it may be SEND_SIG_PRIV, not a pointer).
 *
 * Where each instant comes from (kernel sources):
 *  - zombie: kernel/exit.c exit_notify() → kernel/signal.c do_notify_parent() sends SIGCHLD to
 *    the parent; __send_signal_locked() fires signal:signal_generate. That is the moment the
 *    task is EXIT_ZOMBIE and waitable. sched:sched_process_exit fires earlier (in do_exit(),
 *    before files, fs and the cgroup are released) and sched:sched_process_free later (after an
 *    RCU grace period), so neither is the zombie's start or end.
 *  - reap: the return of wait4/waitid (kernel/exit.c do_wait() → wait_task_zombie() →
 *    release_task()): the zombie's pid is free again when the syscall returns.
 *  - fork: sched:sched_process_fork (kernel/fork.c kernel_clone()).
 *  - fork failure: the exit of clone, clone3, fork or vfork with a negative return
 *    (kernel/cgroup/pids.c pids_can_fork() gives -EAGAIN at pids.max), seen with the reaps on
 *    the raw sys_exit tracepoint (see on_sys_exit).
 *  - free: sched:sched_process_free (kernel/exit.c delayed_put_task_struct()): only to see
 *    processes the kernel reaped by itself (parent ignoring SIGCHLD or with SA_NOCLDWAIT,
 *    kernel/signal.c do_notify_parent() returns autoreap = true).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tracer.h"

char LICENSE[] SEC("license") = "GPL";

#define SIGCHLD 17
#define CLD_EXITED 1
#define CLD_DUMPED 3
#define WNOWAIT 0x01000000

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 8 << 20); /* 8 MiB: ~80,000 events if the loader stalls */
} events SEC(".maps");

/* Counters the loader reads at the end: [0] ring-buffer reservations that failed (lost events),
 * [1] processes that could not be remembered in `tracked` (a pid beyond its table, which
 * PID_MAX_LIMIT below rules out). Per CPU: no atomics on the hot path. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, u32);
  __type(value, u64);
} counters SEC(".maps");

/* Host tgids of namespaced processes seen forked or exiting, so that their free (where the
 * namespace can no longer be read: release_task() has detached the pids) and a reap by a
 * parent in the initial namespace (the container's PID 1 reaped by its runtime) are recognised.
 * One byte per host pid: 0 = not ours, 1 = seen, 2 = exited (a zombie or autoreaped).
 *
 * An array indexed by pid rather than a hash keyed by it: every fork, exit and free of the
 * machine looks a pid up here, and a hash update cost ~450 ns per fork or exit here
 * (kernel.bpf_stats_enabled, the programs with and without it), a third of the programs' time,
 * where an array lookup is a bounds check and an address the verifier inlines. Eight pids share
 * one 8-byte element (an array's values are 8-byte aligned, so single bytes would take 8 each);
 * each pid's byte is written with a plain byte store, which never touches its neighbours, and a
 * given pid's events are ordered (fork, exit, free), so no atomics are needed. Covering every
 * possible pid, PID_MAX_LIMIT (include/linux/threads.h: 4 Mi on 64-bit), takes 4 MiB. */
#define PID_MAX_LIMIT (4 * 1024 * 1024)
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, PID_MAX_LIMIT / 8);
  __type(key, u32);
  __type(value, u64);
} tracked SEC(".maps");

static __always_inline void count(u32 which) {
  u64 *v = bpf_map_lookup_elem(&counters, &which);
  if (v) *v += 1;
}

/* The initial PID namespace's inode number (include/linux/proc_ns.h PROC_PID_INIT_INO): level 0
 * is always that namespace, so its inode is not read. */
#define PID_INIT_INO 0xEFFFFFFCU
/* How deep PID namespaces nest at most (include/linux/pid_namespace.h). */
#define MAX_PID_NS_LEVEL 32

/* The deepest TRACER_LEVELS (namespace inode, pid) pairs of `pid`, whose level is `level`, into `e`.
 * struct pid ends in a flexible array `numbers[level + 1]` (include/linux/pid.h): its offset
 * comes from the running kernel's BTF (CO-RE), the element is struct upid { int nr; ns; }.
 * The entries wanted are contiguous, so they come in one read: a helper call costs ~30 ns here
 * (on_signal_generate went from 979 to 840 ns a run with five fewer, kernel.bpf_stats_enabled),
 * and these programs run at every fork and exit of the machine. */
static __always_inline void read_ids(struct pid *pid, unsigned int level, struct tracer_event *e) {
  unsigned long base = (unsigned long)pid + bpf_core_field_offset(struct pid, numbers);
  u64 first = level >= TRACER_LEVELS ? level - (TRACER_LEVELS - 1) : 0;
  unsigned int n = level - first + 1;
  struct upid u[TRACER_LEVELS] = {};
  /* The verifier must see the read's start and size bounded, as 64-bit values. Neither can
   * exceed its bound (MAX_PID_NS_LEVEL, include/linux/pid_namespace.h; first is chosen so that
   * n never exceeds TRACER_LEVELS), which clang knows and would drop the tests for: the
   * barriers hide that. */
  u64 size = (u64)n * sizeof(struct upid);
  barrier_var(size);
  if (size > sizeof(u)) size = sizeof(u);
  barrier_var(first);
  if (first > MAX_PID_NS_LEVEL) first = MAX_PID_NS_LEVEL;
  bpf_probe_read_kernel(u, size, (void *)(base + first * sizeof(struct upid)));
  e->level = level;
  e->nids = n;
#pragma unroll
  for (int i = 0; i < TRACER_LEVELS; i++) {
    if (i < n) {
      e->ids[i].nr = u[i].nr;
      e->ids[i].ns = first + i == 0 ? PID_INIT_INO : BPF_CORE_READ(u[i].ns, ns.inum);
    }
  }
}

/* A task's (level, pid in its own namespace, that namespace's inode). */
static __always_inline unsigned int own_level(struct task_struct *t, int *nr, unsigned int *ns) {
  struct pid *pid = BPF_CORE_READ(t, thread_pid);
  unsigned int level = BPF_CORE_READ(pid, level);
  if (nr || ns) {
    struct upid u = {};
    unsigned long base = (unsigned long)pid + bpf_core_field_offset(struct pid, numbers);
    bpf_probe_read_kernel(&u, sizeof(u), (void *)(base + level * sizeof(struct upid)));
    if (nr) *nr = u.nr;
    if (ns) *ns = BPF_CORE_READ(u.ns, ns.inum);
  }
  return level;
}

/* The pid in the namespace at `level` of `pid`, whose own level is `own` (0 when `pid` is not
 * that deep). */
static __always_inline int nr_at(struct pid *pid, unsigned int own, unsigned int level) {
  if (own < level) return 0;
  struct upid u = {};
  unsigned long base = (unsigned long)pid + bpf_core_field_offset(struct pid, numbers);
  bpf_probe_read_kernel(&u, sizeof(u), (void *)(base + level * sizeof(struct upid)));
  return u.nr;
}

static __always_inline struct tracer_event *reserve(u32 type) {
  struct tracer_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count(0);
    return 0;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->ts = bpf_ktime_get_ns();
  e->type = type;
  return e;
}

/* Never wake the loader: it polls every 50 ms and reads what waits (tracer.c). A wake-up per
 * event (the default, adaptive policy wakes whenever the loader has caught up) costs an
 * irq_work and a context switch per fork/exit/reap, which showed in the fork loop's rate; and
 * asking the buffer how full it is, to wake only when it fills, costs a helper call per event.
 * It cannot fill between two polls: 8 MiB is ~80,000 events, 50 ms of 1.6 million events/s,
 * two orders of magnitude beyond the fork rates of a machine (the fork floor here is ~10,000
 * processes/s, 4 events each). A loader that does not run for seconds loses events either way,
 * and they are counted. */
static __always_inline void submit(struct tracer_event *e) {
  bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* `pid`'s byte in `tracked`, or 0 when it is beyond the table. */
static __always_inline u8 *state_of(u32 pid) {
  u32 key = pid / 8;
  u8 *v = bpf_map_lookup_elem(&tracked, &key);
  if (!v) return 0;
  return v + (pid & 7);
}

static __always_inline void remember(u32 tgid, u8 state) {
  u8 *s = state_of(tgid);
  if (s)
    *s = state;
  else
    count(1);
}

/* ---------------------------------------------------------------- zombie */

/* TP_PROTO(int sig, struct kernel_siginfo *info, struct task_struct *task, int group, int result)
 * (include/trace/events/signal.h). The raw tracepoint gives the siginfo, which tells whose exit
 * the signal reports. */
SEC("tp_btf/signal_generate")
int BPF_PROG(on_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *parent) {
  if (sig != SIGCHLD) return 0;
  /* SEND_SIG_NOINFO (0) and SEND_SIG_PRIV (1) are not pointers: a kill(2)-style SIGCHLD. */
  if ((unsigned long)info <= 1) return 0;
  /* `info` stays a probe read: the kernel types this argument as a scalar, since it may be
   * SEND_SIG_NOINFO or SEND_SIG_PRIV rather than a pointer. One read for the three fields: a
   * kernel_siginfo has the user siginfo's layout (include/uapi/asm-generic/siginfo.h), whose
   * SIGCHLD fields the kernel never moves (waitid_returned() relies on the same layout). */
  struct kernel_siginfo si;
  if (bpf_probe_read_kernel(&si, sizeof(si), info)) return 0;
  int code = si.si_code;
  if (code < CLD_EXITED || code > CLD_DUMPED) return 0; /* stop/continue/trap, or user-sent */

  /* do_notify_parent(tsk) runs in the exiting task's context, except in two cases where it
   * reports a process that already was a zombie or whose group is now empty:
   *  - the last thread of a group whose leader exited first: current is that thread, and the
   *    process is current->group_leader (kernel/exit.c release_task());
   *  - a zombie re-parented when its parent dies (kernel/exit.c reparent_leader()): current is
   *    the dying parent. Its exit was reported when it happened; this one is skipped.
   * The siginfo's si_pid is the exiting process's pid in the parent's namespace: compare it
   * with the group leader's pid at the parent's level to tell them apart. */
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct task_struct *leader = BPF_CORE_READ(task, group_leader);
  struct pid *lpid = BPF_CORE_READ(leader, thread_pid);
  unsigned int level = lpid ? BPF_CORE_READ(lpid, level) : 0;
  if (level == 0) return 0; /* host process: not ours */
  /* `parent` is the tracepoint's argument: plain loads from here on. */
  struct pid *ppid = parent->thread_pid;
  unsigned int plevel = ppid ? ppid->level : 0;
  int si_pid = si._sifields._sigchld._pid;
  if (nr_at(lpid, level, plevel) != si_pid) return 0;

  /* Remembered even when the event is lost, so that a host reaper's wait is still matched. */
  u32 tgid = BPF_CORE_READ(leader, tgid);
  remember(tgid, 2);
  struct tracer_event *e = reserve(EV_EXIT);
  if (!e) return 0;
  read_ids(lpid, level, e);
  e->pid = tgid;
  e->ppid = parent->tgid;
  e->a = code;
  e->b = si._sifields._sigchld._status;
  BPF_CORE_READ_STR_INTO(&e->comm, leader, comm);
  bpf_probe_read_kernel_str(&e->pcomm, sizeof(e->pcomm), parent->comm);
  submit(e);
  return 0;
}

/* ---------------------------------------------------------------- fork */

/* TP_PROTO(struct task_struct *parent, struct task_struct *child) */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child) {
  int pid = child->pid;
  if (pid != child->tgid) return 0; /* a thread, not a process */
  struct pid *cpid = child->thread_pid;
  unsigned int level = cpid ? cpid->level : 0;
  if (level == 0) return 0;
  remember(pid, 1);
  struct tracer_event *e = reserve(EV_FORK);
  if (!e) return 0;
  read_ids(cpid, level, e);
  e->pid = pid;
  /* real_parent, not `parent`: with CLONE_PARENT the new process is the caller's sibling. */
  e->ppid = child->real_parent->tgid;
  bpf_probe_read_kernel_str(&e->comm, sizeof(e->comm), child->comm);
  submit(e);
  return 0;
}

/* ---------------------------------------------------------------- free */

/* TP_PROTO(struct task_struct *p) */
SEC("tp_btf/sched_process_free")
int BPF_PROG(on_free, struct task_struct *p) {
  u32 pid = p->pid;
  if (pid != (u32)p->tgid) return 0;
  u8 *state = state_of(pid);
  if (!state || *state == 0) return 0;
  *state = 0;
  struct tracer_event *e = reserve(EV_FREE);
  if (!e) return 0;
  e->pid = pid;
  bpf_probe_read_kernel_str(&e->comm, sizeof(e->comm), p->comm);
  submit(e);
  return 0;
}

/* ---------------------------------------------------------------- reap */

static __always_inline void report_reap(int reaped, int call) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  int nr = 0;
  unsigned int ns = 0;
  unsigned int level = own_level(task, &nr, &ns);
  if (level == 0) {
    /* A host reaper: report it only for a process we saw exit in a namespace (the container's
     * PID 1 reaped by its runtime, or by unshare). There the returned pid is the host pid. */
    u8 *state = state_of((u32)reaped);
    if (!state || *state != 2) return;
  }
  struct tracer_event *e = reserve(EV_REAP);
  if (!e) return;
  e->level = level;
  e->pid = (int)(bpf_get_current_pid_tgid() >> 32);
  e->ppid = reaped;
  e->a = nr;
  e->b = (int)ns;
  e->c = call;
  bpf_get_current_comm(&e->comm, sizeof(e->comm));
  submit(e);
}

/* waitid(which, pid, siginfo_t *infop, options, rusage) returned 0: the child it reports is in
 * *infop, unless WNOHANG found none (si_pid 0) or WNOWAIT left the zombie in place. */
static __always_inline void waitid_returned(unsigned long infop, unsigned long options) {
  if (!infop || (options & WNOWAIT)) return;
  /* siginfo_t on 64-bit: si_signo, si_errno, si_code, padding, then si_pid at 16 and si_status
   * at 24 (include/uapi/asm-generic/siginfo.h). */
  int head[5] = {}; /* the first 20 bytes, in one read */
  bpf_probe_read_user(head, sizeof(head), (void *)infop);
  int code = head[2], pid = head[4];
  if (pid <= 0 || code < CLD_EXITED || code > CLD_DUMPED) return;
  report_reap(pid, 1);
}

/* ---------------------------------------------------------------- fork failure */

static __always_inline void fork_failed(long ret, int call) {
  struct task_struct *task = (struct task_struct *)bpf_get_current_task();
  struct pid *pid = BPF_CORE_READ(task, thread_pid);
  unsigned int level = pid ? BPF_CORE_READ(pid, level) : 0;
  if (level == 0) return;
  struct tracer_event *e = reserve(EV_FORKFAIL);
  if (!e) return;
  read_ids(pid, level, e);
  u64 id = bpf_get_current_pid_tgid();
  e->pid = (int)(id >> 32);
  e->ppid = (int)id;
  e->a = (int)-ret;
  e->b = call;
  bpf_get_current_comm(&e->comm, sizeof(e->comm));
  submit(e);
}

/* ---------------------------------------------------------------- system calls */

/* x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl); the build targets x86
 * only (clang -D__TARGET_ARCH_x86). */
#define NR_CLONE 56
#define NR_FORK 57
#define NR_VFORK 58
#define NR_WAIT4 61
#define NR_WAITID 247
#define NR_CLONE3 435
/* A 32-bit task's system calls have other numbers (syscall_32.tbl) and arrive with the 32-bit
 * user code segment (arch/x86/include/asm/segment.h __USER32_CS): those are left out, as the
 * syscalls:* tracepoints leave compat system calls out on x86. */
#define USER32_CS 0x23

/* One program on the raw sys_exit tracepoint (TP_PROTO(struct pt_regs *regs, long ret),
 * include/trace/events/syscalls.h) for the six calls this instrument needs, instead of the
 * syscalls:sys_exit_* / sys_enter_* tracepoints. Those are built on the same raw tracepoint by
 * perf (kernel/trace/trace_syscalls.c), which fills a trace record for every traced call before
 * the program runs: measured with programs that return at once (npm run bench:tracer --
 * --baseline), the seven perf syscall tracepoints cost the fork loop 2.2 % of its rate more than
 * the raw ones alone, an empty raw sys_enter + sys_exit pair 0.8 %, though such a program runs at
 * every system call of the machine and returns at its first test for all but these six. The arguments are still in the saved user registers at
 * exit (only ax holds the return value), so waitid's siginfo pointer and options need no
 * sys_enter program nor a map from entry to exit. */
SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret) {
  long nr = regs->orig_ax;
  switch (nr) {
    case NR_WAIT4:
      /* wait4 also returns children that stopped or continued (WUNTRACED, WCONTINUED); telling
       * those apart needs the status the kernel wrote to user memory. They are reported as
       * reaps and src/tracer/match.ts drops them: a stopped or continued process is not a
       * zombie, so no exit waits for them. */
      if (ret > 0 && regs->cs != USER32_CS) report_reap((int)ret, 0);
      return 0;
    case NR_WAITID:
      if (ret == 0 && regs->cs != USER32_CS) waitid_returned(regs->dx, regs->r10);
      return 0;
    case NR_CLONE:
    case NR_FORK:
    case NR_VFORK:
    case NR_CLONE3:
      if (ret < 0 && regs->cs != USER32_CS)
        fork_failed(ret, nr == NR_CLONE ? CALL_CLONE : nr == NR_CLONE3 ? CALL_CLONE3 : nr == NR_FORK ? CALL_FORK : CALL_VFORK);
      return 0;
    default:
      return 0;
  }
}
