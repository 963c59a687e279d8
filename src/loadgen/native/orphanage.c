/*
 * orphanage: the load generator's small static helper (no libc beyond static glibc, no Node).
 *
 * Why a separate program: Node's child_process uses fork() of a ~50 MB process (~2 ms per spawn
 * measured here, `npm run bench:micro`), which would cap the orphan rate and measure Node instead of the init under test.
 * This helper is started once and makes orphans on its own schedule.
 *
 * Modes (arguments are positional and validated by the TypeScript side, src/loadgen/helper.ts):
 *
 *   orphanage produce OUTFD CTLFD RATE LIFETIME_US BATCH COUNT DURATION_MS [INFLIGHT]
 *     INFLIGHT (default 1): intermediates allowed to run at once (each is reaped on its SIGCHLD).
 *     Waits for 'g' on CTLFD, writes "S <t_ns>" to OUTFD, then every BATCH/RATE seconds
 *     (RATE = 0: as fast as possible) forks an intermediate that forks BATCH orphans and _exits,
 *     so that the orphans are re-parented to PID 1 or the nearest subreaper
 *     (kernel/exit.c: forget_original_parent → find_new_reaper). Each orphan closes CTLFD and
 *     stderr, sleeps LIFETIME_US, reports "E" and _exits(0). Stops after COUNT orphans attempted (0: unlimited), after
 *     DURATION_MS (0: unlimited), on 's' or EOF on CTLFD. Reports lines on OUTFD, each one
 *     write(2) shorter than PIPE_BUF, hence atomic on a pipe (POSIX) even with many writers:
 *       S <t_ns>                          production started (CLOCK_MONOTONIC, ns)
 *       O <pid> <t_ns>                    an orphan was forked (pid in the helper's pid namespace)
 *       E <pid> <t_ns>                    the orphan, about to _exit (its own clock reading; the
 *                                         kernel makes it a zombie a few µs later)
 *       F <level> <errno> <t_ns>          a fork failed; level i = intermediate, o = orphan
 *       X <status> <t_ns>                 an intermediate ended abnormally (raw wait status)
 *       D <attempted> <failures> <t_ns>   production ended (orphans attempted, intermediate-level
 *                                         fork failures); the helper exits 0 right after
 *
 *   orphanage solo RATE LIFETIME_US BATCH COUNT DURATION_MS INFLIGHT GRACE_MS DRAIN_MS
 *     The same production with no load generator around it, for runs measured from outside the
 *     container (the kernel tracer): it is the container's command (PID 1 with no init, the
 *     init's child otherwise) and the container then holds nothing but the workload. It starts at
 *     once, writes S, F, X and D lines (as above) to stdout, and no line per orphan (neither O
 *     nor E: a long run would flood the container's log); instead each intermediate's exit
 *     status says how many of its forks failed, and before D it writes
 *       N <made> <made_before_first_failure>   orphans forked; of those, before the first failed
 *                                              fork (-1: none failed)
 *     It stops producing GRACE_MS after the first fork failure (like the load generator's
 *     `--after-failure stop`), and after production waits DRAIN_MS so that the last orphans exit
 *     and are reaped while PID 1 still lives. It waits only for its own intermediates, by pid:
 *     as PID 1 it must leave adopted orphans alone, as a Node or Python PID 1 would.
 *
 *   orphanage forkloop DURATION_MS
 *     Plain fork + _exit + waitpid loop for the given time; prints "R <count> <elapsed_ns>".
 *     The reference rate for one process on this machine.
 *
 *   orphanage reap DELAY_US CMD [ARGS...]
 *     Calibration reaper with a known fixed delay: runs CMD as its child (as PID 1 or as a child
 *     subreaper) and reaps every other child exactly DELAY_US after the SIGCHLD that announced
 *     its exit. Adopted orphans are found in /proc/self/task/<tid>/children (zombies stay on
 *     that list until release_task(), kernel/exit.c). CMD's own exit is reaped at once and this
 *     program then exits with CMD's status (128+signal when killed), like tini.
 *     SIGTERM, SIGINT, SIGHUP, SIGQUIT are forwarded to CMD. As a calibration device it asks
 *     for SCHED_FIFO (priority 10, reset on fork so CMD runs as usual) to keep its delay exact on
 *     a busy machine; without the privilege it runs as an ordinary task and says so on stderr.
 *
 * All clocks are CLOCK_MONOTONIC, the clock of Node's process.hrtime.bigint(), so timestamps
 * compare across processes and threads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void ns_to_ts(int64_t ns, struct timespec *ts) {
  if (ns < 0) ns = 0;
  ts->tv_sec = ns / 1000000000LL;
  ts->tv_nsec = ns % 1000000000LL;
}

/* One write(2) per report: atomic on a pipe below PIPE_BUF. EINTR is retried; other errors
 * (EPIPE: the reader is gone) are ignored because there is nobody left to report to. */
