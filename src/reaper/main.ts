/**
 * ts-reaper: an init (PID 1) / subreaper written in TypeScript.
 *
 *   ts-reaper [options] [--] command [args...]
 *
 * Table of contents: take the signal state the launcher read (inherit.ts) → boot the wait
 * thread → parse options → become a subreaper if not PID 1 → listen to signals → once the wait
 * thread has booted, spawn the child outside libuv, in its own process group (given the
 * terminal if ts-reaper holds it), with the inherited signal state → the wait thread reaps from
 * then on → on the child's exit, shut down what is left (if asked) → exit with the child's status.
 */
import { writeSync } from 'node:fs';
import { Errno } from '../ffi/errno.js';
import type { CallResult } from '../ffi/libc.js';
import { pidfdOpen } from '../ffi/pidfd.js';
import {
  exitNow,
  getpgid,
  getpid,
  isChildSubreaper,
  kill,
  setChildSubreaper,
  setThreadName,
  tcgetpgrp,
  tcsetpgrp,
} from '../ffi/process.js';
import { blockInThisThread, signalBit, signalsOf } from '../ffi/signal.js';
import { canSpawnInForeground, spawnDetached } from '../ffi/spawn.js';
import { decodeWaitStatus, exitStatusOf } from '../ffi/wait.js';
import { readStat } from '../procfs/stat.js';
import { parseOptions, UsageError, type ReaperOptions } from './options.js';
import { spawnSignals, takeInheritedSignals, withSignalsIgnored, type InheritedSignals } from './inherit.js';
import { installForwarding, signalName, signalNumber } from './signals.js';
import { bootWaitThread } from './reap-loop.js';
import { shutdownDescendants } from './shutdown.js';
import { formatMessage, type LogFormat, type LogLevel } from './log.js';

/** Format of every line below once the options are parsed (`--log-format`); usage errors are text. */
let logFormat: LogFormat = 'text';

/** Write one already formatted line (newline included) on stderr, synchronously (so that `_exit` cannot lose it). */
function raw(line: string): void {
  try {
    writeSync(2, line);
  } catch {
    // stderr closed: nothing else to do.
  }
}

/**
 * Write one message line on stderr in the chosen format. `level` defaults to `warning` for a
 * line that starts so, `error` otherwise; the verbose log passes `info`.
 */
function say(line: string, level: LogLevel = line.startsWith('warning: ') ? 'warning' : 'error'): void {
  raw(formatMessage(logFormat, level, line));
}

/** Exit status for a failed spawn, with the shell's conventions (127 not found, 126 not executable). */
function spawnFailure(command: string, errno: number): number {
  const reason = new Map<number, [string, number]>([
    [Errno.ENOENT, ['not found', 127]],
    [Errno.EACCES, ['permission denied', 126]],
    [Errno.ENOEXEC, ['not an executable format', 126]],
    [Errno.ENOTDIR, ['a path component is not a directory', 127]],
    [Errno.EISDIR, ['is a directory', 126]],
    [Errno.EAGAIN, ['out of processes (EAGAIN)', 1]],
    [Errno.ENOMEM, ['out of memory (ENOMEM)', 1]],
  ]);
  const [text, code] = reason.get(errno) ?? [`errno ${errno}`, 1];
  say(`cannot run '${command}': ${text}`);
  return code;
}

/** Register as a child subreaper when not PID 1, as the options say; returns false on fatal error. */
function setUpSubreaper(opts: ReaperOptions, pid1: boolean): boolean {
  if (pid1) return true;
  if (opts.subreaper === 'off') {
    say(`warning: not PID 1 and not a subreaper (--no-subreaper or TS_REAPER_SUBREAPER=0): orphans will not come to ts-reaper`);
    return true;
  }
  const r = setChildSubreaper(true);
  if (r.ret === 0) return true;
  if (opts.subreaper === 'require') {
    say(`cannot register as a child subreaper (errno ${r.errno}); Linux ≥ 3.4 is required`);
    return false;
  }
  say(`warning: not PID 1 and cannot register as a child subreaper (errno ${r.errno}): orphans will not be reaped by ts-reaper`);
  return true;
}

/**
 * Whether stdin is a terminal whose foreground process group is ts-reaper's: then the child's
 * own group must get the terminal (as tini gives it), or a child reading it would be stopped by
 * SIGTTIN, and the terminal's signals (Ctrl-C, Ctrl-\, Ctrl-Z) would reach ts-reaper instead
 * of the command. tcgetpgrp fails with ENOTTY when stdin is not a terminal.
 *
 * Both calls give 0 for a group outside ts-reaper's PID namespace (the kernel's `pid_vnr`):
 * that is the case of a PID 1 whose creator kept it in its own group, as `unshare --fork` on a
 * terminal does. ts-reaper then cannot tell and takes the terminal to be its own (tini takes
 * the terminal whenever stdin is one).
 */
function holdsTerminal(): boolean {
  const fg = tcgetpgrp(0);
  const own = getpgid(0);
  return fg.ret >= 0 && own.ret >= 0 && fg.ret === own.ret;
}

