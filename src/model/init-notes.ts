import type { InitName } from './inits.js';

/**
 * One sentence per init saying what it is and how it reaps (for the report's per-init notes),
 * from each program's manual or source, and where a row's semantics differ from the inits'
 * (exit status not propagated, a helper process in the budget), that too.
 */
export const INIT_DESCRIPTIONS: Readonly<Record<InitName, string>> = {
  none: 'No init (`none:node` is the same row): the workload is PID 1 (`orphanage solo`, which waits only for its own intermediates, under the kernel instrument; the Node load generator, whose libuv reaps only children it spawned, under the pidfd watcher), so adopted orphans stay zombies and use up the pids budget.',
  'none:python':
    "No init, a Python app as PID 1 (Debian's python3): `subprocess.call(argv)` runs the workload as its child and waits for that pid only (CPython `Lib/subprocess.py` `_wait`: `waitpid(self.pid, 0)`), so adopted orphans stay zombies; SIGTERM has no handler (the kernel drops it for PID 1).",
  'none:bash':
    'No init, a bash entrypoint as PID 1 that runs the workload without `exec` (`bash -c \'"$@"; exit $?\'`): while it waits for its foreground job, bash reaps with `waitpid(-1)` (bash `jobs.c` `waitchld`), so adopted orphans are reaped as a side effect; SIGTERM has no handler (dropped for PID 1).',
  'none:sh':
    'No init, a POSIX shell entrypoint as PID 1 (busybox ash in the offline image, dash in the registry one) that runs the workload without `exec` (`sh -c \'"$@"; exit $?\'`): its wait for the foreground job is `waitpid(-1)` (busybox `shell/ash.c`, dash `src/jobs.c` `dowait`), so adopted orphans are reaped as a side effect; SIGTERM has no handler (dropped for PID 1).',
  tini: 'tini as PID 1: waits for signals with sigtimedwait, then reaps with waitpid(-1, WNOHANG) until none is left.',
  'dumb-init': 'dumb-init as PID 1: sigwait, reaps on SIGCHLD; runs its child in a new session.',
  'docker-init': "The engine's own init (`HostConfig.Init`, docker-init, a static tini).",
  catatonit: 'catatonit as PID 1: signalfd, reaps on SIGCHLD.',
  'ts-reaper': "reapbench's TypeScript reaper as PID 1 (Node with waitpid through koffi).",
  supervisord:
    "supervisord (Debian's supervisor, Python) as PID 1 with the workload as its one program (`autorestart=false`, `startsecs=0`): it reaps any child, once per turn of its main loop (supervisor `supervisord.py` `reap`: `waitpid(-1, WNOHANG)`, up to 100 per turn; the loop wakes on its pipes' I/O or after 1 s); it does not exit when the program does, so an event listener (one more Python process in the pids budget) sends it SIGTERM on the program's exit; the container's exit status is supervisord's own (0 after SIGTERM), not the workload's.",
  's6-svscan':
    "s6-svscan (Debian's s6) as PID 1 with the workload as its one service (plus one s6-supervise in the pids budget): it reaps any child (its manual: it `runs scans or reaps` as its loop goes); the service's `finish` marks it down and tells s6-svscan to exit (`s6-svscanctl -t`), whose `.s6-svscan/finish` exits with the workload's status (128 + signal when killed).",
  runit:
    "runsvdir (Debian's runit) as PID 1 with the workload as its one service (plus one runsv in the pids budget): it reaps adopted orphans, but late: on its own timer, not on SIGCHLD (measured here: p50 0.77 s, so at 250 orphans/s the pids table fills between turns); the service's `finish` marks it down and sends runsvdir SIGHUP, which stops runsv and exits 111: the container's exit status is 111, not the workload's; on SIGTERM runsvdir exits 0 at once without stopping its services (both seen here).",
};
