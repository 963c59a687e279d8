/**
 * Run one command in a fresh container, the way every benchmark run does: pids limit, optional
 * `docker --init`, no network, optional CPU pinning and memory limit, a results mount, a hard
 * timeout, and removal of the container whatever happens.
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { asUsage } from '../errors.js';
import { checkNumber, expected, type NumberRule } from '../validate.js';
import { mapEngineError } from './engine.js';
import { OWNER_LABELS, removeContainer, RUN_ID, RUN_LABEL, track, untrack } from './cleanup.js';
import { canOwnParent, OwnedParent, PidsSampler, type HostCgroupLayout, type PidsFigures } from './host-cgroup.js';
import { EngineWatch } from './watchdog.js';
import { EngineLostError } from '../errors.js';

/** A bind mount from the host into the container. */
export interface Mount {
  /** Absolute host path. */
  host: string;
  /** Absolute path inside the container. */
  container: string;
  /** Mount read-only (default false: read-write). */
  readOnly?: boolean;
}

/** What to run and under which limits. */
export interface ContainerSpec {
  /** Image reference (tag or id). */
  image: string;
  /** Command (argv); with `entrypoint` unset the image's entrypoint (none in ours) is used. */
  cmd: string[];
  /** Override the image entrypoint (argv). */
  entrypoint?: string[];
  /** `HostConfig.Init`: the engine's init (`docker-init`, i.e. tini) becomes PID 1. */
  init?: boolean;
  /**
   * `HostConfig.PidsLimit`: the pids cgroup's `pids.max` (tasks, ≥ 1). Unset: no limit, asked
   * for explicitly (-1), since Podman otherwise applies its own default (2048 here) where Docker
   * leaves it unlimited.
   */
  pidsLimit?: number;
  /** `HostConfig.CpusetCpus`, e.g. `"1"` or `"0-1"`. */
  cpusetCpus?: string;
  /** Memory limit, bytes. */
  memoryBytes?: number;
  /** Environment variables. */
  env?: Record<string, string>;
  /** Bind mounts (e.g. the results directory, read-write). */
  mounts?: Mount[];
  /** `HostConfig.PidMode`, e.g. `container:<id>` to join another container's PID namespace. */
  pidMode?: string;
  /** Hard timeout from start to exit, ms (> 0). The container is killed when it is exceeded. */
  timeoutMs: number;
  /**
   * Send `docker stop` (SIGTERM, then SIGKILL after `stopGraceS`) this many ms after `onStarted`
   * returned (right after the start when there is none): a caller that waits there for the
   * workload to be ready times the stop from that moment.
   */
  stopAfterMs?: number;
  /** Grace period of that stop, s (default 10, Docker's default). */
  stopGraceS?: number;
  /** Extra labels; `reapbench.run` is always set. */
  labels?: Record<string, string>;
  /**
   * Called with the container id right after it started and its pids cgroup was read once (e.g.
   * to start a sidecar). `readPids()` takes a reading of the pids cgroup now and returns the
   * figures so far (a container that waits for the caller can so be read at a chosen moment).
   * `hostPid()` is the host's pid of the container's PID 1 (`State.Pid` of the Engine API's
   * inspect), or null once it has exited (the engine then reports 0) or the inspect failed.
   */
  onStarted?: (id: string, live: { readPids(): Promise<PidsFigures>; hostPid(): Promise<number | null> }) => void | Promise<void>;
  /** Host-side pids sampling period, ms (default 50). 0 disables sampling. */
  pidsSampleMs?: number;
  /** Cap on captured stdout and on stderr, bytes each (default 4 MiB); the rest is dropped. */
  maxOutputBytes?: number;
  /** Aborting kills the container (the run then resolves with `aborted: true`). */
  signal?: AbortSignal;
  /**
   * Where a line the user should see goes (`could not remove …`: a container or parent cgroup
   * left behind), without its newline. runtime/ writes to no stream itself: the caller passes
   * its output object's line function. Absent: the line is dropped.
   */
  onNotice?: (line: string) => void;
}

