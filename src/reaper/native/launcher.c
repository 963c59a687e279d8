/*
 * ts-reaper's launcher: dist/bin/ts-reaper, the package's `ts-reaper` command.
 *
 *   ts-reaper [options] [--] command [args...]
 *   → node <dir of this file>/../ts-reaper.cjs [options] [--] command [args...]
 *
 * Why it exists: ts-reaper's command must inherit the signal dispositions and the signal mask
 * ts-reaper itself was executed with (ignored signals stay ignored: `nohup`, `trap '' HUP`),
 * as tini's child does. Node destroys both before any JavaScript runs (`PlatformInit` in Node's
 * src/node.cc resets signals 1-31 to the default action, ignores SIGPIPE and SIGXFSZ and
 * replaces the mask), so they are read here, before node is executed, and passed in
 *
 *   TS_REAPER_INHERITED_SIGNALS=<pid>:<ignored>:<blocked>
 *
 * the pid in decimal (exec keeps it: ts-reaper uses the value only when the pid is its own) and
 * two sets of 16 hex digits, bit n-1 for signal n, the layout of SigIgn/SigBlk in
 * /proc/<pid>/status. Read with the raw system calls: glibc's sigaction refuses signals 32 and
 * 33, its own. src/reaper/inherit.ts is the other side.
 *
 * Nothing else changes on the way: no signal, no mask, no descriptor, no working directory, no
 * other environment variable (a shell in between would export PWD, which is why this is not a
 * shell script). `node` is found in PATH, as `#!/usr/bin/env node` found it. Static (like
 * dist/orphanage), so it runs wherever the bundle does.
 *
 * Exit status when node cannot be executed: 127 (not found) or 126, as a shell's; otherwise
 * whatever ts-reaper exits with.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's sigset for rt_sigaction/rt_sigprocmask: 64 signals, one unsigned long. */
#define KERNEL_SIGSET_BYTES 8
#define SIGNALS 64

/* The bundle, relative to the directory of this program (dist/bin → dist). */
#define BUNDLE "/../ts-reaper.cjs"

static void fail(const char *what, int err) {
  fprintf(stderr, "ts-reaper: %s: %s\n", what, strerror(err));
  exit(err == ENOENT ? 127 : 126);
}

int main(int argc, char **argv) {
  (void)argc;
  unsigned long long ignored = 0, blocked = 0;
  for (int sig = 1; sig <= SIGNALS; sig++) {
    /* Only the handler, the first field of the kernel's struct sigaction on every
     * architecture, is read; the buffer is larger than any layout. */
    void *action[8] = {0};
    if (syscall(SYS_rt_sigaction, sig, NULL, action, KERNEL_SIGSET_BYTES) == 0 && action[0] == (void *)SIG_IGN)
      ignored |= 1ULL << (sig - 1);
  }
  if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &blocked, KERNEL_SIGSET_BYTES) != 0) blocked = 0;

  char value[64];
  snprintf(value, sizeof value, "%ld:%016llx:%016llx", (long)getpid(), ignored, blocked);
  if (setenv("TS_REAPER_INHERITED_SIGNALS", value, 1) != 0) fail("cannot set TS_REAPER_INHERITED_SIGNALS", errno);

  /* The real path of this program (npm links it from node_modules/.bin), then the bundle. */
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
  } else if (strchr(argv[0], '/') == NULL || realpath(argv[0], self) == NULL) {
    fail("cannot find where the launcher is (no /proc/self/exe, and no path in argv[0])", n < 0 ? errno : ENOENT);
  }
  char *slash = strrchr(self, '/');
  if (slash == NULL || (size_t)(slash - self) + sizeof BUNDLE > sizeof self) fail("launcher path too long", ENAMETOOLONG);
  strcpy(slash, BUNDLE);

  char **args = calloc((size_t)argc + 2, sizeof *args);
  if (args == NULL) fail("out of memory", ENOMEM);
  args[0] = "node";
  args[1] = self;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  execvp("node", args);
  fail("cannot run node", errno);
  return 1;
}
