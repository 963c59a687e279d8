/**
 * {@link ContainerRuntime} without an engine: each run is a fresh PID namespace (its own
 * `/proc`), mount namespace and network namespace, in a pids cgroup that reapbench creates and
 * removes (./ns-cgroup.ts), started with util-linux `unshare` (./ns-launch.ts). Everything the
 * benchmark measures exists there as in a container: PID 1 semantics, re-parenting of orphans to
 * the namespace's init, the pids cgroup's limit and its EAGAIN. Needs root (namespaces, mounts,
 * cgroups), and nothing installed but Node and util-linux.
 *
 * There is no image: the programs come from the host (Debian's `tini`, `dumb-init`,
 * `catatonit`, `python3`, …) and reapbench's own from the build, through a {@link HostImage}
 * that mounts them where the image has them (`/app`). `spec.image` is not read. What differs
 * from an engine, by design:
 *  - `cpusetCpus` pins with the scheduler's affinity (`taskset`), not a cpuset cgroup: the
 *    workload could widen it again (reapbench's never does);
 *  - no `init: true` (an engine's own init), no `memoryBytes`, no `pidMode`: asked for, they are
 *    a one-line error;
 *  - image operations fail with a line saying that they need a container engine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import { ReapbenchError, usageError } from '../errors.js';
import { O_CLOEXEC, pipe2 } from '../ffi/fd.js';
import { INIT_HOST_PROGRAMS, type InitName } from '../model/inits.js';
import { checkRunId, RUN_ID, type CleanResult, type DeadRunSweep } from './cleanup.js';
import { NO_PIDS, notRun, validateSpec, type ContainerRun, type ContainerSpec } from './container.js';
import type { EngineInfo } from './engine.js';
import { CGROUP_ROOT, PidsSampler, type PidsFigures } from './host-cgroup.js';
import { launchArgv, mountTarget, type HostImage, type LaunchPlan } from './ns-launch.js';
import {
  cgroupPids,
  ensureOwnerDir,
  killCgroup,
  nsCgroupLayout,
  NS_CGROUP_TOP,
  ownerAlive,
  ownerDirName,
  parseOwnerDir,
  removeCgroup,
  removeEmptyTop,
  sweepNsCgroups,
  type NsCgroupLayout,
} from './ns-cgroup.js';
import type { ContainerRuntime, ExecRequest, ExecResult, ImageDetails } from './runtime.js';

export type { HostImage } from './ns-launch.js';

/** PATH inside a namespace run: the image's `/app/bin` first, then the host's usual directories. */
export const NS_PATH = '/app/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** How long the set-up may take until PID 1 is in its cgroup, ms (mounts, exec of unshare). */
const SETUP_TIMEOUT_MS = 15_000;

/** How much of an exec's output is kept, bytes. */
const EXEC_OUTPUT_BYTES = 4096;

/** Prefix of the staging directories (mount points of the runs' roots) in the host's tmpdir. */
const STAGE_PREFIX = 'reapbench-ns.';

/** A run in progress: its cgroup, PID 1 and the process that started it. */
interface LiveRun {
  dir: string;
  pid1: number | null;
  child: ChildProcess;
}

/** Why the namespace runtime cannot run here, or null when it can (root, util-linux, a pids cgroup). */
export function namespaceUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'it needs root (namespaces, mounts and cgroups)';
  const layout = nsCgroupLayout();
  if ('unusable' in layout) return layout.unusable;
  if (!onPath('unshare')) return 'util-linux unshare is not installed (apt-get install util-linux)';
  return null;
}

/** Whether `program` is an executable file in one of the host's PATH directories of a run. */
function onPath(program: string): boolean {
  return NS_PATH.split(':')
    .slice(1)
    .some((d) => {
      try {
        return statSync(path.join(d, program)).isFile();
      } catch {
        return false;
      }
    });
}

