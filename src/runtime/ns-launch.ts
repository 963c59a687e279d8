/**
 * The command line that starts one namespace run (./namespace.ts), as pure functions: util-linux
 * `unshare` and a POSIX shell script, nothing else installed.
 *
 * What a run sees is a container's view built from the host's own files:
 *  1. `unshare --mount --propagation private` gives the set-up script a mount namespace whose
 *     mounts never reach the host;
 *  2. the script mounts a tmpfs on an empty staging directory and makes it the new root: each
 *     top-level directory of the host bind-mounted (recursively) onto its own name, symbolic
 *     links copied, a fresh tmpfs at `/tmp` (a run's scratch files are its own, as in a
 *     container), an empty `/proc`; then the image's stand-ins and the spec's mounts onto their
 *     container paths (`/app`, `/results`), created in the tmpfs, so that nothing is ever created
 *     in the host's `/`;
 *  3. `unshare --pid --fork --net --mount-proc --kill-child --root=<new root>` starts PID 1 of a
 *     fresh PID namespace, with a `/proc` of its own and a network namespace with only a loopback
 *     that is down (`--network none`);
 *  4. PID 1 is first a `/bin/sh` that moves itself into the run's pids cgroup (`echo 0 >
 *     cgroup.procs`), waits for one line on its stdin (the harness reads the namespace before the
 *     workload starts), and `exec`s the workload's argv, whose every fork is charged to the
 *     cgroup. The waiting `unshare` parent stays in the harness's cgroup, so the limit counts
 *     the workload's tasks only, as an engine's does.
 */
import type { Mount } from './container.js';

/** A file the set-up script writes into the new root (the stand-in of a file an image would hold). */
export interface RootFile {
  /** Absolute path inside the run. */
  path: string;
  /** Its content (a regular file), or … */
  content?: string;
  /** … the target of a symbolic link. */
  linkTo?: string;
  /** Mode of a regular file (default 0o644). */
  mode?: number;
}

/**
 * What stands in for an image in the namespace runtime: host directories mounted where the image
 * would have them, a few files, the image's environment and working directory.
 */
export interface HostImage {
  /** A name for lines and records (e.g. `host files (dist/ of /work/reapbench)`). */
  name: string;
  /** Mounted before the spec's own mounts. */
  mounts: Mount[];
  /** Written after the mounts. */
  files: RootFile[];
  /** The image's `ENV` (the spec's env wins). */
  env: Record<string, string>;
  /** The image's `WORKDIR` (default `/`). */
  workdir?: string;
}

/** How each mount's target comes to exist in the new root. */
export type MountTarget = 'create-dir' | 'create-file' | 'existing';

/** One line saying why a mount cannot be made, or null when it can. */
export type MountProblem = string | null;

/**
 * Decide how the target of `m` comes to exist: created in the new root's tmpfs when its first
 * component is not a host top-level directory (`/app`, `/results`) or is `/tmp` (a tmpfs of the
 * run's); otherwise it must already exist on the host (the bind then covers it), since creating
 * it would create it in the host's file tree.
 * @param hostTopLevel names of the host's top-level entries (`readdirSync('/')`).
 * @param exists whether a host path exists.
 * @param isDir whether host path `m.host` is a directory.
 * @returns the way, or a problem line.
 */
export function mountTarget(
  m: Mount,
  hostTopLevel: readonly string[],
  exists: (p: string) => boolean,
  isDir: boolean,
): { way: MountTarget } | { problem: string } {
  const first = m.container.split('/').filter(Boolean)[0] ?? '';
  if (first === '' || first === 'proc') return { problem: `cannot mount ${m.host} on ${m.container} in a namespace run` };
  if (first === 'tmp' || !hostTopLevel.includes(first)) return { way: isDir ? 'create-dir' : 'create-file' };
  if (exists(m.container)) return { way: 'existing' };
  return {
    problem: `cannot mount ${m.host} on ${m.container}: ${m.container} does not exist on this host, and a namespace run never creates directories in the host's file tree; mount it under a new top-level path (e.g. /mnt-${first}) instead`,
  };
}