static void emit(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    buf += n;
    len -= (size_t)n;
  }
}

static int usage(const char *msg) {
  fprintf(stderr, "orphanage: %s\n", msg);
  return 2;
}

/* ---------------------------------------------------------------- produce */

#define MAX_BATCH 64

/* Runs in the intermediate: fork `batch` orphans, report each one at once (one write per line,
 * so the watcher can open its pidfd while the next fork runs), _exit.
 * Exit status 0 when every fork succeeded, 1 when at least one failed (reported as F o). */
static void intermediate(int outfd, int ctlfd, int batch, int64_t lifetime_ns, int solo) {
  char buf[64];
  int failed = 0;
  struct timespec life;
  ns_to_ts(lifetime_ns, &life);
  for (int j = 0; j < batch; j++) {
    pid_t pid = fork();
    if (pid == 0) {
      /* The orphan: hold no pipe of the caller (the helper sees EOF on CTLFD when the load
       * generator dies), live for its lifetime, report the exit time, exit 0. */
      if (ctlfd >= 0) close(ctlfd);
      close(2); /* stdin/stdout are /dev/null already (produce): hold no pipe of whoever ran us */
      if (lifetime_ns > 0) {
        while (clock_nanosleep(CLOCK_MONOTONIC, 0, &life, &life) == EINTR) {
        }
      }
      /* The exit time by the orphan's own clock: independent of the watcher's scheduling, so it
       * measures the watcher's observation lag on real events. */
      if (!solo) emit(outfd, buf, (size_t)snprintf(buf, sizeof buf, "E %d %lld\n", (int)getpid(), (long long)now_ns()));
      _exit(0);
    }
    int64_t t = now_ns();
    if (pid < 0) {
      emit(outfd, buf, (size_t)snprintf(buf, sizeof buf, "F o %d %lld\n", errno, (long long)t));
      failed++;
    } else if (!solo) {
      emit(outfd, buf, (size_t)snprintf(buf, sizeof buf, "O %d %lld\n", (int)pid, (long long)t));
    }
  }
  /* produce: 1 when a fork failed (its watcher counts the O lines); solo: how many failed, so
   * that solo counts the orphans made without a line per orphan (batch <= 64 fits a status). */
  _exit(solo ? failed : failed > 0);
}

/* Intermediates forked and not yet reaped, and the SIGCHLD signalfd that announces their exit. */
static int inflight;
static int sigfd = -1;
static int report_fd = -1;

/* Reap intermediates: all that have exited (block = 0), or at least one (block = 1). An exit
 * status above 1 is abnormal (1 means an orphan fork failed, reported as F o). */
static void reap_intermediates(int block) {
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, block ? 0 : WNOHANG);
    if (p < 0 && errno == EINTR) continue;
    if (p <= 0) return;
    inflight--;
    if (!WIFEXITED(st) || WEXITSTATUS(st) > 1) {
      char buf[64];
      emit(report_fd, buf, (size_t)snprintf(buf, sizeof buf, "X %d %lld\n", st, (long long)now_ns()));
    }
    block = 0;
  }
}

