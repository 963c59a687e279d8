/*
 * tracer: reapbench's kernel instrument, the user-space side. Loads and attaches the BPF
 * programs of tracer.bpf.c (through the skeleton bpftool generates from them), then prints one
 * text line per event on stdout until it is told to stop. src/tracer/ starts it, reads the
 * lines and matches them; see src/tracer/protocol.ts for the grammar, repeated here:
 *
 *   ready <t_ns>
 *   exit <t_ns> <pid> <comm> <ppid> <pcomm> <si_code> <si_status> <level> <ns:nr>...
 *   reap <t_ns> <pid> <comm> <ns> <nr> <level> <reaped> <wait4|waitid>
 *   fork <t_ns> <pid> <ppid> <comm> <level> <ns:nr>...
 *   free <t_ns> <pid> <comm>
 *   forkfail <t_ns> <pid> <tid> <comm> <errno> <clone|clone3|fork|vfork> <level> <ns:nr>...
 *   stats events=<n> lost=<n> untracked=<n>
 *
 * Times are CLOCK_MONOTONIC ns (bpf_ktime_get_ns()), pids are host pids unless said otherwise,
 * `ns:nr` lists the deepest PID-namespace levels of the task (namespace inode : pid there),
 * outermost first, the last being `level`. A comm is escaped: bytes <= 0x20, >= 0x7f and `\`
 * as \xHH, so that a line splits on spaces.
 *
 * It stops on SIGTERM, SIGINT or end of file on stdin (its parent is gone; src/tracer/ gives it
 * a pipe it never writes to; once anything is read from stdin, stdin is no longer watched): it detaches the
 * programs, prints what is still in the ring buffer, then the `stats` line, and exits 0.
 * Exit 1: the programs could not be loaded or attached (one line on stderr saying why);
 * 2: bad usage.
 *
 *   tracer [-v]     -v: libbpf's own messages on stderr
 */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tracer.h"
#include "tracer.skel.h"

static volatile sig_atomic_t stopping;
static int verbose;
static unsigned long long printed;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args) {
  (void)level;
  if (!verbose) return 0; /* the one-line diagnosis in unavailable() says what to do */
  return vfprintf(stderr, fmt, args);
}

static void put_comm(const char *comm) {
  char out[16 * 4 + 1];
  size_t k = 0;
  for (size_t i = 0; i < 16 && comm[i]; i++) {
    unsigned char c = (unsigned char)comm[i];
    if (c <= 0x20 || c >= 0x7f || c == '\\')
      k += (size_t)snprintf(out + k, sizeof out - k, "\\x%02x", c);
    else
      out[k++] = (char)c;
  }
  if (k == 0) k += (size_t)snprintf(out, sizeof out, "\\x00"); /* never an empty field */
  out[k] = 0;
  fputs(out, stdout);
}

static void put_ids(const struct tracer_event *e) {
  for (unsigned i = 0; i < e->nids && i < TRACER_LEVELS; i++) printf(" %u:%d", e->ids[i].ns, e->ids[i].nr);
}

static const char *CALLS[] = {"clone", "clone3", "fork", "vfork"};

static int on_event(void *ctx, void *data, size_t size) {
  (void)ctx;
  if (size < sizeof(struct tracer_event)) return 0;
  const struct tracer_event *e = data;
  printed++;
  switch (e->type) {
  case EV_EXIT:
    printf("exit %llu %d ", e->ts, e->pid);
    put_comm(e->comm);
    printf(" %d ", e->ppid);
    put_comm(e->pcomm);
    printf(" %d %d %u", e->a, e->b, e->level);
    put_ids(e);
    break;
  case EV_REAP:
    printf("reap %llu %d ", e->ts, e->pid);
    put_comm(e->comm);
    printf(" %u %d %u %d %s", (unsigned)e->b, e->a, e->level, e->ppid, e->c ? "waitid" : "wait4");
    break;
  case EV_FORK:
    printf("fork %llu %d %d ", e->ts, e->pid, e->ppid);
    put_comm(e->comm);
    printf(" %u", e->level);
    put_ids(e);
    break;
  case EV_FREE:
    printf("free %llu %d ", e->ts, e->pid);
    put_comm(e->comm);
    break;
  case EV_FORKFAIL:
    printf("forkfail %llu %d %d ", e->ts, e->pid, e->ppid);
    put_comm(e->comm);
    printf(" %d %s %u", e->a, e->b >= 0 && e->b < 4 ? CALLS[e->b] : "clone", e->level);
    put_ids(e);
    break;
  default:
    printed--;
    return 0;
  }
  putchar('\n');
  return 0;
}