/** Outcome of {@link runContainer}. Times are from the harness's monotonic clock. */
export interface ContainerRun {
  /** Full container id (the container no longer exists when this is returned); empty when none was created (an abort before the start). */
  id: string;
  /** Exit status of PID 1 (128 + signal when killed by one), or null when it was never read. */
  exitCode: number | null;
  /** True when the hard timeout killed the container. */
  timedOut: boolean;
  /** True when `spec.signal` aborted the run. */
  aborted: boolean;
  /** Captured stdout (demultiplexed, UTF-8). */
  stdout: string;
  /** Captured stderr (demultiplexed, UTF-8). */
  stderr: string;
  /** Start request → exit observed, ms. */
  durationMs: number;
  /** When a stop was requested: stop request → exit observed, ms. */
  stopLatencyMs: number | null;
  /** Host-side pids cgroup figures (see {@link PidsFigures}). */
  pids: PidsFigures;
}

/**
 * Check a spec and return a one-line error for the first bad field.
 * @throws ReapbenchError (exit code 2) naming the field, the expectation and the value.
 */
export function validateSpec(spec: ContainerSpec): void {
  asUsage(() => checkSpec(spec));
}

/** {@link validateSpec} in src/validate.ts's terms (throws its UsageError). */
function checkSpec(spec: ContainerSpec): void {
  const optional = (name: string, v: number | undefined, rule: NumberRule): void => {
    if (v !== undefined) checkNumber(`${name}`, v, rule);
  };
  if (!spec.image) throw expected('image', 'an image reference', spec.image);
  if (!Array.isArray(spec.cmd) || spec.cmd.length === 0) throw expected('cmd', 'a non-empty argv array', JSON.stringify(spec.cmd));
  optional('pidsLimit', spec.pidsLimit, { integer: true, minExclusive: 0 });
  optional('memoryBytes', spec.memoryBytes, { integer: true, minExclusive: 0 });
  checkNumber('timeoutMs', spec.timeoutMs, { minExclusive: 0 });
  optional('stopAfterMs', spec.stopAfterMs, { min: 0 });
  optional('stopGraceS', spec.stopGraceS, { integer: true, min: 0 });
  if (spec.cpusetCpus !== undefined && !/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(spec.cpusetCpus))
    throw expected('cpusetCpus', 'a CPU list like "1" or "0-1"', spec.cpusetCpus);
  for (const m of spec.mounts ?? []) {
    if (!m.host.startsWith('/') || !m.container.startsWith('/')) throw expected('mounts', 'absolute paths', `${m.host}:${m.container}`);
  }
}

/**
 * Build the Engine API create options from a spec (pure; exported for tests).
 * @param cgroupParent `HostConfig.CgroupParent` (a parent cgroup reapbench owns), if any.
 */