/** `s` as one single-quoted shell word. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Everything {@link launchArgv} needs. */
export interface LaunchPlan {
  /** The empty host directory the new root's tmpfs is mounted on (only inside the mount namespace). */
  stage: string;
  /** The run's `cgroup.procs` file (host path; the same inside, where `/sys` is the host's). */
  procsFile: string;
  /** Mounts in order, each with its way ({@link mountTarget}). */
  mounts: Array<Mount & { way: MountTarget }>;
  /** Files to write into the new root after the mounts. */
  files: RootFile[];
  /** Working directory inside the run. */
  workdir: string;
  /** CPU list to pin every process of the run to (taskset), or undefined: none. */
  cpus?: string;
  /** The workload's argv (entrypoint and cmd). */
  argv: string[];
  /** The `unshare` binary (default: found in PATH). */
  unshare?: string;
}

/** The set-up script of step 2 of the module comment (run by `/bin/sh -e`). */
export function setupScript(plan: LaunchPlan): string {
  const r = '"$r"';
  const lines = [
    `r=${shQuote(plan.stage)}`,
    `mount -t tmpfs -o mode=755 reapbench-ns ${r}`,
    'for p in /*; do',
    '  n=${p#/}',
    '  case "$n" in proc|tmp) continue ;; esac',
    `  if [ -L "$p" ]; then ln -s "$(readlink "$p")" ${r}/"$n"`,
    `  elif [ -d "$p" ]; then mkdir ${r}/"$n" && mount --rbind "$p" ${r}/"$n"`,
    '  fi',
    'done',
    `mkdir ${r}/proc ${r}/tmp`,
    `mount -t tmpfs -o mode=1777 reapbench-tmp ${r}/tmp`,
  ];
  for (const m of plan.mounts) {
    const target = `${r}${shQuote(m.container)}`;
    if (m.way === 'create-dir') lines.push(`mkdir -p ${target}`);
    if (m.way === 'create-file') lines.push(`mkdir -p "$(dirname ${target})" && : > ${target}`);
    lines.push(`mount --bind ${shQuote(m.host)} ${target}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${target}`);
  }
  for (const f of plan.files) {
    const target = `${r}${shQuote(f.path)}`;
    lines.push(`mkdir -p "$(dirname ${target})"`);
    if (f.linkTo !== undefined) lines.push(`ln -sf ${shQuote(f.linkTo)} ${target}`);
    else lines.push(`printf '%s' ${shQuote(f.content ?? '')} > ${target}`, `chmod ${(f.mode ?? 0o644).toString(8)} ${target}`);
  }
  const unshare = [
    shQuote(plan.unshare ?? 'unshare'),
    '--pid',
    '--fork',
    '--net',
    '--mount-proc',
    '--kill-child',
    `--root=${r}`,
    `--wd=${shQuote(plan.workdir)}`,
  ];
  lines.push(
    `exec ${plan.cpus ? `taskset -c ${shQuote(plan.cpus)} ` : ''}${unshare.join(' ')} -- /bin/sh -c ${shQuote(PID1_GATE)} sh "$@"`,
  );
  return lines.join('\n');
}

/**
 * PID 1's first moments (step 4 of the module comment): into the cgroup (`$1`), wait for the
 * harness's go line, then become the workload with stdin on /dev/null (a container's).
 */
export const PID1_GATE = 'echo 0 > "$1" || exit 125; read -r _ || exit 125; shift; exec "$@" </dev/null';

/**
 * The argv that starts one namespace run (see the module comment); spawn it with stdin a pipe
 * (the go line) and the environment of the run.
 */
export function launchArgv(plan: LaunchPlan): string[] {
  return [
    plan.unshare ?? 'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-ec',
    setupScript(plan),
    'reapbench-ns',
    plan.procsFile,
    ...plan.argv,
  ];
}