/* Wait up to `deadline_ns` (absolute) for a command byte on ctlfd, reaping intermediates as
 * their SIGCHLD arrives (a zombie intermediate would hold a pids slot).
 * Returns 's' to stop (also on EOF or error), 'g' for go, 0 on timeout. */
static int wait_ctl(int ctlfd, int64_t deadline_ns, int block_forever) {
  for (;;) {
    struct pollfd p[2] = {{.fd = ctlfd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
    struct timespec ts, *tsp = NULL;
    if (!block_forever) {
      int64_t left = deadline_ns - now_ns();
      ns_to_ts(left, &ts);
      tsp = &ts;
    }
    int r = ppoll(p, sigfd >= 0 ? 2 : 1, tsp, NULL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return 's';
    }
    if (r == 0) return 0;
    if (sigfd >= 0 && (p[1].revents & POLLIN)) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
      }
      reap_intermediates(0);
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (!block_forever && now_ns() >= deadline_ns) return 0;
      continue;
    }
    char c;
    ssize_t n = read(ctlfd, &c, 1);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      return 's'; /* EOF: the load generator is gone */
    }
    if (c == 's' || c == 'g') return c;
  }
}

static int produce(int argc, char **argv) {
  if (argc != 9 && argc != 10) return usage("produce OUTFD CTLFD RATE LIFETIME_US BATCH COUNT DURATION_MS [INFLIGHT]");
  int outfd = atoi(argv[2]);
  int ctlfd = atoi(argv[3]);
  double rate = strtod(argv[4], NULL);
  int64_t lifetime_ns = strtoll(argv[5], NULL, 10) * 1000LL;
  int batch = atoi(argv[6]);
  long long count = strtoll(argv[7], NULL, 10);
  int64_t duration_ns = strtoll(argv[8], NULL, 10) * 1000000LL;
  int max_inflight = argc == 10 ? atoi(argv[9]) : 1;
  if (max_inflight < 1 || outfd < 0 || ctlfd < 0 || rate < 0 || lifetime_ns < 0 || batch < 1 || batch > MAX_BATCH || count < 0 ||
      duration_ns < 0)
    return usage("produce: invalid argument");

  /* Never outlive the load generator (it is our parent). */
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);

  /* Orphans may outlive us: give them (and us) /dev/null as stdin and stdout, so that none keeps
   * the caller's pipes open. stderr stays for our own diagnostics; orphans close it. */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
    close(devnull);
  }

  report_fd = outfd;
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);

  char buf[128];
  int c = wait_ctl(ctlfd, 0, 1);
  if (c != 'g') return 0;

  int64_t t0 = now_ns();
  emit(outfd, buf, (size_t)snprintf(buf, sizeof buf, "S %lld\n", (long long)t0));
  int64_t interval_ns = rate > 0 ? (int64_t)((double)batch * 1e9 / rate) : 0;
  long long made = 0, failures = 0;
  for (long long k = 0;; k++) {
    if (count > 0 && made >= count) break;
    int64_t due = t0 + k * interval_ns;
    /* Duration is wall time: a helper that cannot keep up stops on time, not on schedule. */
    if (duration_ns > 0 && (due - t0 >= duration_ns || now_ns() - t0 >= duration_ns)) break;
    /* Sleep until the batch is due, waking at once for a stop command. */
    c = wait_ctl(ctlfd, due, 0);
    if (c == 's') break;
    int n = batch;
    if (count > 0 && count - made < n) n = (int)(count - made);
    /* Up to INFLIGHT intermediates run at once: the next fork overlaps the previous
     * intermediate's work on the other CPU. Those that have exited are reaped first, so that
     * at a rate they can follow none is a zombie when the next fork is attempted. */
    reap_intermediates(0);
    while (inflight >= max_inflight) reap_intermediates(1);
    pid_t ip = fork();
    if (ip == 0) {
      if (sigfd >= 0) close(sigfd);
      sigprocmask(SIG_UNBLOCK, &chld, NULL);
      intermediate(outfd, ctlfd, n, lifetime_ns, 0);
    }
    if (ip < 0) {
      failures++;
      made += n; /* attempted: --count bounds attempts, so a run that only fails still ends */
      emit(outfd, buf, (size_t)snprintf(buf, sizeof buf, "F i %d %lld\n", errno, (long long)now_ns()));
      continue;
    }
    inflight++;
    made += n; /* attempted; the O and F lines say which succeeded */
    if (max_inflight == 1) reap_intermediates(1); /* strictly one at a time */
  }
  while (inflight > 0) reap_intermediates(1);
  emit(outfd, buf, (size_t)snprintf(buf, sizeof buf, "D %lld %lld %lld\n", made, failures, (long long)now_ns()));
  return 0;
}