/** "HUP, INT" for a set of signals, "none" when empty. */
function signalList(set: bigint): string {
  const names = signalsOf(set).map((n) => signalName(n).replace(/^SIG/, ''));
  return names.length > 0 ? names.join(', ') : 'none';
}

/** The verbose line that says what the command inherits, and where ts-reaper learnt it. */
function describeInherited(inh: InheritedSignals): string {
  const where =
    inh.source === 'launcher'
      ? 'as the launcher read them'
      : 'started by node directly: signals 1-31 and 33 taken as not ignored, mask as empty';
  return `command inherits ignored signals: ${signalList(inh.ignored)}; blocked: ${signalList(inh.blocked)} (${where})`;
}

/** errno values of a child's failed `tcsetpgrp` (tcsetpgrp(3)). */
const TERMINAL_ERRNOS = new Set<number>([Errno.ENOTTY, Errno.EPERM, Errno.EIO, Errno.EINVAL, Errno.EBADF]);

/** The exit status ts-reaper reports for the main child's raw wait status. */
function finalExitCode(status: number, remap: ReadonlySet<number>): number {
  const code = exitStatusOf(decodeWaitStatus(status));
  const clamped = code < 0 ? 1 : code & 0xff;
  return remap.has(clamped) ? 0 : clamped;
}

/**
 * Shrink libuv's thread pool to one thread, unless the user set its size: ts-reaper makes no
 * call that uses the pool (no async fs, dns or crypto), so the pool, which libuv starts at its
 * first use with UV_THREADPOOL_SIZE threads (libuv `src/threadpool.c`), never starts; should a
 * later change use it, it costs one thread, not four. Every thread is a task charged to the pids
 * cgroup (`pids.current` counts threads: kernel `kernel/cgroup/pids.c` charges every clone,
 * threads included). Returns the environment as it was, for the child.
 */
function smallThreadPool(): string[] {
  const env = Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
  if (process.env.UV_THREADPOOL_SIZE === undefined) process.env.UV_THREADPOOL_SIZE = '1';
  return env;
}