/** Text of at most `cap` bytes of a stream. */
function capture(stream: NodeJS.ReadableStream | null, cap: number): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (b: Buffer) => {
    if (size >= cap) return;
    const take = b.subarray(0, cap - size);
    chunks.push(take);
    size += take.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

/**
 * A pipe for a run's stdout or stderr, both ends close-on-exec (the child gets the write end
 * as its fd 1 or 2 by dup2, which clears the flag there).
 * @returns [read end, write end].
 * @throws ReapbenchError when the pipe cannot be made (out of file descriptors).
 */
function realPipe(): [number, number] {
  const p = pipe2(O_CLOEXEC);
  if (p.ret < 0)
    throw new ReapbenchError(`cannot make a pipe for a namespace run's output (errno ${p.errno}): raise the open-files limit (ulimit -n)`);
  return p.fds;
}

/** The pid of `pids` that is PID 1 of its namespace (the last NSpid field is 1), or null. */
function namespaceInit(pids: number[]): number | null {
  for (const pid of pids) {
    try {
      const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m && m[1]!.trim().split(/\s+/).pop() === '1') return pid;
    } catch {
      // gone
    }
  }
  return null;
}

/** The namespace runtime; see the module comment. */
export class NamespaceRuntime implements ContainerRuntime {
  readonly label: string;
  private readonly live = new Map<string, LiveRun>();
  private seq = 0;
  private stageUsers = 0;

  /**
   * @param image what stands in for the image (see {@link HostImage}); null: nothing under
   *   `/app` (runs of host programs only).
   * @param layout the host's pids cgroups (default: read from /sys/fs/cgroup).
   * @throws ReapbenchError when this host has no usable pids cgroup hierarchy.
   */
  constructor(
    readonly image: HostImage | null = null,
    private readonly layout: NsCgroupLayout = usableLayout(),
  ) {
    this.label = `namespace runtime (unshare; pids cgroups under ${layout.pidsRoot}/${NS_CGROUP_TOP})`;
  }

  async info(): Promise<EngineInfo> {
    const v = await execa('unshare', ['--version'], { reject: false });
    return {
      name: 'namespace',
      serverVersion: (/util-linux\S*\s+([\w.]+)/.exec(v.stdout)?.[1] ?? 'unknown').trim(),
      apiVersion: null,
      cgroupVersion: this.layout.version,
      cgroupDriver: 'reapbench',
      storageDriver: 'none (host files)',
      kernelVersion: os.release(),
      cpus: os.availableParallelism(),
      initBinary: null,
      engineInit: 'none: the namespace runtime has no engine init, so the docker-init row does not apply',
      engineInitComm: null,
    };
  }

  async imageId(): Promise<string | null> {
    return null;
  }

  async inspectImage(): Promise<ImageDetails | null> {
    return null;
  }

  pullImage(ref: string): Promise<void> {
    return Promise.reject(needsEngine(`pull ${ref}`));
  }

  buildImage(_context: NodeJS.ReadableStream, image: { tag: string }): Promise<void> {
    return Promise.reject(needsEngine(`build ${image.tag}`));
  }

  importImage(_rootfs: NodeJS.ReadableStream, image: { tag: string }): Promise<void> {
    return Promise.reject(needsEngine(`import ${image.tag}`));
  }

  /** `docker-init` is a container engine's own init: with no engine it has no meaning here. */
  initNotApplicable(init: InitName): string | null {
    return init === 'docker-init' ? "it is the engine's own init (docker run --init), and the namespace runtime has no engine" : null;
  }

  /**
   * Why `init` cannot be PID 1 of a run here, as the one line of its row, or null when it can:
   * `docker-init` is an engine's own init; the others need their program on the host.
   */
  initUnavailable(init: InitName): string | null {
    const na = this.initNotApplicable(init);
    if (na !== null) return `does not apply: ${na}`;
    const need = INIT_HOST_PROGRAMS[init];
    if (need && !onPath(need.program)) return `not installed: apt-get install ${need.pkg}`;
    return null;
  }

