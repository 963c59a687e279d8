/**
 * A {@link ContainerRuntime} with no engine behind it, for testing the whole `reapbench run`
 * (plan → runs → records → summary → files → exit code) in seconds. Each container "run" checks
 * its spec as the real runtime does, then plays an outcome: by default the load generator's own
 * output for the run its command line and labels describe (seeded figures from realisticRun,
 * written where its `--out` is mounted), or a failure, a timeout, a hang until aborted.
 * Everything it was asked is kept for the test to check.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { vi } from 'vitest';
import { EngineLostError, ReapbenchError } from '../../src/errors.js';
import type { InitName } from '../../src/model/inits.js';
import type { CleanResult, DeadRunSweep } from '../../src/runtime/cleanup.js';
import { NO_PIDS, validateSpec, type ContainerRun, type ContainerSpec } from '../../src/runtime/container.js';
import type { EngineInfo } from '../../src/runtime/engine.js';
import type { ContainerRuntime, ExecRequest, ExecResult, ImageDetails, ImageOpOptions } from '../../src/runtime/runtime.js';
import { runBench } from '../../src/run/bench.js';
import { RUN_DEFAULTS, type RunCliOptions } from '../../src/run/options.js';
import { realisticRun } from './bench-fixtures.js';
import { rawEvents } from './golden-runs.js';

/** What one container run of the fake does. */
export type FakeOutcome =
  /** Writes the load generator's output for the run (the default). */
  | { kind: 'loadgen' }
  /** Exits with `exitCode` and `stderr`, writing nothing. */
  | { kind: 'exit'; exitCode: number; stderr: string }
  /** Killed by the run timeout. */
  | { kind: 'timeout' }
  /** Runs until the spec's signal aborts it; with `teardown`, ends only once that settles too (a slow removal). */
  | { kind: 'hang'; teardown?: Promise<void> }
  /** Runs until the spec's signal aborts it, then fails as a hung engine's watch does (EngineLostError). */
  | { kind: 'hang-then-engine-lost' };

/** How the fake behaves. */
export interface FakeOptions {
  /** The outcome of the `n`-th container run (0-based), given its spec. Default: `loadgen`. */
  outcome?: (spec: ContainerSpec, n: number) => FakeOutcome;
  /** Make every image build fail with this engine message. */
  buildFails?: string;
  /** Facts {@link FakeRuntime.info} reports, over a 2-CPU Docker 26 on cgroup v1. */
  info?: Partial<EngineInfo>;
}

/** A run the fake was asked for, and whether it ended. */
export interface FakeContainer {
  id: string;
  spec: ContainerSpec;
  ended: boolean;
}

/** The fake runtime; see the module comment. */
export class FakeRuntime implements ContainerRuntime {
  readonly label = 'fake runtime';
  /** Every container run, in order. */
  readonly containers: FakeContainer[] = [];
  /** Images it "has": tag → id. The registry base is there from the start (no pull, no host files). */
  readonly images = new Map<string, string>([['node:20-slim', fakeId('node:20-slim')]]);
  /** Tags built or imported, in order. */
  readonly built: string[] = [];
  /** How many times {@link removeRun} was called. */
  removeRunCalls = 0;

  constructor(private readonly opts: FakeOptions = {}) {}

  /** Containers started and not yet ended (a run that returned always ended). */
  get live(): number {
    return this.containers.filter((c) => !c.ended).length;
  }

  async info(): Promise<EngineInfo> {
    return {
      name: 'docker',
      engineInit: 'docker-init (tini, built into the engine)',
      engineInitComm: 'docker-init',
      serverVersion: '26.1.5+fake',
      apiVersion: '1.45',
      cgroupVersion: 1,
      cgroupDriver: 'cgroupfs',
      storageDriver: 'overlay2',
      kernelVersion: '6.18.0-fake',
      cpus: 2,
      initBinary: 'docker-init',
      ...this.opts.info,
    };
  }

  async imageId(ref: string): Promise<string | null> {
    return this.images.get(ref) ?? null;
  }