/* ---------------------------------------------------------------- solo */

/* Intermediates of `solo`, by pid: as PID 1 it must not wait for anyone else's exit. */
static pid_t solo_pids[MAX_BATCH];
static int solo_batch[MAX_BATCH]; /* orphans each of them was asked to fork */
static int solo_n;
/* Orphans forked (successfully) by reaped intermediates, and how many of them before the first
 * failed fork (-1: none failed yet). */
static long long solo_made;
static long long solo_made_before_failure = -1;
/* When an intermediate was first seen to exit 1 (one of its orphan forks failed), or 0. */
static int64_t solo_orphan_fail_ns;

/* Reap those of our intermediates that have exited; with `block`, wait until one has. */
static void solo_reap(int block) {
  for (;;) {
    int reaped = 0;
    for (int i = 0; i < solo_n;) {
      int st;
      pid_t p = waitpid(solo_pids[i], &st, WNOHANG);
      if (p == solo_pids[i]) {
        int failed = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (failed >= 0 && failed <= solo_batch[i]) {
          solo_made += solo_batch[i] - failed;
          if (failed > 0 && solo_made_before_failure < 0) solo_made_before_failure = solo_made;
          if (failed > 0 && solo_orphan_fail_ns == 0) solo_orphan_fail_ns = now_ns();
        }
        if (failed < 0 || failed > solo_batch[i]) {
          char buf[64];
          emit(1, buf, (size_t)snprintf(buf, sizeof buf, "X %d %lld\n", st, (long long)now_ns()));
        }
        solo_n--;
        solo_pids[i] = solo_pids[solo_n];
        solo_batch[i] = solo_batch[solo_n];
        reaped = 1;
      } else {
        i++;
      }
    }
    if (!block || reaped || solo_n == 0) return;
    /* Sleep until a SIGCHLD (any child's: as PID 1, adopted orphans send one too). */
    struct signalfd_siginfo si;
    struct pollfd p = {.fd = sigfd, .events = POLLIN};
    if (ppoll(&p, 1, NULL, NULL) > 0) {
      while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
      }
    }
  }
}

/* Sleep until `deadline_ns` (absolute), reaping our intermediates as their SIGCHLD arrives. */
static void solo_sleep_until(int64_t deadline_ns) {
  for (;;) {
    int64_t left = deadline_ns - now_ns();
    if (left <= 0) return;
    struct timespec ts;
    ns_to_ts(left, &ts);
    struct pollfd p = {.fd = sigfd, .events = POLLIN};
    if (ppoll(&p, 1, &ts, NULL) > 0) {
      struct signalfd_siginfo si;
      while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
      }
      solo_reap(0);
    }
  }
}

