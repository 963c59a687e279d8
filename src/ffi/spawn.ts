/**
 * Starting a program outside libuv: `posix_spawnp(3)` with its attributes (signal mask and
 * dispositions, process group, session) and file actions (inherited fds, terminal foreground).
 * Constants and sizes from glibc (`posix/spawn.h`, `sysdeps/unix/sysv/linux/bits/types/__sigset_t.h`);
 * glibc implements the spawn with `clone(CLONE_VM|CLONE_VFORK)` (`sysdeps/unix/sysv/linux/spawni.c`).
 */
import { libc, type CallResult } from './libc.js';
import { fcntl, F_GETFD } from './fd.js';
import { ALL_SIGNALS, sigsetBuffer, type SignalSet } from './signal.js';

/** `posix_spawnattr` flag: put the child in the process group of `setpgroup` (glibc `posix/spawn.h`). */
export const POSIX_SPAWN_SETPGROUP = 0x02;
/** `posix_spawnattr` flag: reset the signals of `setsigdefault` to their default action. */
export const POSIX_SPAWN_SETSIGDEF = 0x04;
/** `posix_spawnattr` flag: set the child's signal mask to `setsigmask`. */
export const POSIX_SPAWN_SETSIGMASK = 0x08;
/** `posix_spawnattr` flag: start a new session (glibc ≥ 2.26). */
export const POSIX_SPAWN_SETSID = 0x80;

/** Bytes reserved for glibc's `posix_spawnattr_t` (336 on x86_64 glibc 2.36; rounded up). */
const SPAWNATTR_BYTES = 512;
/** Bytes reserved for glibc's `posix_spawn_file_actions_t` (80 on x86_64; rounded up). */
const FILE_ACTIONS_BYTES = 256;
const c = {
  attrInit: libc.func('posix_spawnattr_init', 'int', ['void *']),
  attrDestroy: libc.func('posix_spawnattr_destroy', 'int', ['void *']),
  attrSetflags: libc.func('posix_spawnattr_setflags', 'int', ['void *', 'short']),
  attrSetpgroup: libc.func('posix_spawnattr_setpgroup', 'int', ['void *', 'int']),
  attrSetsigmask: libc.func('posix_spawnattr_setsigmask', 'int', ['void *', 'void *']),
  attrSetsigdefault: libc.func('posix_spawnattr_setsigdefault', 'int', ['void *', 'void *']),
  faInit: libc.func('posix_spawn_file_actions_init', 'int', ['void *']),
  faAddDup2: libc.func('posix_spawn_file_actions_adddup2', 'int', ['void *', 'int', 'int']),
  faDestroy: libc.func('posix_spawn_file_actions_destroy', 'int', ['void *']),
  posixSpawnp: libc.func('posix_spawnp', 'int', ['_Out_ int *', 'str', 'void *', 'void *', 'str *', 'str *']),
};

/** Options of {@link spawnDetached}. */
export interface SpawnOptions {
  /** Put the child in a new process group whose id is its pid (`POSIX_SPAWN_SETPGROUP`). */
  newProcessGroup?: boolean;
  /** Put the child in a new session (`POSIX_SPAWN_SETSID`, glibc ≥ 2.26). */
  newSession?: boolean;
  /** Environment as `KEY=value` strings; default: the current `process.env`. */
  env?: string[];
  /**
   * Signals the child starts with at their default action (`POSIX_SPAWN_SETSIGDEF`); default:
   * all of 1–64. A signal left out keeps the caller's disposition if that is `SIG_IGN` (exec
   * keeps ignored signals ignored) and gets the default action if the caller catches it (glibc
   * `sysdeps/unix/sysv/linux/spawni.c`), except 32 and 33, which glibc's child then ignores.
   * So a child that must inherit an ignored signal needs it left out here and ignored by the
   * caller during the spawn.
   */
  defaultSignals?: SignalSet;
  /** The child's signal mask (`POSIX_SPAWN_SETSIGMASK`); default: empty. glibc drops 32 and 33. */
  signalMask?: SignalSet;
  /**
   * Further fds (besides 0–2) the child inherits even though they are close-on-exec here. Node
   * marks every fd it inherited, from 0 up to the first closed one after 15, close-on-exec at
   * startup (libuv `uv_disable_stdio_inheritance`), so an init must name the fds it passes on.
   */
  inheritFds?: number[];
  /**
   * With `newProcessGroup`: make the child's new group the foreground process group of the
   * terminal on this fd in the child, before it execs
   * (`posix_spawn_file_actions_addtcsetpgrp_np`, glibc ≥ 2.35), so that a child that reads
   * the terminal at once is not stopped by SIGTTIN. The caller must check that the fd is a
   * terminal whose foreground group is the caller's (else the spawn fails with ENOTTY/EPERM).
   * Throws {@link ForegroundUnsupported} on an older glibc.
   */
  foregroundFd?: number;
}

/** `posix_spawn_file_actions_addtcsetpgrp_np` is missing (glibc < 2.35). */
export class ForegroundUnsupported extends Error {
  override name = 'ForegroundUnsupported';
}