  async inspectImage(ref: string): Promise<ImageDetails | null> {
    const id = this.images.get(ref);
    return id === undefined ? null : { id, architecture: 'amd64', entrypoint: [], cmd: ['node'], user: '', env: [] };
  }

  async pullImage(ref: string): Promise<void> {
    throw new Error(`pull ${ref}: the fake runtime has no registry`);
  }

  async buildImage(context: NodeJS.ReadableStream, image: { tag: string }, opts: ImageOpOptions = {}): Promise<void> {
    await drain(context);
    // As the real runtime reports it: the engine's message, one line.
    if (this.opts.buildFails) throw new ReapbenchError(`build ${image.tag} failed: ${this.opts.buildFails}`);
    opts.onLine?.('Step 1/1 : FROM scratch');
    this.add(image.tag);
  }

  async importImage(rootfs: NodeJS.ReadableStream, image: { tag: string }): Promise<void> {
    await drain(rootfs);
    this.add(image.tag);
  }

  async run(spec: ContainerSpec): Promise<ContainerRun> {
    validateSpec(spec);
    const n = this.containers.length;
    const c: FakeContainer = { id: fakeId(`container ${n}`), spec, ended: false };
    this.containers.push(c);
    const base: ContainerRun = {
      id: c.id,
      exitCode: 0,
      timedOut: false,
      aborted: false,
      stdout: '',
      stderr: '',
      durationMs: 1,
      stopLatencyMs: null,
      pids: { ...NO_PIDS, note: 'the fake runtime reads no pids cgroup' },
    };
    try {
      if (spec.signal?.aborted) return { ...base, exitCode: null, aborted: true };
      await spec.onStarted?.(c.id, { readPids: async () => base.pids, hostPid: async () => null });
      const outcome = this.opts.outcome?.(spec, n) ?? { kind: 'loadgen' };
      switch (outcome.kind) {
        case 'loadgen':
          writeLoadgenOutput(spec, n);
          return base;
        case 'exit':
          return { ...base, exitCode: outcome.exitCode, stderr: outcome.stderr };
        case 'timeout':
          return { ...base, exitCode: 137, timedOut: true, durationMs: spec.timeoutMs };
        case 'hang':
          await untilAborted(spec.signal);
          await outcome.teardown;
          return { ...base, exitCode: 137, aborted: true };
        case 'hang-then-engine-lost':
          await untilAborted(spec.signal);
          throw new EngineLostError('Docker', 'a container run', 'no answer to a ping within 2 s');
      }
    } finally {
      c.ended = true;
    }
  }

  async exec(_id: string, req: ExecRequest): Promise<ExecResult> {
    return { timedOut: false, exitCode: req.detach ? null : 0, output: '' };
  }

  async removeRun(): Promise<string[]> {
    this.removeRunCalls++;
    // What a real removal would wait for: the runs in progress see their abort and end.
    while (this.live > 0) await delay(5);
    return [];
  }

  removeRunNow(): number {
    return this.live;
  }

  async sweepDeadRuns(): Promise<DeadRunSweep> {
    return { removed: 0, cgroups: 0, runs: [] };
  }

  async clean(): Promise<CleanResult> {
    return { removed: 0, kept: 0, cgroups: 0 };
  }

  private add(tag: string): void {
    this.built.push(tag);
    this.images.set(tag, fakeId(tag));
  }
}

/** A stable `sha256:` id for `seed`. */
function fakeId(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

/** Read a stream to its end (a build context or rootfs is produced as it is read). */
async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const _chunk of stream);
}

/** The value after `flag` in `argv`. */
function arg(argv: string[], flag: string): string {
  const i = argv.indexOf(flag);
  if (i < 0 || i + 1 >= argv.length) throw new Error(`fake runtime: no ${flag} in ${JSON.stringify(argv)}`);
  return argv[i + 1]!;
}

/**
 * Write what the load generator would have written for this container: the run its labels and
 * command line describe (init, pids limit, rate, lifetime, duration), as realisticRun models it
 * (seeded by `n`), at the host path of its `--out`.
 */