static int solo(int argc, char **argv) {
  if (argc != 10) return usage("solo RATE LIFETIME_US BATCH COUNT DURATION_MS INFLIGHT GRACE_MS DRAIN_MS");
  double rate = strtod(argv[2], NULL);
  int64_t lifetime_ns = strtoll(argv[3], NULL, 10) * 1000LL;
  int batch = atoi(argv[4]);
  long long count = strtoll(argv[5], NULL, 10);
  int64_t duration_ns = strtoll(argv[6], NULL, 10) * 1000000LL;
  int max_inflight = atoi(argv[7]);
  int64_t grace_ns = strtoll(argv[8], NULL, 10) * 1000000LL;
  int64_t drain_ns = strtoll(argv[9], NULL, 10) * 1000000LL;
  if (rate < 0 || lifetime_ns < 0 || batch < 1 || batch > MAX_BATCH || count < 0 || duration_ns < 0 || max_inflight < 1 ||
      max_inflight > MAX_BATCH || grace_ns < 0 || drain_ns < 0)
    return usage("solo: invalid argument");
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigfd < 0) {
    perror("orphanage solo: signalfd");
    return 1;
  }
  char buf[128];
  int64_t t0 = now_ns();
  emit(1, buf, (size_t)snprintf(buf, sizeof buf, "S %lld\n", (long long)t0));
  /* A rate so low that one interval overflows int64 ns (> 292 years) is as good as one batch. */
  double interval = rate > 0 ? (double)batch * 1e9 / rate : 0;
  int64_t interval_ns = interval > 4e18 ? (int64_t)4e18 : (int64_t)interval;
  int64_t stop_at = duration_ns > 0 ? t0 + duration_ns : INT64_MAX;
  long long made = 0, failures = 0;
  for (long long k = 0;; k++) {
    if (count > 0 && made >= count) break;
    if (solo_orphan_fail_ns > 0 && solo_orphan_fail_ns + grace_ns < stop_at) stop_at = solo_orphan_fail_ns + grace_ns;
    int64_t due = t0 + k * interval_ns;
    if (due >= stop_at || now_ns() >= stop_at) break;
    solo_sleep_until(due);
    int n = batch;
    if (count > 0 && count - made < n) n = (int)(count - made);
    solo_reap(0);
    while (solo_n >= max_inflight) solo_reap(1);
    pid_t ip = fork();
    if (ip == 0) {
      close(sigfd);
      sigprocmask(SIG_UNBLOCK, &chld, NULL);
      intermediate(1, -1, n, lifetime_ns, 1);
    }
    made += n; /* attempted; the N line says how many succeeded */
    if (ip < 0) {
      int64_t t = now_ns();
      failures++;
      if (solo_made_before_failure < 0) solo_made_before_failure = solo_made;
      emit(1, buf, (size_t)snprintf(buf, sizeof buf, "F i %d %lld\n", errno, (long long)t));
      if (t + grace_ns < stop_at) stop_at = t + grace_ns;
      continue;
    }
    solo_pids[solo_n] = ip;
    solo_batch[solo_n++] = n;
    if (max_inflight == 1) solo_reap(1);
  }
  while (solo_n > 0) solo_reap(1);
  int64_t t_end = now_ns();
  emit(1, buf, (size_t)snprintf(buf, sizeof buf, "N %lld %lld\n", solo_made, solo_made_before_failure));
  emit(1, buf, (size_t)snprintf(buf, sizeof buf, "D %lld %lld %lld\n", made, failures, (long long)t_end));
  solo_sleep_until(t_end + drain_ns);
  return 0;
}

/* ---------------------------------------------------------------- forkloop */

static int forkloop(int argc, char **argv) {
  if (argc != 3) return usage("forkloop DURATION_MS");
  int64_t dur = strtoll(argv[2], NULL, 10) * 1000000LL;
  int64_t t0 = now_ns(), t = t0;
  long long n = 0;
  while (t - t0 < dur) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p < 0) {
      printf("F %d\n", errno);
      return 1;
    }
    int st;
    while (waitpid(p, &st, 0) < 0 && errno == EINTR) {
    }
    n++;
    t = now_ns();
  }
  printf("R %lld %lld\n", n, (long long)(t - t0));
  return 0;
}

/* ---------------------------------------------------------------- reap */