/* Sum of one per-CPU counter over all possible CPUs. */
static unsigned long long counter(struct tracer_bpf *skel, unsigned int which) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return 0;
  unsigned long long *v = calloc((size_t)ncpu, sizeof *v);
  unsigned long long sum = 0;
  if (v && bpf_map__lookup_elem(skel->maps.counters, &which, sizeof which, v, (size_t)ncpu * sizeof *v, 0) == 0)
    for (int i = 0; i < ncpu; i++) sum += v[i];
  free(v);
  return sum;
}

/* One line on stderr saying why the programs are not running and what to do. */
static int unavailable(const char *step, int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES)
    fprintf(stderr,
            "tracer: unavailable: %s: %s; loading eBPF programs needs root, or CAP_BPF and CAP_PERFMON: "
            "run it as root\n",
            step, strerror(err));
  else if (err == ENOENT)
    fprintf(stderr,
            "tracer: unavailable: %s: %s; a tracepoint or the kernel's BTF is missing: needs Linux >= 5.8 with "
            "/sys/kernel/btf/vmlinux\n",
            step, strerror(err));
  else
    fprintf(stderr, "tracer: unavailable: %s: %s; run with -v for libbpf's messages\n", step, strerror(err));
  return 1;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0)
      verbose = 1;
    else {
      fprintf(stderr, "usage: tracer [-v]\n");
      return 2;
    }
  }
  libbpf_set_print(libbpf_print);
  signal(SIGPIPE, SIG_IGN); /* a gone reader shows as a write error: we stop then */
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: poll() returns EINTR at once */
  sigaction(SIGINT, &sa, NULL);

  struct tracer_bpf *skel = tracer_bpf__open();
  if (!skel) return unavailable("open", errno);
  int err = tracer_bpf__load(skel);
  if (err) return unavailable("load", err);
  err = tracer_bpf__attach(skel);
  if (err) return unavailable("attach", err);
  struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL, NULL);
  if (!rb) return unavailable("ring buffer", errno);

  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  printf("ready %llu\n", (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
  fflush(stdout);

  struct pollfd fds[2] = {{.fd = ring_buffer__epoll_fd(rb), .events = POLLIN}, {.fd = 0, .events = POLLIN}};
  while (!stopping) {
    /* The programs never wake us (tracer.bpf.c submit()): events are read every 50 ms, in
     * batches, at 20 wake-ups a second. */
    int n = poll(fds, 2, 50);
    if (n < 0 && errno != EINTR) break;
    if (ring_buffer__consume(rb) < 0) break;
    if (fflush(stdout) != 0) break; /* the reader is gone */
    if (n > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      char buf[256];
      ssize_t r = read(0, buf, sizeof buf);
      if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) break; /* EOF: the caller is gone */
      /* Data: stdin is not the caller's silent pipe (a terminal, /dev/zero): stop watching it
       * rather than wake for every byte; signals still stop us. */
      if (r > 0) fds[1].fd = -1;
    }
  }

  /* No new events after this; then drain what the programs already wrote. */
  tracer_bpf__detach(skel);
  ring_buffer__consume(rb);
  printf("stats events=%llu lost=%llu untracked=%llu\n", printed, counter(skel, 0), counter(skel, 1));
  fflush(stdout);
  ring_buffer__free(rb);
  tracer_bpf__destroy(skel);
  return 0;
}