  /**
   * Run `spec` in a fresh set of namespaces and its own pids cgroup, to its end (see
   * {@link ContainerRuntime.run}); the cgroup is removed, and every process of the run gone,
   * before this returns.
   * @throws ReapbenchError for bad specs (exit code 2), for what this runtime does not do
   *   (`init`, `memoryBytes`, `pidMode`), for a mount it cannot make, and when the set-up fails
   *   (its one line).
   */
  async run(spec: ContainerSpec): Promise<ContainerRun> {
    validateSpec(spec);
    if (spec.init) throw usageError(this.initUnavailable('docker-init')!);
    if (spec.memoryBytes !== undefined)
      throw usageError('the namespace runtime sets no memory limit: use a container engine (--engine docker)');
    if (spec.pidMode !== undefined) throw usageError('the namespace runtime cannot join another run (pidMode): use a container engine');
    if (spec.signal?.aborted) return { ...NOT_STARTED, aborted: true };
    const plan = this.plan(spec);
    this.seq += 1;
    const id = `ns-${RUN_ID}-${this.seq}`;
    const dir = `${ensureOwnerDir(this.layout)}/${id}`;
    mkdirSync(dir);
    const stage = this.acquireStage();
    try {
      writeFileSync(`${dir}/pids.max`, spec.pidsLimit === undefined ? 'max' : String(spec.pidsLimit));
      return await this.start(spec, id, dir, { ...plan, stage, procsFile: `${dir}/cgroup.procs` });
    } finally {
      this.live.delete(id);
      const left = await removeCgroup(dir);
      if (left) spec.onNotice?.(`reapbench: could not remove ${left}`);
      this.releaseStage();
      removeEmpty(path.dirname(dir));
      removeEmptyTop(this.layout);
    }
  }

  /** The launch plan of `spec`, without its stage and cgroup. @throws ReapbenchError for a mount it cannot make. */
  private plan(spec: ContainerSpec): Omit<LaunchPlan, 'stage' | 'procsFile'> {
    const top = readdirSync('/');
    const mounts = [...(this.image?.mounts ?? []), ...(spec.mounts ?? [])].map((m) => {
      let isDir = true;
      try {
        isDir = statSync(m.host).isDirectory();
      } catch {
        throw usageError(`cannot mount ${m.host} on ${m.container}: ${m.host} does not exist`);
      }
      const t = mountTarget(m, top, existsSync, isDir);
      if ('problem' in t) throw usageError(t.problem);
      return { ...m, way: t.way };
    });
    return {
      mounts,
      files: this.image?.files ?? [],
      workdir: this.image?.workdir ?? '/',
      argv: [...(spec.entrypoint ?? []), ...spec.cmd],
      ...(spec.cpusetCpus !== undefined ? { cpus: spec.cpusetCpus } : {}),
    };
  }

