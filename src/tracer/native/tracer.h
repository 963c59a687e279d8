/*
 * The record the BPF programs (tracer.bpf.c) hand to the loader (tracer.c) through the BPF ring
 * buffer. Shared by both sides, so its layout is fixed here once; it never leaves the machine
 * (the loader prints text), so it can change with the two programs.
 */
#ifndef REAPBENCH_TRACER_H
#define REAPBENCH_TRACER_H

/* How many PID-namespace levels an event carries: the deepest ones (the task's own level and
 * up to three ancestors). A Docker container is level 1, a container in a container level 2. */
#define TRACER_LEVELS 4

enum tracer_event_type {
  EV_EXIT = 1,     /* SIGCHLD generated for an exiting process: it is a zombie from now on */
  EV_REAP = 2,     /* wait4/waitid returned a child that had exited: the zombie is gone */
  EV_FORK = 3,     /* a new process (thread group) was created */
  EV_FREE = 4,     /* a group leader's task_struct was freed (RCU-late; only to see autoreaps) */
  EV_FORKFAIL = 5, /* clone/clone3/fork/vfork returned an error */
};

/* One PID-namespace level of a task: the namespace's inode (as /proc/<pid>/ns/pid shows it)
 * and the task's pid in that namespace. */
struct tracer_upid {
  unsigned int ns;
  int nr;
};

struct tracer_event {
  unsigned long long ts; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC, ns */
  unsigned int type;     /* enum tracer_event_type */
  /* The subject's deepest PID-namespace level, and how many entries of `ids` are filled:
   * ids[0] is level `level - nids + 1`, ids[nids - 1] is `level`. */
  unsigned int level;
  unsigned int nids;
  int pid;  /* host tgid of the subject: exiting, reaping, new, freed or failing process */
  int ppid; /* EXIT: host tgid of the parent signalled; FORK: host tgid of the parent;
             * REAP: the pid wait returned (in the reaper's namespace); FORKFAIL: host tid */
  int a;    /* EXIT: si_code (CLD_*); REAP: reaper's pid in its own namespace; FORKFAIL: errno */
  int b;    /* EXIT: si_status; REAP: reaper's PID-namespace inode; FORKFAIL: syscall (below) */
  int c;    /* REAP: 0 wait4, 1 waitid */
  char comm[16];  /* the subject's comm */
  char pcomm[16]; /* EXIT: the parent's comm */
  struct tracer_upid ids[TRACER_LEVELS];
};

/* FORKFAIL's `b`: which system call failed. */
enum tracer_fork_call { CALL_CLONE = 0, CALL_CLONE3 = 1, CALL_FORK = 2, CALL_VFORK = 3 };

#endif
