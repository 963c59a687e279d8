/**
 * {@link ContainerRuntime} over the Docker Engine API (dockerode): Docker itself, and Podman
 * through its Docker-compatible service. The only module outside runtime/'s own helpers that
 * holds a dockerode client.
 */
import type Docker from 'dockerode';
import { setTimeout as delay } from 'node:timers/promises';
import { ReapbenchError } from '../errors.js';
import { activeCount, cleanRuns, removeAllTracked, RUN_ID, sweepDeadRuns, type CleanResult, type DeadRunSweep } from './cleanup.js';
import { runContainer, type ContainerRun, type ContainerSpec } from './container.js';
import { connectClient, engineInfo, mapEngineError, type EngineInfo } from './engine.js';
import { removeOwnedParentsNow } from './host-cgroup.js';
import type { ContainerRuntime, ExecRequest, ExecResult, ImageDetails, ImageOpOptions } from './runtime.js';

/** How much of an exec's output is kept, bytes. */
const EXEC_OUTPUT_BYTES = 4096;

/**
 * The payload of the Engine API's multiplexed stream (no TTY): frames of an 8-byte header
 * (stream type, 3 zero bytes, payload size big-endian) and the payload; stdout and stderr joined.
 * @param buf the raw bytes of an attach or exec stream.
 */
export function demux(buf: Buffer): string {
  let out = '';
  let at = 0;
  while (at + 8 <= buf.length) {
    const n = buf.readUInt32BE(at + 4);
    out += buf.subarray(at + 8, Math.min(buf.length, at + 8 + n)).toString('utf8');
    at += 8 + n;
  }
  return out;
}

/** An Engine API `Config.Entrypoint`/`Cmd` as an argv (a string is one element; null: none). */
const argv = (v: string[] | string | null | undefined): string[] => (v == null ? [] : Array.isArray(v) ? v : [v]);

/** The engine behind an Engine API client. */
export class DockerRuntime implements ContainerRuntime {
  /**
   * @param docker a client that answered a ping ({@link connectDockerRuntime} makes one).
   * @param label where it is, for lines: e.g. `/var/run/docker.sock`.
   */
  constructor(
    readonly docker: Docker,
    readonly label: string,
  ) {}

  info(): Promise<EngineInfo> {
    return engineInfo(this.docker);
  }

  async imageId(ref: string): Promise<string | null> {
    return (await this.inspectImage(ref))?.id ?? null;
  }

  async inspectImage(ref: string): Promise<ImageDetails | null> {
    let raw: {
      Id?: string;
      Architecture?: string;
      Config?: { Entrypoint?: string[] | string | null; Cmd?: string[] | string | null; User?: string | null; Env?: string[] | null };
    };
    try {
      raw = (await this.docker.getImage(ref).inspect()) as typeof raw;
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      throw mapEngineError(err, `inspect image ${ref}`);
    }
    return {
      id: String(raw.Id ?? ''),
      architecture: String(raw.Architecture ?? ''),
      entrypoint: argv(raw.Config?.Entrypoint),
      cmd: argv(raw.Config?.Cmd),
      user: String(raw.Config?.User ?? ''),
      env: raw.Config?.Env ?? [],
    };
  }

  async pullImage(ref: string, opts: ImageOpOptions = {}): Promise<void> {
    const stream = (await this.docker.pull(ref, { abortSignal: opts.signal })) as NodeJS.ReadableStream;
    await this.follow(stream, `pull ${ref}`, opts);
  }