  /** Start the run of `plan` and follow it to its end (the body of {@link run}). */
  private async start(spec: ContainerSpec, id: string, dir: string, plan: LaunchPlan): Promise<ContainerRun> {
    const env = { PATH: NS_PATH, HOME: '/root', HOSTNAME: id.slice(0, 12), ...(this.image?.env ?? {}), ...(spec.env ?? {}) };
    const sampler = spec.pidsSampleMs === 0 ? null : new PidsSampler(id, spec.pidsSampleMs ?? 50, null, CGROUP_ROOT, 2, dir);
    // Its own session: a Ctrl-C at the terminal reaches the harness, which decides (as for containers).
    // stdout and stderr are pipes, as an engine gives a container: Node's 'pipe' is a socket
    // pair, and a program that opens /dev/stdout (supervisord's `stdout_logfile=/dev/stdout`)
    // gets ENXIO from a socket (open of /proc/self/fd/N on a socket, fs/proc/fd.c).
    const [outR, outW] = realPipe();
    const [errR, errW] = realPipe();
    let child: ChildProcess;
    try {
      child = spawn(launchArgv(plan)[0]!, launchArgv(plan).slice(1), { env, stdio: ['pipe', outW, errW], detached: true });
    } finally {
      closeSync(outW);
      closeSync(errW);
    }
    const run: LiveRun = { dir, pid1: null, child };
    this.live.set(id, run);
    const cap = spec.maxOutputBytes ?? 4 << 20;
    const outStream = new Socket({ fd: outR, readable: true, writable: false });
    const errStream = new Socket({ fd: errR, readable: true, writable: false });
    const stdout = capture(outStream, cap);
    const stderr = capture(errStream, cap);
    child.stdin?.on('error', () => undefined);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('error', (err) => {
        setupError ??= err.message;
        resolve({ code: null, signal: null });
      });
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    // The output is all in once both pipes are at their end (every holder of a write end gone).
    const atEnd = (sock: Socket): Promise<void> => new Promise<void>((resolve) => sock.on('close', () => resolve()));
    const closed = Promise.all([atEnd(outStream), atEnd(errStream)]).then(() => undefined);
    let setupError: string | null = null;
    let timedOut = false;
    let aborted = false;
    let stopRequestedAt: number | null = null;
    const timers: NodeJS.Timeout[] = [];
    let killed = false;
    const kill = (): void => {
      killed = true;
      // Before PID 1 is in the cgroup, the set-up processes; after, only the cgroup's: the
      // waiting `unshare` then reaps PID 1 and exits with its status (killed first, it would
      // leave PID 1 a zombie for the host's init to reap).
      if (run.pid1 === null) killGroup(child);
      void killCgroup(dir);
    };
    const onAbort = (): void => {
      aborted = true;
      kill();
    };
    spec.signal?.addEventListener('abort', onAbort, { once: true });
    const t0 = performance.now();
    timers.push(
      setTimeout(() => {
        timedOut = true;
        kill();
      }, spec.timeoutMs),
    );
    try {
      sampler?.start();
      // PID 1 has moved itself into the cgroup and waits for the go line.
      let ended = false;
      void exited.then(() => (ended = true));
      const deadline = performance.now() + SETUP_TIMEOUT_MS;
      while (run.pid1 === null && !ended && !aborted && !timedOut && performance.now() < deadline) {
        run.pid1 = namespaceInit(cgroupPids(dir));
        if (run.pid1 === null) await delay(2);
      }
      if (run.pid1 === null && !ended && !aborted && !timedOut) {
        kill();
        await exited;
        throw new ReapbenchError(`namespace run ${id}: PID 1 did not start within ${SETUP_TIMEOUT_MS / 1000} s: ${lastLine(stderr())}`);
      }
      if (run.pid1 !== null) {
        child.stdin?.end('\n');
        await sampler?.sample();
        const pid1 = run.pid1;
        await spec.onStarted?.(id, {
          readPids: async () => {
            await sampler?.sample();
            return sampler?.snapshot() ?? NO_PIDS;
          },
          hostPid: async () => (existsSync(`/proc/${pid1}`) && !ended ? pid1 : null),
        });
        if (spec.stopAfterMs !== undefined) {
          timers.push(
            setTimeout(() => {
              stopRequestedAt = performance.now();
              // As `docker stop`: SIGTERM to PID 1 (a namespace's init gets it only if it handles it), then SIGKILL.
              try {
                process.kill(pid1, 'SIGTERM');
              } catch {
                // gone
              }
              timers.push(setTimeout(kill, (spec.stopGraceS ?? 10) * 1000));
            }, spec.stopAfterMs),
          );
        }
      }
      const end = await exited;
      const tExit = performance.now();
      await Promise.race([closed, delay(2_000, undefined, { ref: false })]);
      if (run.pid1 === null && !aborted && !timedOut)
        throw new ReapbenchError(`namespace run ${id}: the set-up failed: ${setupError ?? lastLine(stderr())}`);
      const pids = sampler ? exactFigures(await sampler.finish()) : NO_PIDS;
      const status = pid1Status(end, stderr(), killed);
      return {
        id,
        exitCode: status.exitCode,
        timedOut,
        aborted,
        stdout: stdout(),
        stderr: status.stderr,
        durationMs: tExit - t0,
        stopLatencyMs: stopRequestedAt === null ? null : tExit - stopRequestedAt,
        pids,
      };
    } finally {
      for (const t of timers) clearTimeout(t);
      spec.signal?.removeEventListener('abort', onAbort);
      sampler?.stop();
      if (child.exitCode === null && child.signalCode === null) kill();
    }
  }

