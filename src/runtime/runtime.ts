/**
 * The seam between the harness and a container engine: everything `reapbench run`, `--image`,
 * `build` and `clean` need from one, and nothing else. {@link DockerRuntime} (./docker.ts) is
 * the engines that speak the Docker Engine API (Docker, and Podman's compatible service); the
 * tests' FakeRuntime (test/support/fake-runtime.ts) runs the whole `run` command without one.
 *
 * What stays outside: signals (the command layer, src/run/interrupt.ts, decides what an
 * interrupt means and asks the runtime to {@link ContainerRuntime.removeRun}); the kernel
 * instrument and host-side /proc readings, which need the container's PID 1 on this host
 * (`hostPid` of `onStarted`).
 */
import type { CleanResult, DeadRunSweep } from './cleanup.js';
import type { ContainerRun, ContainerSpec } from './container.js';
import type { EngineInfo } from './engine.js';
import type { InitName } from '../model/inits.js';

/** Engine API image inspect, the fields reapbench reads (`GET /images/{name}/json`). */
export interface ImageDetails {
  /** Image id, `sha256:<64 hex>`. */
  id: string;
  /** Architecture the image was built for (`amd64`, `arm64`, …; empty when not said). */
  architecture: string;
  /** `Config.Entrypoint`, normalised to an argv (a string becomes one element; none: []). */
  entrypoint: string[];
  /** `Config.Cmd`, normalised like `entrypoint`. */
  cmd: string[];
  /** `Config.User` ('' for root / unset). */
  user: string;
  /** `Config.Env` (`NAME=value` entries). */
  env: string[];
}

/** Where an image operation's progress goes, and what aborts it. */
export interface ImageOpOptions {
  /** One line of the engine's progress (build steps, pull status), without newline. */
  onLine?: (line: string) => void;
  /** Aborting ends the operation; it then rejects (the caller says "interrupted"). */
  signal?: AbortSignal;
}

/** A command run in a running container ({@link ContainerRuntime.exec}). */
export interface ExecRequest {
  /** argv, run without a shell. */
  argv: string[];
  /** Extra environment (`NAME=value`). */
  env?: string[];
  /** Return once the engine accepted it, without waiting or reading output (default false). */
  detach?: boolean;
  /** Stop waiting after this many s (the process is left running: no engine API kills an exec); null or absent: wait for its end. */
  timeoutS?: number | null;
}

/** What came of an {@link ExecRequest}. */
export interface ExecResult {
  /** The wait ran out (`timeoutS`); the process may still run. */
  timedOut: boolean;
  /** Its exit status, when it ended and the engine said; null otherwise (and always with `detach`). */
  exitCode: number | null;
  /** The first 4 KiB of its stdout and stderr, interleaved ('' with `detach`). */
  output: string;
}

/**
 * A container engine as the harness uses it. Every container it creates carries the label
 * `reapbench.run=<this process's run id>` and is removed when its run ends, whatever happens.
 * Errors are ReapbenchError with one line that says what to do (engine unreachable, image
 * missing, API errors); a timed-out or aborted container run is not an error (see
 * {@link ContainerRun}).
 */
export interface ContainerRuntime {
  /** Which engine, for lines and records: e.g. `docker at /var/run/docker.sock`. */
  readonly label: string;
  /** The engine's facts (name, versions, cgroup version and driver, CPUs, its init). */
  info(): Promise<EngineInfo>;
  /** The id of image `ref` when the engine has it, else null. */
  imageId(ref: string): Promise<string | null>;
  /** Image `ref`'s inspect, or null when the engine does not have it. */
  inspectImage(ref: string): Promise<ImageDetails | null>;
  /** Pull `ref` from its registry. Rejects when it cannot (no registry, no such image, aborted). */
  pullImage(ref: string, opts?: ImageOpOptions): Promise<void>;
  /** Build the Dockerfile of `context` (a tar stream) as `tag`, with build args and labels. */
  buildImage(
    context: NodeJS.ReadableStream,
    image: { tag: string; buildArgs?: Record<string, string>; labels?: Record<string, string> },
    opts?: ImageOpOptions,
  ): Promise<void>;
  /** Import `rootfs` (a tar stream of a root filesystem) as image `tag`, with Dockerfile-style `changes`. */
  importImage(rootfs: NodeJS.ReadableStream, image: { tag: string; changes?: string[] }, opts?: ImageOpOptions): Promise<void>;
  /**
   * Why PID 1 choice `init` cannot run on this runtime, as the one line its row shows (`not
   * installed: apt-get install tini`, `does not apply: …`), or null when it can. Absent: every
   * choice can (an engine's image has them all).
   */
  initUnavailable?(init: InitName): string | null;
  /**
   * Why PID 1 choice `init` has no meaning on this runtime at all (the engine's own init where
   * there is no engine), as one line, or null when it has. A run leaves such a choice out and
   * says so, where a choice that could run but cannot here (not installed) is a failed row.
   * Absent: every choice has a meaning.
   */
  initNotApplicable?(init: InitName): string | null;
  /** Run one container to its end (see {@link ContainerSpec}); it is removed before this returns. */
  run(spec: ContainerSpec): Promise<ContainerRun>;
  /** Run a command in running container `id`. */
  exec(id: string, req: ExecRequest): Promise<ExecResult>;
  /**
   * Remove every container of this process's run that still exists, with the parent cgroups
   * reapbench made for them. Never throws.
   * @returns one line per thing that could not be removed (empty: all gone).
   */
  removeRun(): Promise<string[]>;
  /**
   * What can be removed synchronously, at once (a second signal leaves right after): this run's
   * empty parent cgroups.
   * @returns how many containers and cgroups of this run may be left behind (0: none).
   */
  removeRunNow(): number;
  /**
   * Remove what runs whose process is gone left (a crash, a kill -9, an engine that died under
   * them); never a container of a run still going.
   */
  sweepDeadRuns(): Promise<DeadRunSweep>;
  /**
   * `reapbench clean`: remove what runs left. With `runId`, everything of that run; without,
   * every stopped container of any run, running ones only with `force`.
   */
  clean(opts: { runId: string | null; force: boolean }): Promise<CleanResult>;
}
