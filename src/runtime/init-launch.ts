/**
 * How each PID 1 choice is put in front of a workload inside the reapbench image.
 *
 * Every choice runs the same image and the same workload argv; only PID 1 differs:
 *  - `none`: the workload is PID 1 itself (orphans are re-parented to it and, since libuv only
 *    reaps the children it spawned, stay zombies — libuv `src/unix/process.c`).
 *  - `docker-init`: `HostConfig.Init` (`docker run --init`); the engine injects its own
 *    `docker-init` (tini) as PID 1.
 *  - `tini`, `dumb-init`, `catatonit`, `ts-reaper`: the binary in the image, exec'd as PID 1.
 */
import type { InitName } from '../model/inits.js';

/** How to start one init: argv prefix and whether the engine's init is used. */
export interface InitLaunch {
  /** argv placed before the workload's argv. */
  prefix: string[];
  /** `HostConfig.Init`. */
  engineInit: boolean;
}

/**
 * argv prefix that makes `init` PID 1 in front of a workload (see module doc).
 * @param flags extra init flags (variants), inserted right after the binary.
 */
export function launchFor(init: InitName, flags: string[] = []): InitLaunch {
  switch (init) {
    case 'none':
      return { prefix: [], engineInit: false };
    case 'docker-init':
      return { prefix: [], engineInit: true };
    case 'tini':
      return { prefix: ['tini', ...flags, '--'], engineInit: false };
    case 'dumb-init':
      return { prefix: ['dumb-init', ...flags], engineInit: false };
    case 'catatonit':
      return { prefix: ['catatonit', ...flags, '--'], engineInit: false };
    case 'ts-reaper':
      return { prefix: ['ts-reaper', ...flags, '--'], engineInit: false };
  }
}