  async buildImage(
    context: NodeJS.ReadableStream,
    image: { tag: string; buildArgs?: Record<string, string>; labels?: Record<string, string> },
    opts: ImageOpOptions = {},
  ): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.buildImage(context, {
        t: image.tag,
        ...(image.buildArgs ? { buildargs: image.buildArgs } : {}),
        ...(image.labels ? { labels: image.labels } : {}),
        rm: true,
        forcerm: true,
        abortSignal: opts.signal,
      });
    } catch (err) {
      throw mapEngineError(err, `build ${image.tag}`);
    }
    await this.follow(stream, `build ${image.tag}`, opts);
  }

  async importImage(rootfs: NodeJS.ReadableStream, image: { tag: string; changes?: string[] }, opts: ImageOpOptions = {}): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      // The tag inside `repo` (the Engine API allows it): Podman's compatible API ignores `tag`
      // and would name the image `:latest`.
      stream = await this.docker.importImage(
        rootfs as unknown as string,
        { repo: image.tag, ...(image.changes ? { changes: image.changes } : {}), abortSignal: opts.signal } as object,
      );
    } catch (err) {
      throw mapEngineError(err, `import ${image.tag}`);
    }
    await this.follow(stream, `import ${image.tag}`, opts);
    if ((await this.imageId(image.tag)) === null)
      throw new ReapbenchError(`import of ${image.tag} reported success but the image is missing`);
  }

  run(spec: ContainerSpec): Promise<ContainerRun> {
    return runContainer(this.docker, spec);
  }

  async exec(id: string, req: ExecRequest): Promise<ExecResult> {
    const e = await this.docker
      .getContainer(id)
      .exec({ Cmd: req.argv, ...(req.env ? { Env: req.env } : {}), AttachStdout: !req.detach, AttachStderr: !req.detach });
    if (req.detach) {
      // dockerode hands back the start response as a stream even when detached; the engine has
      // accepted the exec once it answered, so close it (left open it keeps the harness alive).
      const res = (await e.start({ Detach: true })) as unknown as { destroy?: () => void } | undefined;
      res?.destroy?.();
      return { timedOut: false, exitCode: null, output: '' };
    }
    const stream = await e.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (b: Buffer) => {
      if (size < EXEC_OUTPUT_BYTES) chunks.push(b);
      size += b.length;
    });
    const text = (): string => demux(Buffer.concat(chunks)).slice(0, EXEC_OUTPUT_BYTES);
    const ended = new Promise<'ended'>((resolve) => {
      stream.on('end', () => resolve('ended'));
      stream.on('close', () => resolve('ended'));
      stream.on('error', () => resolve('ended'));
    });
    const ac = new AbortController();
    const timeoutS = req.timeoutS ?? null;
    const how = await Promise.race([
      ended,
      ...(timeoutS === null ? [] : [delay(timeoutS * 1000, 'timeout' as const, { signal: ac.signal }).catch(() => 'ended' as const)]),
    ]);
    ac.abort();
    if (how === 'timeout') {
      // Stop listening; the process goes on inside the container (no API kills it).
      stream.destroy();
      return { timedOut: true, exitCode: null, output: text() };
    }
    const info = (await e.inspect().catch(() => null)) as { ExitCode?: number | null } | null;
    return { timedOut: false, exitCode: info?.ExitCode ?? null, output: text() };
  }

  removeRun(): Promise<string[]> {
    return removeAllTracked();
  }

  removeRunNow(): number {
    return activeCount() + removeOwnedParentsNow(RUN_ID);
  }

  async sweepDeadRuns(): Promise<DeadRunSweep> {
    try {
      return await sweepDeadRuns(this.docker);
    } catch (err) {
      throw mapEngineError(err, 'list containers');
    }
  }

  clean(opts: { runId: string | null; force: boolean }): Promise<CleanResult> {
    return cleanRuns(this.docker, opts);
  }

  /**
   * Follow an Engine API progress stream (build, import, pull) to its end, each line to `onLine`.
   * @throws ReapbenchError with the engine's own error message when the stream reports one.
   */
  private follow(stream: NodeJS.ReadableStream, what: string, opts: ImageOpOptions): Promise<void> {
    return new Promise((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: unknown[]) => {
          if (err) return reject(mapEngineError(err, what));
          const failed = (output as Array<{ error?: string; errorDetail?: { message?: string } }>).find((o) => o.error || o.errorDetail);
          if (failed) return reject(new ReapbenchError(`${what} failed: ${(failed.errorDetail?.message ?? failed.error ?? '').trim()}`));
          resolve();
        },
        (event: { stream?: string; status?: string; error?: string }) => {
          const line = (event.stream ?? event.status ?? '').trim();
          if (line && opts.onLine) for (const l of line.split('\n')) opts.onLine(l);
        },
      );
    });
  }
}

/**
 * Connect to the engine `--engine` chose (see `useEngine` in ./engine.ts) and check that it
 * answers within `timeoutMs`.
 * @throws ReapbenchError when no engine answers or its socket is not accessible (one line that
 *   says how to start one).
 */
export async function connectDockerRuntime(timeoutMs = 5_000): Promise<DockerRuntime> {
  const { docker, label } = await connectClient(timeoutMs);
  return new DockerRuntime(docker, label);
}
