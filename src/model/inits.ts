/**
 * The PID 1 choices reapbench compares, in the canonical order of every table, chart and
 * option list.
 */

/**
 * Every PID 1 choice the benchmark knows, in canonical order:
 *  - `none`: no init, the workload itself is PID 1 (also accepted as `none:node`: under the
 *    pidfd watcher that workload is the Node load generator);
 *  - `none:python`, `none:bash`, `none:sh`: an app in that language is PID 1 and runs the
 *    workload as its child, the way an entrypoint or a launcher does (`runtime/init-launch.ts`);
 *  - the inits: `tini`, `dumb-init`, `docker-init`, `catatonit`, `ts-reaper`;
 *  - supervisors as PID 1 with the workload as their one service: `supervisord`, `s6-svscan`,
 *    `runit` (runsvdir).
 */
export const INITS = [
  'none',
  'none:python',
  'none:bash',
  'none:sh',
  'tini',
  'dumb-init',
  'docker-init',
  'catatonit',
  'ts-reaper',
  'supervisord',
  's6-svscan',
  'runit',
] as const;
/** One PID 1 choice. */
export type InitName = (typeof INITS)[number];

/**
 * The six choices a run compares unless told otherwise (the presets, `--inits all`, the scenario
 * table): no init and the five inits. The other rows are opt-in ({@link INIT_GROUPS}).
 */
export const DEFAULT_INITS: readonly InitName[] = ['none', 'tini', 'dumb-init', 'docker-init', 'catatonit', 'ts-reaper'];

/** The apps as PID 1 (no init): the workload itself, then a Python, bash and POSIX shell parent. */
export const APP_PID1_INITS: readonly InitName[] = ['none', 'none:python', 'none:bash', 'none:sh'];

/** Supervisors as PID 1. */
export const SUPERVISOR_INITS: readonly InitName[] = ['supervisord', 's6-svscan', 'runit'];

/**
 * Names `--inits` accepts for a group of choices: `all` (the six {@link DEFAULT_INITS}, as
 * before the other rows existed), `all-pid1` (every choice), `none:*` ({@link APP_PID1_INITS})
 * and `supervisors` ({@link SUPERVISOR_INITS}).
 */
export const INIT_GROUPS: Readonly<Record<string, readonly InitName[]>> = {
  all: DEFAULT_INITS,
  'all-pid1': INITS,
  'none:*': APP_PID1_INITS,
  supervisors: SUPERVISOR_INITS,
};

/** Other spellings of a choice: `none:node` is `none` (results and baselines keep the short name). */
export const INIT_ALIASES: Readonly<Record<string, InitName>> = { 'none:node': 'none' };

/**
 * The program each PID 1 choice needs on a host that runs it without an image (the namespace
 * runtime), with the Debian/Ubuntu package that installs it. `none` needs only node (the
 * harness's own), `ts-reaper` comes from the build, and `docker-init` is an engine's own init:
 * none of the three is listed.
 */
export const INIT_HOST_PROGRAMS: Readonly<Partial<Record<InitName, { program: string; pkg: string }>>> = {
  'none:python': { program: 'python3', pkg: 'python3-minimal' },
  'none:bash': { program: 'bash', pkg: 'bash' },
  'none:sh': { program: 'sh', pkg: 'dash' },
  tini: { program: 'tini', pkg: 'tini' },
  'dumb-init': { program: 'dumb-init', pkg: 'dumb-init' },
  catatonit: { program: 'catatonit', pkg: 'catatonit' },
  supervisord: { program: 'supervisord', pkg: 'supervisor' },
  's6-svscan': { program: 's6-svscan', pkg: 's6' },
  runit: { program: 'runsvdir', pkg: 'runit' },
};
