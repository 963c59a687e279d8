/**
 * The environment phase of `reapbench run`: connect to the engine, build or reuse the image, and
 * record what the results depend on (env.json).
 */
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureImages, projectRoot, type ImageSet } from '../images/build.js';
import { deadRunsLine, RUN_ID } from '../runtime/cleanup.js';
import { engineEndpoint, type EngineInfo } from '../runtime/engine.js';
import { connectRuntime, type ConnectedRuntime } from '../runtime/connect.js';
import { untilInterrupted } from './interrupt.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { hostAppImage } from '../images/host-image.js';
import { NamespaceRuntime } from '../runtime/namespace.js';
import type { EnvironmentRecord } from '../model/records.js';
import type { RunOutput } from '../terminal/output.js';
import type { RunRequest } from './request.js';
import { shardRecord } from './shard.js';
import type { Instrument } from '../model/instrument.js';
import { ReapbenchError } from '../errors.js';
import { tracerAvailability, type TracerAvailability } from '../tracer/index.js';

/** What the measuring phases run on. */
export interface RunEnvironment {
  /** The container engine the runs go to. */
  runtime: ContainerRuntime;
  engine: EngineInfo;
  images: ImageSet;
  /** CPU range (`0:<n−1>`) the load generator pins the watcher and the workload to; undefined: no pinning. */
  pin: string | undefined;
  /** The latency instrument of this run (`--instrument auto` resolved). */
  instrument: Instrument;
  /** env.json. */
  record: EnvironmentRecord;
}

/** The runtime `--engine` chose, with the reason (the namespace runtime gets the app image's stand-in from this checkout). */
export const connectChosenRuntime = (): Promise<ConnectedRuntime> => connectRuntime(hostAppImage);

/**
 * Connect to the engine (`connect`, by default the one `--engine` chose) and prepare the images
 * (a first run builds them, about a minute), printing the build's progress through `out` (in
 * full with `--verbose`). `signal` aborts the build. The namespace runtime needs no image: the
 * build in this checkout and the host's inits stand in for it.
 * @throws ReapbenchError when the engine cannot be reached or the image cannot be built; exit
 *   130 when `signal` aborted the build.
 */
export async function prepareEnvironment(
  req: RunRequest,
  out: RunOutput,
  signal: AbortSignal,
  connect: () => Promise<ContainerRuntime | ConnectedRuntime> = connectChosenRuntime,
): Promise<RunEnvironment> {
  // Each engine request gives way to an interrupt: an engine that hangs must not hold Ctrl-C.
  const connected = await untilInterrupted(connect(), signal);
  const runtime = 'runtime' in connected ? connected.runtime : connected;
  const why = 'why' in connected ? connected.why : null;
  if (why) out.line(`reapbench: runtime: ${why}`);
  const engine = await untilInterrupted(runtime.info(), signal);
  // What runs that are gone left (containers that would take CPU and pids, cgroups) goes first.
  const swept = deadRunsLine(await untilInterrupted(runtime.sweepDeadRuns(), signal));
  if (swept) out.line(swept);
  if (engine.name === 'namespace') out.line(`reapbench: run ${RUN_ID}: no images to prepare (the namespace runtime runs the host's files)`);
  const images = engine.name === 'namespace' ? hostImages(runtime) : await buildImages(runtime, req, out, signal);
  const pin = req.pin && engine.cpus >= 2 ? `0:${engine.cpus - 1}` : undefined;
  const instrument = chooseInstrument(req.instrument, tracerAvailability, remoteEngine(engine));
  // Named, with the fallback's reason when there is one, among the run's first lines (bench.ts `announcement`).
  const base = await environmentRecord(
    engine,
    { image: images.app, image_id: images.appId, base_mode: images.baseMode, base_reason: images.baseReason },
    { ...req.matrix, pin: pin ?? null },
    { requested: req.instrument, used: instrument.used, reason: instrument.reason },
  );
  // Every synthetic run says which slice it is (1 of 1 without --shard), so that any results
  // folder of the matrix can be merged and checked against the others.
  const record = { ...base, ...(why ? { engine_choice: why } : {}), shard: shardRecord(req.matrix, req.shard, base.reapbench_version) };
  return { runtime, engine, images, pin, instrument: instrument.used, record };
}

/** The namespace runtime's "images": none; what stands in for the app image, for the records. */
function hostImages(runtime: ContainerRuntime): ImageSet {
  const name = runtime instanceof NamespaceRuntime ? (runtime.image?.name ?? 'host files') : 'host files';
  return {
    app: 'host',
    base: 'host',
    baseMode: 'host',
    baseReason: `no image: the namespace runtime runs ${name}`,
    appId: '',
    built: false,
  };
}