#define QCAP 65536
static pid_t q_pid[QCAP];
static int64_t q_due[QCAP];
static unsigned q_head, q_tail; /* FIFO: every entry has the same delay, so dues are ordered */

static int queued(pid_t pid) {
  for (unsigned i = q_head; i != q_tail; i = (i + 1) % QCAP)
    if (q_pid[i] == pid) return 1;
  return 0;
}

static int is_zombie(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  return p && p[1] == ' ' && p[2] == 'Z';
}

/* Schedule every zombie child not yet queued for reaping at `t + delay`. */
static void scan_children(int64_t t, int64_t delay_ns, pid_t main_pid) {
  char path[64];
  static char buf[1 << 20];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
  close(fd);
  buf[len] = 0;
  char *s = buf;
  while (*s) {
    char *end;
    long pid = strtol(s, &end, 10);
    if (end == s) break;
    s = end;
    if (pid <= 0 || pid == main_pid || queued((pid_t)pid)) continue;
    if (!is_zombie((pid_t)pid)) continue;
    if ((q_tail + 1) % QCAP == q_head) return; /* full: reaped later, when room frees */
    q_pid[q_tail] = (pid_t)pid;
    q_due[q_tail] = t + delay_ns;
    q_tail = (q_tail + 1) % QCAP;
  }
}

static int reap(int argc, char **argv) {
  if (argc < 4) return usage("reap DELAY_US CMD [ARGS...]");
  int64_t delay_ns = strtoll(argv[2], NULL, 10) * 1000LL;
  if (delay_ns < 0) return usage("reap: DELAY_US must be >= 0");
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    perror("orphanage reap: prctl(PR_SET_CHILD_SUBREAPER)");
    return 1;
  }
  struct sched_param sp = {.sched_priority = 10};
  if (sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &sp) != 0)
    fprintf(stderr, "orphanage reap: SCHED_FIFO refused (%s); the delay may stretch on a busy machine\n", strerror(errno));
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  sigprocmask(SIG_BLOCK, &set, &old);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    perror("orphanage reap: signalfd");
    return 1;
  }
  pid_t main_pid = fork();
  if (main_pid < 0) {
    perror("orphanage reap: fork");
    return 1;
  }
  if (main_pid == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[3], argv + 3);
    fprintf(stderr, "orphanage reap: exec %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }
  for (;;) {
    struct pollfd p = {.fd = sfd, .events = POLLIN};
    struct timespec ts, *tsp = NULL;
    if (q_head != q_tail) {
      ns_to_ts(q_due[q_head] - now_ns(), &ts);
      tsp = &ts;
    }
    int r = ppoll(&p, 1, tsp, NULL);
    int64_t t = now_ns();
    if (r < 0 && errno != EINTR) {
      perror("orphanage reap: ppoll");
      return 1;
    }
    if (r > 0) {
      struct signalfd_siginfo si;
      int chld = 0;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGCHLD)
          chld = 1;
        else
          kill(main_pid, (int)si.ssi_signo);
      }
      if (chld) {
        int st;
        if (waitpid(main_pid, &st, WNOHANG) == main_pid) {
          if (WIFEXITED(st)) return WEXITSTATUS(st);
          return 128 + WTERMSIG(st);
        }
        scan_children(t, delay_ns, main_pid);
      }
    }
    /* Reap everything due. */
    t = now_ns();
    while (q_head != q_tail && q_due[q_head] <= t) {
      int st;
      waitpid(q_pid[q_head], &st, WNOHANG);
      q_head = (q_head + 1) % QCAP;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 2) return usage("usage: orphanage produce|solo|forkloop|reap ...");
  if (strcmp(argv[1], "produce") == 0) return produce(argc, argv);
  if (strcmp(argv[1], "solo") == 0) return solo(argc, argv);
  if (strcmp(argv[1], "forkloop") == 0) return forkloop(argc, argv);
  if (strcmp(argv[1], "reap") == 0) return reap(argc, argv);
  return usage("unknown mode (expected produce, solo, forkloop or reap)");
}