function writeLoadgenOutput(spec: ContainerSpec, n: number): void {
  const out = arg(spec.cmd, '--out');
  const mount = spec.mounts?.find((m) => out.startsWith(`${m.container}/`));
  if (!mount) throw new Error(`fake runtime: --out ${out} is not under a mount`);
  const init = (spec.labels?.['reapbench.init'] ?? 'none') as InitName;
  const run = realisticRun(init, n, {
    pids_limit: spec.pidsLimit ?? 4096,
    rate_per_s: Number(arg(spec.cmd, '--rate')),
    lifetime_ms: Number(arg(spec.cmd, '--lifetime-ms')),
    duration_s: Number(arg(spec.cmd, '--duration-s')),
  });
  const host = path.join(mount.host, path.relative(mount.container, out));
  mkdirSync(path.dirname(host), { recursive: true });
  writeFileSync(
    host,
    `${rawEvents(run, path.basename(out))
      .map((e) => JSON.stringify(e))
      .join('\n')}\n`,
  );
}

/**
 * `reapbench run` options as the CLI would pass them for a run on the fake: the defaults, the
 * pidfd instrument (the fake's containers have no host pid to trace), no bar, results in `out`,
 * and a small matrix (none, tini, docker-init; limit 64; 100/s; 1 s; 2 repetitions), then `over`.
 */
export function fakeRunOptions(out: string, over: Partial<RunCliOptions> = {}): RunCliOptions {
  return {
    ...RUN_DEFAULTS,
    p50Factor: String(RUN_DEFAULTS.p50Factor),
    out,
    ci: false,
    progress: false,
    instrument: 'pidfd',
    inits: 'none,tini,docker-init',
    limits: '64',
    rates: '100',
    durationS: '1',
    repetitions: '2',
    ...over,
  };
}

/** Resolves once `signal` aborts (at once if it has); never without one. */
function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * A fake's `outcome` that interrupts the `n`-th container run (0-based: with a warm-up, 0 is
 * the warm-up): once it has started, SIGINT is emitted to this process as a user's Ctrl-C would
 * send it (after `before`, e.g. to note the instant), and the run plays `then`. Every other run
 * writes the load generator's output.
 */
export function interruptAt(n: number, then: FakeOutcome = { kind: 'hang' }, before?: () => void): NonNullable<FakeOptions['outcome']> {
  return (_spec, i) => {
    if (i !== n) return { kind: 'loadgen' };
    setImmediate(() => {
      before?.();
      process.emit('SIGINT', 'SIGINT');
    });
    return then;
  };
}

/**
 * Capture what the command writes to stderr, and keep its stdout (the summary table) out of the
 * test's output, until `restore()`.
 */
export function captureOutput(): { stderr: () => string; restore: () => void } {
  const chunks: string[] = [];
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  return {
    stderr: () => chunks.join(''),
    restore: () => {
      err.mockRestore();
      out.mockRestore();
    },
  };
}

/**
 * `reapbench run` on `rt` with {@link fakeRunOptions}(`out`, `over`), its output captured
 * ({@link captureOutput}).
 * @returns its exit code, or the ReapbenchError it threw; what it wrote to stderr; and the one
 *   results folder it left in `out` (beside `latest`), or null when it left none or several.
 * @throws what the command threw when that is not a ReapbenchError.
 */
export async function runOnFake(
  out: string,
  rt: FakeRuntime,
  over: Partial<RunCliOptions> = {},
): Promise<{ code: number | ReapbenchError; stderr: string; dir: string | null }> {
  const output = captureOutput();
  let code: number | ReapbenchError;
  try {
    code = await runBench(fakeRunOptions(out, over), { connect: async () => rt });
  } catch (err) {
    if (!(err instanceof ReapbenchError)) throw err;
    code = err;
  } finally {
    output.restore();
  }
  const dirs = readdirSync(out).filter((d) => d !== 'latest');
  return { code, stderr: output.stderr(), dir: dirs.length === 1 ? path.join(out, dirs[0]!) : null };
}