/** Build or reuse the images of a container engine, with the progress lines of {@link prepareEnvironment}. */
async function buildImages(runtime: ContainerRuntime, req: RunRequest, out: RunOutput, signal: AbortSignal): Promise<ImageSet> {
  // The run id first: its containers carry the label reapbench.run=<id> (docker ps, clean-up).
  out.line(`reapbench: run ${RUN_ID}: preparing the images (a first run builds them, about a minute)`);
  return untilInterrupted(
    ensureImages(runtime, {
      signal,
      base: req.base,
      onProgress: (line) => {
        // The builder's own steps (Docker: `Step 1/5`, `--->`; Podman: `STEP 1/5:`, `-->`, `COMMIT`, the id) only with --verbose.
        if (req.verbose || !/^(base|app): (step|--->|-->|removing|successfully|commit|[0-9a-f]{64}$|\s)/i.test(line)) out.line(line);
      },
    }),
    signal,
  );
}

/**
 * env.json: the facts a run's results depend on (versions, kernel, CPU, engine, the image, the
 * command line, CLK_TCK), with the run's image, its resolved matrix and instrument. Shared by the
 * synthetic bench and `run --image`.
 */
export async function environmentRecord(
  engine: EngineInfo,
  image: Pick<EnvironmentRecord, 'image' | 'image_id' | 'base_mode' | 'base_reason'>,
  matrix: EnvironmentRecord['matrix'],
  instrument: EnvironmentRecord['instrument'],
): Promise<EnvironmentRecord> {
  const root = projectRoot();
  return {
    reapbench_version: JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')).version,
    run_id: RUN_ID,
    git_commit: await gitCommit(root),
    node_version: process.version,
    kernel: engine.kernelVersion || os.release(),
    cpu_model: await cpuModel(),
    cpus: engine.cpus,
    engine_name: engine.name,
    engine_version: engine.serverVersion,
    engine_api_version: engine.apiVersion,
    engine_init: engine.engineInit,
    cgroup_version: engine.cgroupVersion,
    ...image,
    started_at: new Date().toISOString(),
    argv: process.argv.slice(2),
    clk_tck: await clockTicks(),
    matrix,
    instrument,
  };
}

/**
 * Resolve `--instrument`: `auto` takes `ebpf` when the kernel instrument can be loaded here
 * (src/tracer/availability.ts: root or CAP_BPF + CAP_PERFMON, BTF, the loader built, the
 * tracepoints present) and `pidfd` otherwise, with the reason as one line; `ebpf` or `both`
 * asked for explicitly must be available.
 * @param remote why the engine's containers are not on this host's kernel (a remote engine, a VM),
 *   or null when they are.
 * @throws ReapbenchError (exit 1) when `ebpf` or `both` was asked for and cannot be loaded.
 */
export function chooseInstrument(
  requested: 'auto' | Instrument,
  availability: () => TracerAvailability = tracerAvailability,
  remote: string | null = null,
): { used: Instrument; reason: string | null } {
  if (requested === 'pidfd') return { used: 'pidfd', reason: null };
  const a: TracerAvailability = remote
    ? {
        available: false,
        reason: `the engine's containers do not run on this host's kernel (${remote}); the kernel instrument sees only this host`,
      }
    : availability();
  if (a.available) return { used: requested === 'auto' ? 'ebpf' : requested, reason: null };
  if (requested === 'auto')
    return {
      used: 'pidfd',
      reason: `the kernel instrument is unavailable (${a.reason}); latencies come from the in-container watcher (pidfd), upper bounds`,
    };
  throw new ReapbenchError(`--instrument ${requested}: the kernel instrument is unavailable: ${a.reason}`);
}

/** `getconf CLK_TCK` (ticks per second), or null when getconf is missing or says something else. */
async function clockTicks(): Promise<number | null> {
  const r = await execa('getconf', ['CLK_TCK'], { reject: false });
  const n = Number(r.stdout.trim());
  return r.exitCode === 0 && Number.isInteger(n) && n > 0 ? n : null;
}

/**
 * Why the engine's containers would not run on this host's kernel, or null when they do: a TCP
 * endpoint (DOCKER_HOST=tcp://…), or an engine that reports another kernel release than this
 * host's (Docker Desktop and other VMs).
 */
export function remoteEngine(
  engine: Pick<EngineInfo, 'kernelVersion'>,
  endpoint = engineEndpoint(),
  release = os.release(),
): string | null {
  if (!('socketPath' in endpoint)) return `the engine is reached at ${endpoint.label}`;
  if (engine.kernelVersion && engine.kernelVersion !== release)
    return `the engine reports kernel ${engine.kernelVersion}, this host runs ${release}`;
  return null;
}

/** The host's CPU model from /proc/cpuinfo, or `unknown`. */
async function cpuModel(): Promise<string> {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(await readFile('/proc/cpuinfo', 'utf8'));
    return m?.[1]?.trim() ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The checked-out commit of `root`, or null outside a git work tree. */
async function gitCommit(root: string): Promise<string | null> {
  const r = await execa('git', ['rev-parse', 'HEAD'], { cwd: root, reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : null;
}