  /**
   * Run a command in run `id`'s namespaces and cgroup (`nsenter`), as the Engine API's exec does.
   * @throws ReapbenchError when no run `id` of this process is live.
   */
  async exec(id: string, req: ExecRequest): Promise<ExecResult> {
    const run = this.live.get(id);
    if (!run || run.pid1 === null) throw new ReapbenchError(`exec in ${id}: no such namespace run is live`);
    const argv = [
      '--target',
      String(run.pid1),
      '--pid',
      '--mount',
      '--net',
      '--root',
      '--wd',
      '--',
      '/bin/sh',
      '-c',
      'echo 0 > "$1" || exit 125; shift; exec "$@"',
      'sh',
      `${run.dir}/cgroup.procs`,
      ...req.argv,
    ];
    const env: Record<string, string> = { PATH: NS_PATH, HOME: '/root', ...(this.image?.env ?? {}) };
    for (const kv of req.env ?? []) {
      const at = kv.indexOf('=');
      if (at > 0) env[kv.slice(0, at)] = kv.slice(at + 1);
    }
    const child = spawn('nsenter', argv, {
      env,
      stdio: ['ignore', req.detach ? 'ignore' : 'pipe', req.detach ? 'ignore' : 'pipe'],
      detached: true,
    });
    if (req.detach) {
      child.on('error', () => undefined);
      child.unref();
      return { timedOut: false, exitCode: null, output: '' };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (b: Buffer): void => {
      if (size < EXEC_OUTPUT_BYTES) chunks.push(b);
      size += b.length;
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const text = (): string => Buffer.concat(chunks).toString('utf8').slice(0, EXEC_OUTPUT_BYTES);
    const done = new Promise<number | null>((resolve) => {
      child.on('error', () => resolve(null));
      child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : null)));
    });
    const timeoutS = req.timeoutS ?? null;
    const how = await Promise.race([
      done.then((c) => ({ code: c })),
      ...(timeoutS === null ? [] : [delay(timeoutS * 1000, 'timeout' as const, { ref: false })]),
    ]);
    if (how === 'timeout') {
      // As an engine's exec: the process goes on (it dies with the run); stop listening.
      child.stdout?.destroy();
      child.stderr?.destroy();
      child.unref();
      return { timedOut: true, exitCode: null, output: text() };
    }
    return { timedOut: false, exitCode: how.code, output: text() };
  }

  async removeRun(): Promise<string[]> {
    const failures: string[] = [];
    await Promise.all(
      [...this.live.values()].map(async (r) => {
        if (r.pid1 === null) killGroup(r.child);
        const left = await removeCgroup(r.dir);
        if (left) failures.push(left);
        removeEmpty(path.dirname(r.dir));
      }),
    );
    removeEmptyTop(this.layout);
    return failures;
  }

  removeRunNow(): number {
    let left = 0;
    for (const r of this.live.values()) {
      for (const pid of cgroupPids(r.dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      try {
        rmdirSync(r.dir);
      } catch {
        // EBUSY until the kernel has released the killed tasks
        left += 1;
      }
    }
    return left;
  }

  async sweepDeadRuns(): Promise<DeadRunSweep> {
    const s = await sweepNsCgroups(this.layout);
    sweepStages();
    return { removed: s.killed, cgroups: s.cgroups, runs: s.runs };
  }

  async clean(opts: { runId: string | null; force: boolean }): Promise<CleanResult> {
    if (opts.runId !== null) checkRunId(opts.runId);
    const s = await sweepNsCgroups(this.layout, { onlyRunId: opts.runId, force: opts.force });
    sweepStages();
    return { removed: s.killed, kept: s.kept, cgroups: s.cgroups };
  }

  /** This process's staging directory, made on first use. */
  private acquireStage(): string {
    const dir = path.join(os.tmpdir(), `${STAGE_PREFIX}${ownerDirName()}`);
    if (this.stageUsers === 0) mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.stageUsers += 1;
    return dir;
  }

  /** Remove the staging directory once no run uses it (rmdir: it is only a mount point, empty on the host). */
  private releaseStage(): void {
    this.stageUsers -= 1;
    if (this.stageUsers > 0) return;
    try {
      rmdirSync(path.join(os.tmpdir(), `${STAGE_PREFIX}${ownerDirName()}`));
    } catch {
      // already gone
    }
  }
}

/**
 * util-linux 2.38's `unshare --fork` does not pass on the death of its child by a signal: it
 * means to re-raise the signal on itself, fails, and exits 1 with `unshare: sigprocmask unblock
 * failed` (or `child kill failed`). So that line, as the last of stderr with exit 1, means PID 1
 * was killed by a signal: by reapbench's SIGKILL when it killed the run (137, as an engine
 * reports it), else by a signal that is not known (null).
 * @returns PID 1's exit status (128 + signal when known to be killed) and stderr without that line.
 */
export function pid1Status(
  end: { code: number | null; signal: NodeJS.Signals | null },
  stderr: string,
  killedByUs: boolean,
): { exitCode: number | null; stderr: string } {
  const m = /(^|\n)unshare: (sigprocmask unblock failed|child kill failed)[^\n]*\n?$/.exec(stderr);
  if (end.code === 1 && m) return { exitCode: killedByUs ? 137 : null, stderr: stderr.slice(0, m.index + m[1]!.length) };
  if (end.code !== null) return { exitCode: end.code, stderr };
  return { exitCode: end.signal ? 128 + (os.constants.signals[end.signal] ?? 0) : null, stderr };
}

/** SIGKILL the process group of a run's set-up (its own session: `detached`), if it still exists. */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(-child.pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** rmdir `dir` when it is empty (this process's owner cgroup once its last run is gone); anything else is left. */
function removeEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // another run of this process still uses it, or it is gone
  }
}

/**
 * rmdir the staging directories of processes that are gone. Never a recursive removal: the
 * directory is a mount point of a run's root, empty on the host.
 */
function sweepStages(): void {
  let names: string[] = [];
  try {
    names = readdirSync(os.tmpdir()).filter((n) => n.startsWith(STAGE_PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const owner = parseOwnerDir(n.slice(STAGE_PREFIX.length));
    if (!owner || ownerAlive(owner)) continue;
    try {
      rmdirSync(path.join(os.tmpdir(), n));
    } catch {
      // not empty (not ours after all) or gone
    }
  }
}

/**
 * The figures of a run's own cgroup, read before reapbench removed it: its `pids.peak` and its
 * `pids.events` `max` are the run's exact figures (the limit is on this very cgroup, and it
 * outlives the run's last task), so they are reported as an owned cgroup's.
 */
function exactFigures(f: PidsFigures): PidsFigures {
  if (f.samples === 0 || f.peak === null) return f;
  return { ...f, method: 'owned-parent', note: null };
}

/** The layout, or the error that this host has no usable pids hierarchy. */
function usableLayout(): NsCgroupLayout {
  const l = nsCgroupLayout();
  if ('unusable' in l) throw new ReapbenchError(`the namespace runtime cannot run here: ${l.unusable}`);
  return l;
}

/** The error of an image operation. */
function needsEngine(what: string): ReapbenchError {
  return new ReapbenchError(
    `${what}: images need a container engine, and the namespace runtime has none: run with --engine docker or --engine podman (bash scripts/engine.sh starts Docker)`,
  );
}

/** The last non-empty line of `text`, at most 300 characters. */
function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? 'no output').trim().slice(0, 300);
}

/** A run that never started. */
const NOT_STARTED = notRun('no namespace run was started');
