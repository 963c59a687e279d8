import type { InitName } from './inits.js';

/** One sentence per init saying what it is and how it reaps (for the report's per-init notes). */
export const INIT_DESCRIPTIONS: Readonly<Record<InitName, string>> = {
  none: 'No init: the workload is PID 1 (`orphanage solo`, which waits only for its own intermediates, under the kernel instrument; the Node load generator, whose libuv reaps only children it spawned, under the pidfd watcher), so adopted orphans stay zombies and use up the pids budget.',
  tini: 'tini as PID 1: waits for signals with sigtimedwait, then reaps with waitpid(-1, WNOHANG) until none is left.',
  'dumb-init': 'dumb-init as PID 1: sigwait, reaps on SIGCHLD; runs its child in a new session.',
  'docker-init': "The engine's own init (`HostConfig.Init`, docker-init, a static tini).",
  catatonit: 'catatonit as PID 1: signalfd, reaps on SIGCHLD.',
  'ts-reaper': "reapbench's TypeScript reaper as PID 1 (Node with waitpid through koffi).",
};