let faAddTcsetpgrp: ((fa: Buffer, fd: number) => number) | null | undefined;

/** Bind `posix_spawn_file_actions_addtcsetpgrp_np` on first use; null when glibc lacks it. */
function addTcsetpgrpAction(): ((fa: Buffer, fd: number) => number) | null {
  if (faAddTcsetpgrp === undefined) {
    try {
      const f = libc.func('posix_spawn_file_actions_addtcsetpgrp_np', 'int', ['void *', 'int']);
      faAddTcsetpgrp = (fa, fd) => f(fa, fd) as number;
    } catch {
      faAddTcsetpgrp = null;
    }
  }
  return faAddTcsetpgrp;
}

/**
 * Whether {@link SpawnOptions.foregroundFd} is available (glibc ≥ 2.35). The first call binds the
 * symbol (later calls are free); never fails.
 */
export function canSpawnInForeground(): boolean {
  return addTcsetpgrpAction() !== null;
}

/**
 * File actions for {@link spawnDetached}: `dup2(fd, fd)` for each of fds 0–2 and `extra` that is
 * open, which makes the child inherit them even though they are close-on-exec in Node (a dup2
 * onto itself clears FD_CLOEXEC in the child, glibc ≥ 2.29, posix_spawn_file_actions_adddup2(3)).
 * The caller destroys the returned actions.
 */
function stdioFileActions(extra: readonly number[]): Buffer {
  const fa = Buffer.alloc(FILE_ACTIONS_BYTES);
  c.faInit(fa);
  for (const fd of [0, 1, 2, ...extra]) {
    if (fcntl(fd, F_GETFD).ret >= 0) c.faAddDup2(fa, fd, fd);
  }
  return fa;
}

/**
 * Start `argv[0]` (searched in `PATH`) with `posix_spawnp(3)`, outside libuv: libuv does not
 * know the child, so it never calls `waitpid` on it and cannot steal its status (libuv
 * `src/unix/process.c` reaps only its own handles). By default the child starts with every
 * signal at its default disposition and an empty signal mask, whatever Node had set (Node
 * ignores SIGPIPE and SIGXFSZ), 32 and 33 included (glibc's `sigfillset` leaves them out, and its
 * child then ignores them); `defaultSignals` and `signalMask` choose otherwise.
 * glibc implements `posix_spawn` with `clone(CLONE_VM|CLONE_VFORK)`, so the cost does not grow
 * with the parent's size. Reap the child with wait.ts `waitpid`.
 * @param argv program and arguments (not empty).
 * @returns ret the child's pid, or −1 with errno set to the spawn error (`ENOENT`, `EACCES`,
 * `EAGAIN`; with `foregroundFd`, also `ENOTTY`, `EPERM`, `EIO` from the child's `tcsetpgrp`).
 * @throws TypeError when `argv` is empty.
 * @throws ForegroundUnsupported when `foregroundFd` is given and glibc lacks the action.
 */
export function spawnDetached(argv: string[], options: SpawnOptions = {}): CallResult {
  if (argv.length === 0) throw new TypeError('spawnDetached: argv must not be empty');
  const attr = Buffer.alloc(SPAWNATTR_BYTES);
  c.attrInit(attr);
  try {
    let flags = POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK;
    if (options.newProcessGroup) flags |= POSIX_SPAWN_SETPGROUP;
    if (options.newSession) flags |= POSIX_SPAWN_SETSID;
    // Both setters copy the set as it is (posix/spawnattr_setdefault.c, spawnattr_setsigmask.c).
    c.attrSetsigdefault(attr, sigsetBuffer(options.defaultSignals ?? ALL_SIGNALS));
    c.attrSetsigmask(attr, sigsetBuffer(options.signalMask ?? 0n));
    if (options.newProcessGroup) c.attrSetpgroup(attr, 0);
    c.attrSetflags(attr, flags);
    const env = options.env ?? Object.entries(process.env).map(([k, v]) => `${k}=${v ?? ''}`);
    const pidOut = [0];
    // Node marks fds 0–2 close-on-exec (measured: fdinfo flags 02100001), so without these
    // dup2(fd, fd) actions (which clear FD_CLOEXEC, glibc ≥ 2.29) the child had no stdio.
    const actions = stdioFileActions(options.inheritFds ?? []);
    let rc: number;
    try {
      if (options.foregroundFd !== undefined) {
        const add = addTcsetpgrpAction();
        if (!add) throw new ForegroundUnsupported('posix_spawn_file_actions_addtcsetpgrp_np needs glibc ≥ 2.35');
        const rcAdd = add(actions, options.foregroundFd);
        if (rcAdd !== 0) return { ret: -1, errno: rcAdd };
      }
      rc = c.posixSpawnp(pidOut, argv[0]!, actions, attr, [...argv, null], [...env, null]) as number;
    } finally {
      c.faDestroy(actions);
    }
    // posix_spawn returns the error number instead of setting errno (posix_spawn(3)).
    if (rc !== 0) return { ret: -1, errno: rc };
    return { ret: pidOut[0]!, errno: 0 };
  } finally {
    c.attrDestroy(attr);
  }
}