async function main(): Promise<number> {
  // First: the launcher's record of the inherited signal state leaves the environment before
  // anything copies it (the command's environment, the wait thread's).
  const inherited = takeInheritedSignals();
  // ts-reaper's own writes (-v, warnings) must neither stop it nor reach the command. A
  // background write to a terminal under `stty tostop` sends SIGTTOU to the writer's group and
  // is restarted after the handler, endlessly, or fails with EIO in an orphaned group, unless
  // the writing thread blocks or ignores SIGTTOU (`__tty_check_change`, kernel
  // drivers/tty/tty_jobctrl.c); since the command holds the terminal, ts-reaper writes from
  // the background. A write to a pipe nobody reads raises SIGPIPE in the writing thread
  // (`pipe_write`, fs/pipe.c), which the forwarding would send on to the command. Blocking both
  // in this thread only (the wait thread inherits the mask when it is created) keeps them
  // forwarded when they are sent to ts-reaper: the kernel delivers a signal sent to the
  // process to a thread that does not block it (`complete_signal`, kernel/signal.c).
  blockInThisThread(signalBit(signalNumber('SIGTTOU')) | signalBit(signalNumber('SIGPIPE')));
  // PID 1's comm names it in every report ("held by <comm>"), read from the kernel. Started
  // through a dynamic loader (`reapbench run --image` injects node that way) the comm is the
  // loader's, `ld-linux-x86-64`; started by node (or by its launcher, which runs node) it is
  // `node`. One prctl sets it to what runs. Not `process.title`: libuv would also overwrite the
  // command line.
  setThreadName('ts-reaper');
  // The wait thread boots while the options are read and the signals set up; the child starts
  // once it waits (reap-loop.ts). It inherits this thread's mask, set just above.
  let log: (line: string) => void = () => {};
  const waitThread = bootWaitThread(
    (err) => {
      say(`internal error, cannot reap any more: ${err.message}`);
      exitNow(1);
    },
    (line) => log(line),
  );
  const childEnv = smallThreadPool();
  let opts: ReaperOptions;
  try {
    const parsed = await parseOptions(process.argv.slice(2), process.env);
    if (parsed.kind === 'exit') {
      writeSync(1, parsed.stdout);
      return parsed.code;
    }
    opts = parsed.options;
    logFormat = opts.logFormat;
  } catch (e) {
    if (e instanceof UsageError) {
      say(`${e.message} (see ts-reaper --help)`);
      return 2;
    }
    throw e;
  }

  const pid1 = getpid() === 1;
  if (!setUpSubreaper(opts, pid1)) return 1;
  if (opts.verbose) log = (line: string): void => say(line, 'info');

  const forwarder = installForwarding(opts.rewrite, (received, sent, r, adopted) => {
    if (!opts.verbose) return;
    if (sent === 0) log(`dropped ${signalName(received)}${opts.rewrite.has(received) ? ' (rewrite)' : ' (terminal job control)'}`);
    else
      log(
        `forwarded ${signalName(received)}${sent !== received ? ` as ${signalName(sent)}` : ''}${r && r.ret < 0 ? ` (errno ${r.errno})` : ''}` +
          (adopted
            ? `, and to ${adopted.sent} adopted ${adopted.sent === 1 ? 'process' : 'processes'}${adopted.errors.length > 0 ? ` (failed: errno ${adopted.errors.join(', ')})` : ''}`
            : ''),
      );
  });

  const inheritFds = Array.from({ length: opts.preserveFds }, (_, i) => 3 + i);
  log(describeInherited(inherited));
  // The child always leads its own process group (as tini's does): else a Ctrl-C on the
  // terminal reached it twice, from the terminal and forwarded by ts-reaper, which shares the
  // foreground group. When ts-reaper holds the terminal, the child's group takes it before the
  // child execs; on a glibc without that spawn action, ts-reaper hands it over just after the
  // spawn (racy: a child that reads at once may be stopped by SIGTTIN first, and is then
  // continued).
  const foreground = holdsTerminal();
  let inChild = foreground && canSpawnInForeground();
  const sigs = spawnSignals(inherited);
  await waitThread.booted;
  const spawn = (): CallResult => {
    const { result, failed } = withSignalsIgnored(sigs.ignoreDuringSpawn, () =>
      spawnDetached(opts.command, {
        newProcessGroup: true,
        inheritFds,
        env: childEnv,
        defaultSignals: sigs.defaultSignals,
        signalMask: sigs.signalMask,
        ...(inChild ? { foregroundFd: 0 } : {}),
      }),
    );
    for (const [sig, errno] of failed) say(`warning: cannot pass ${signalName(sig)} on ignored (errno ${errno})`);
    return result;
  };
  let spawned = spawn();
  if (spawned.ret < 0 && inChild && TERMINAL_ERRNOS.has(spawned.errno)) {
    // The child could not take the terminal (and did not run): run it without the terminal.
    say(`warning: cannot give the terminal to the command's process group (errno ${spawned.errno}); it runs in the background group`);
    inChild = false;
    spawned = spawn();
  }
  if (spawned.ret < 0) return spawnFailure(opts.command[0]!, spawned.errno);
  const childPid = spawned.ret;
  if (foreground && !inChild && tcsetpgrp(0, childPid).ret === 0 && readStat(childPid)?.state === 'T')
    kill(-childPid, signalNumber('SIGCONT'));
  if (foreground)
    log(`terminal given to the command's process group ${inChild ? 'in the child, before exec' : 'after the spawn (glibc < 2.35)'}`);
  // The wait thread does not exist yet, so the child cannot have been reaped: the pidfd is its.
  const pidfd = pidfdOpen(childPid);
  forwarder.setTarget({ pid: childPid, pidfd: pidfd.ret, group: opts.pgroup, adoptedBy: opts.signalAdopted ? getpid() : null });
  const now = performance.now();
  const ready = performance.nodeTiming.bootstrapComplete;
  if (opts.verbose) {
    // What ts-reaper is, as the kernel says (the subreaper flag may be off by option or failure).
    const role = pid1 ? 'PID 1' : isChildSubreaper() ? 'subreaper' : 'neither PID 1 nor a subreaper';
    log(
      `started ${opts.command[0]} as pid ${childPid} ${now.toFixed(1)} ms after process start (${(now - ready).toFixed(1)} ms after Node was ready), as ${role}`,
    );
  }

  const loop = waitThread.start(childPid, {
    verbose: opts.verbose,
    logFormat: opts.logFormat,
    nice: opts.waitNice,
    sliceUs: opts.waitSliceUs,
    sliceExplicit: opts.waitSliceExplicit,
  });
  const status = await loop.childExit;
  const code = finalExitCode(status, opts.remapExit);
  log(`main child ${childPid} ended (${describeStatus(status)}), exit status ${code}`);

  if (opts.shutdown !== 'none') {
    const report = await shutdownDescendants({
      mode: opts.shutdown,
      graceMs: opts.graceMs,
      pgid: childPid,
      pid1,
      noChildren: loop.noChildren(),
      log,
    });
    log(
      `shutdown: ${report.complete ? 'done' : 'gave up, processes remain'} in ${report.elapsedMs.toFixed(0)} ms${report.killed ? ' (SIGKILL needed)' : ''}`,
    );
  }
  const reaped = loop.reaped();
  log(`exiting with ${code} after reaping ${reaped} ${reaped === 1 ? 'process' : 'processes'}`);
  return code;
}

function describeStatus(status: number): string {
  const s = decodeWaitStatus(status);
  return s.kind === 'exited' ? `exited ${s.code}` : s.kind === 'signaled' ? `killed by ${signalName(s.signal)}` : s.kind;
}

main().then(
  (code) => exitNow(code),
  (err: unknown) => {
    say(`internal error: ${err instanceof Error ? err.message : String(err)}`);
    exitNow(1);
  },
);