export function createOptions(spec: ContainerSpec, cgroupParent?: string): Docker.ContainerCreateOptions {
  return {
    Image: spec.image,
    Cmd: spec.cmd,
    ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
    Env: Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`),
    Labels: { ...(spec.labels ?? {}), ...OWNER_LABELS, [RUN_LABEL]: RUN_ID },
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      NetworkMode: 'none',
      Init: spec.init ?? false,
      // -1 is "unlimited" to both engines (Engine API ContainerCreate; Podman's compatible API).
      PidsLimit: spec.pidsLimit ?? -1,
      ...(spec.cpusetCpus !== undefined ? { CpusetCpus: spec.cpusetCpus } : {}),
      ...(spec.memoryBytes !== undefined ? { Memory: spec.memoryBytes } : {}),
      ...(spec.pidMode !== undefined ? { PidMode: spec.pidMode } : {}),
      ...(cgroupParent !== undefined ? { CgroupParent: cgroupParent } : {}),
      Binds: (spec.mounts ?? []).map((m) => `${m.host}:${m.container}${m.readOnly ? ':ro' : ''}`),
      AutoRemove: false,
    },
  };
}

class Capture extends PassThrough {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly cap: number) {
    super();
    this.on('data', (b: Buffer) => {
      if (this.size >= this.cap) return;
      const take = b.subarray(0, this.cap - this.size);
      this.chunks.push(take);
      this.size += take.length;
    });
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const layouts = new WeakMap<Docker, Promise<HostCgroupLayout | null>>();

/**
 * The engine's cgroup layout (version, driver), asked once per client; null when the engine does
 * not say (its containers are then read by the sampling method only).
 */
function cgroupLayout(docker: Docker): Promise<HostCgroupLayout | null> {
  let p = layouts.get(docker);
  if (!p) {
    p = docker
      .info()
      .then((info: { CgroupVersion?: string; CgroupDriver?: string }) => ({
        version: String(info.CgroupVersion ?? '1') === '2' ? (2 as const) : (1 as const),
        driver: String(info.CgroupDriver ?? 'unknown'),
      }))
      .catch(() => null);
    layouts.set(docker, p);
  }
  return p;
}

/**
 * Run `spec.cmd` in a new container and wait for it to exit, the timeout, or an abort.
 * The container (and the parent cgroup reapbench gave it) is removed in every case, also when
 * this function throws. An abort is honoured in every step and ends the run with `aborted:
 * true`: before anything was created (nothing is created), while the container is created,
 * attached or started (a container not yet started is never started), and while it runs (it is
 * killed).
 * The engine is watched all along ({@link EngineWatch}): if it goes away, the run ends within
 * seconds with an EngineLostError instead of waiting on a request that may never end.
 * @throws ReapbenchError for bad specs (exit code 2) and engine errors (image missing, daemon
 *   unreachable, API errors); EngineLostError when the engine went away during the run; neither
 *   a timeout (`timedOut: true`) nor an abort is an error.
 */
export async function runContainer(docker: Docker, spec: ContainerSpec): Promise<ContainerRun> {
  validateSpec(spec);
  if (spec.signal?.aborted) return { ...NOT_RUN, aborted: true };
  const what = [spec.labels?.['reapbench.init'], spec.labels?.['reapbench.scenario']].filter(Boolean).join(' ');
  let phase = `the creation of a container${what ? ` (${what})` : ''}`;
  const watch = new EngineWatch(docker, () => phase);
  // An interrupted run must end within seconds. At the abort the engine is pinged once: one that
  // does not answer within HUNG_PING_MS is hung, and every request the run still waits on gives
  // way at once (`guard`), as do the grace periods below (the exit report, the output's flush,
  // the removal); what it holds is left for the next run's sweep.
  let responsive: Promise<boolean> | null = null;
  let markHung!: (err: HungEngine) => void;
  const hungEngine = new Promise<never>((_, reject) => (markHung = reject));
  hungEngine.catch(() => undefined);
  const checkEngine = (): void => {
    responsive ??= watch.answers(HUNG_PING_MS);
    void responsive.then((ok) => ok || markHung(new HungEngine()));
  };
  spec.signal?.addEventListener('abort', checkEngine, { once: true });
  /** `p`, or the engine's loss, or (after an abort) its hang, whichever comes first. */
  const guard = <T>(p: Promise<T>): Promise<T> => Promise.race([watch.guard(p), hungEngine]);
  /** After an abort: whether the engine failed to answer its ping (false without an abort). */
  const hung = async (): Promise<boolean> => (responsive ? !(await responsive) : false);
  const layout = spec.pidsSampleMs === 0 ? null : await guard(cgroupLayout(docker)).catch(rethrowLost(watch));
  const parent = layout && canOwnParent(layout) ? new OwnedParent(RUN_ID, layout) : null;
  let container: Docker.Container;
  try {
    container = await guard(docker.createContainer(createOptions(spec, parent?.cgroupParent)));
  } catch (err) {
    watch.stop();
    spec.signal?.removeEventListener('abort', checkEngine);
    await parent?.remove(0);
    // Created or not, nothing ran; a container the engine makes once it resumes carries this
    // run's labels, and the next run's sweep removes it.
    if (err instanceof HungEngine) return { ...NOT_RUN, aborted: true };
    throw err instanceof EngineLostError ? err : mapEngineError(err, `create container from ${spec.image}`);
  }
  track(container, parent);
  const stdout = new Capture(spec.maxOutputBytes ?? 4 << 20);
  const stderr = new Capture(spec.maxOutputBytes ?? 4 << 20);
  const sampler = spec.pidsSampleMs === 0 ? null : new PidsSampler(container.id, spec.pidsSampleMs ?? 50, parent);
  const timers: NodeJS.Timeout[] = [];
  let timedOut = false;
  let aborted = false;
  let started = false;
  let stopRequestedAt: number | null = null;
  const kill = (): void => {
    void container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
  };
  // Listening from creation on: an abort while the engine creates, attaches or starts must not
  // wait for the run timeout. Before the start the container is simply not started.
  const onAbort = (): void => {
    aborted = true;
    checkEngine();
    if (started) kill();
  };
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  // Aborted while the container was being created: the listener came too late to hear it.
  if (spec.signal?.aborted) onAbort();
  // An abort before the start ends the run here: nothing ran, so there is nothing to read.
  const notStarted = async (): Promise<ContainerRun> => ({
    id: container.id,
    exitCode: null,
    timedOut: false,
    aborted: true,
    stdout: '',
    stderr: '',
    durationMs: 0,
    stopLatencyMs: null,
    pids: (await sampler?.finish()) ?? NO_PIDS,
  });
  // After an abort the engine has this long to report the exit of the killed container: a
  // hung engine must not hold an interrupted run (one that does not answer the abort's ping gets
  // no grace at all: `guard`; the removal below has its own deadline).
  // Its listener goes with the run (below): the signal is the whole matrix's, and one listener
  // left per run grew past Node's warning threshold (MaxListenersExceededWarning) mid-run.
  const arm = (): void => void setTimeout(() => resolveGrace('abandoned'), ABORT_GRACE_MS).unref();
  let resolveGrace!: (v: 'abandoned') => void;
  const abortGrace = new Promise<'abandoned'>((resolve) => {
    resolveGrace = resolve;
    if (spec.signal?.aborted) arm();
    else spec.signal?.addEventListener('abort', arm, { once: true });
  });
  try {
    if (spec.signal?.aborted) return await notStarted();
    phase = `the start of a container${what ? ` (${what})` : ''}`;
    const stream = await guard(container.attach({ stream: true, stdout: true, stderr: true })).catch(notIfHung);
    if (stream === null) return await notStarted();
    docker.modem.demuxStream(stream, stdout, stderr);
    const streamEnded = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    // 'next-exit': a wait issued before start would otherwise return at once for a created container.
    const waited = container.wait({ condition: 'next-exit' });
    // Swallowed here, awaited below: an abort before the start leaves this wait pending.
    waited.catch(() => undefined);
    if (aborted) return await notStarted();
    // Reading starts before the start: a container may fork to its limit and exit in milliseconds.
    sampler?.start();
    const t0 = performance.now();
    try {
      await guard(container.start());
    } catch (err) {
      // Started or not, it is left to the sweep with the hung engine.
      if (err instanceof HungEngine) return await notStarted();
      throw err instanceof EngineLostError ? err : mapEngineError(err, `start container from ${spec.image}`);
    }
    started = true;
    phase = `a container run${what ? ` (${what})` : ''}`;
    // An abort that arrived during the start found nothing to kill yet.
    if (aborted) kill();
    // The hard timeout runs from the start, also while onStarted waits for something.
    timers.push(
      setTimeout(() => {
        timedOut = true;
        kill();
      }, spec.timeoutMs),
    );
    await sampler?.sample();
    await spec.onStarted?.(container.id, {
      readPids: async () => {
        await sampler?.sample();
        return sampler?.snapshot() ?? NO_PIDS;
      },
      hostPid: async () => {
        try {
          const pid = (await guard(container.inspect())).State?.Pid;
          return typeof pid === 'number' && pid > 0 ? pid : null;
        } catch {
          return null;
        }
      },
    });
    if (spec.stopAfterMs !== undefined) {
      timers.push(
        setTimeout(() => {
          stopRequestedAt = performance.now();
          void container.stop({ t: spec.stopGraceS ?? 10 }).catch(() => undefined);
        }, spec.stopAfterMs),
      );
    }

    let exitCode: number | null = null;
    try {
      const res = await guard(Promise.race([waited as Promise<{ StatusCode?: number }>, abortGrace]));
      if (res === 'abandoned') aborted = true;
      else exitCode = typeof res.StatusCode === 'number' ? res.StatusCode : null;
    } catch (err) {
      if (err instanceof EngineLostError) throw err;
      // A hung engine after an abort, or the container removed under us (interrupt cleanup): not
      // an engine failure.
      if (!(err instanceof HungEngine) && (err as { statusCode?: number }).statusCode !== 404)
        throw mapEngineError(err, 'wait for container');
      aborted = true;
    }
    const tExit = performance.now();
    const pids = (await sampler?.finish()) ?? NO_PIDS;
    // Let the attach stream flush the last output (bounded: it ends when the container does;
    // not at all from a hung engine).
    if (!(await hung())) await Promise.race([streamEnded, delay(2_000, undefined, { ref: false })]);
    return {
      id: container.id,
      exitCode,
      timedOut,
      aborted,
      stdout: stdout.text(),
      stderr: stderr.text(),
      durationMs: tExit - t0,
      stopLatencyMs: stopRequestedAt === null ? null : tExit - stopRequestedAt,
      pids,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    spec.signal?.removeEventListener('abort', onAbort);
    spec.signal?.removeEventListener('abort', checkEngine);
    spec.signal?.removeEventListener('abort', arm);
    sampler?.stop();
    watch.stop();
    // Returns once the container is gone, also when the interrupt handler is removing it too;
    // an engine that is gone gets one try (the next run sweeps what is left: cleanup.ts).
    const failed = (await hung())
      ? `container ${container.id.slice(0, 12)}: the engine did not answer a ping within ${HUNG_PING_MS} ms of the interrupt; the next run, or reapbench clean --run ${RUN_ID}, removes it`
      : await removeContainer(container, watch.error ? 0 : undefined);
    if (failed) spec.onNotice?.(`reapbench: could not remove ${failed}`);
    // A container that could not be removed keeps its cgroup: no point in waiting for it.
    const left = parent ? await parent.remove(failed ? 0 : 5_000) : null;
    if (left) spec.onNotice?.(`reapbench: could not remove ${left}`);
    untrack(container.id);
  }
}

/** After an abort, how long the engine has to report the killed container's exit, ms. */
const ABORT_GRACE_MS = 2_000;

/**
 * After an abort, an engine that does not answer a ping within this is treated as hung: the run
 * ends without waiting on it, and what it holds is left for the next run's sweep, ms. A live
 * engine answers `/_ping` in about a millisecond here, and well within this under load.
 */
const HUNG_PING_MS = 750;

/** The engine did not answer the ping sent at an abort: the run ends without it (see runContainer). */
class HungEngine extends Error {
  constructor() {
    super(`the engine did not answer a ping within ${HUNG_PING_MS} ms of the interrupt`);
  }
}

/** A catch handler for a request that a hung engine may leave pending: null then, else the error. */
function notIfHung(err: unknown): null {
  if (err instanceof HungEngine) return null;
  throw err;
}

/** A catch handler that rethrows an EngineLostError and turns anything else into a null reading. */
function rethrowLost(watch: EngineWatch) {
  return (err: unknown): null => {
    if (err instanceof EngineLostError || watch.error) throw err;
    return null;
  };
}

/** Figures of a run whose pids cgroup was not read (sampling disabled, or no container ran). */
export const NO_PIDS: PidsFigures = {
  peak: null,
  max: null,
  last: null,
  eventsMax: null,
  samples: 0,
  path: null,
  method: 'unavailable',
  note: 'host-side pids readings were disabled for this run',
};

/**
 * A run that never started (`id` empty, nothing read): `pidsNote` says why its pids figures are
 * missing (absent: {@link NO_PIDS}'s own note).
 */
export function notRun(pidsNote?: string): ContainerRun {
  return {
    id: '',
    exitCode: null,
    timedOut: false,
    aborted: false,
    stdout: '',
    stderr: '',
    durationMs: 0,
    stopLatencyMs: null,
    pids: pidsNote === undefined ? NO_PIDS : { ...NO_PIDS, note: pidsNote },
  };
}

/** A run that never created a container. */
const NOT_RUN = notRun('no container was created');
