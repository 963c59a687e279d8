/**
 * Connection to the container engine through dockerode, and the mapping of its failures to
 * one-line, actionable errors. Docker, or Podman through its Docker-compatible API (`podman
 * system service`, the same Engine API paths): {@link EngineChoice} says which socket to use.
 */
import Docker from 'dockerode';
import { existsSync } from 'node:fs';
import { ReapbenchError, usageError } from '../errors.js';

/** Default Engine API socket. `DOCKER_HOST` (`unix:///path` or `tcp://host:port`) overrides it. */
export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Podman's rootful API socket (`podman system service`); `CONTAINER_HOST` overrides it. */
export const PODMAN_SOCKET = '/run/podman/podman.sock';

/**
 * `--engine`: which engine to use; `auto` takes `DOCKER_HOST`, then `CONTAINER_HOST`, then the
 * first default socket that answers (Docker's, then Podman's), then, as root, the namespace
 * runtime (no engine: ./namespace.ts); `namespace` that runtime only.
 */
export const ENGINE_CHOICES = ['auto', 'docker', 'podman', 'namespace'] as const;
/** One of {@link ENGINE_CHOICES}. */
export type EngineChoice = (typeof ENGINE_CHOICES)[number];

/**
 * Where the Engine API is reached: a unix socket or a plain-TCP address, with `label`, the
 * address as the user wrote it (and whether it came from `DOCKER_HOST`), for messages.
 */
export type EngineEndpoint = ({ socketPath: string } | { host: string; port: number }) & { label: string; fromEnv: boolean };

/** Facts about the engine recorded with every result (env.json). */
export interface EngineInfo {
  /**
   * `docker` or `podman`, from the components `GET /version` lists (Podman names `Podman
   * Engine`); `namespace` for the runtime without an engine (./namespace.ts).
   */
  name: 'docker' | 'podman' | 'namespace';
  /** Engine version, e.g. `20.10.24+dfsg1`; for the namespace runtime, the util-linux version of its `unshare`. */
  serverVersion: string;
  /** Engine API version, e.g. `1.41`; null for the namespace runtime, which speaks no Engine API. */
  apiVersion: string | null;
  /** `1` or `2`: the cgroup version the engine runs containers under. */
  cgroupVersion: 1 | 2;
  /** `cgroupfs` or `systemd`. */
  cgroupDriver: string;
  /** Storage driver, e.g. `overlay2`. */
  storageDriver: string;
  /** Kernel release as the engine reports it. */
  kernelVersion: string;
  /** Logical CPUs the engine sees (count). */
  cpus: number;
  /** Whether the engine has an init binary for `HostConfig.Init` (`docker run --init`). */
  initBinary: string | null;
  /**
   * What `HostConfig.Init` runs as PID 1, in words: Docker's `docker-init` (tini built into the
   * engine), or Podman's catatonit bind-mounted at `/run/podman-init` (PID 1's comm then reads
   * `podman-init`).
   */
  engineInit: string;
  /** PID 1's comm under `HostConfig.Init`: `docker-init`, or `podman-init` (Podman's catatonit); null: no engine init (the namespace runtime). */
  engineInitComm: 'docker-init' | 'podman-init' | null;
}

/**
 * Where the client connects: `DOCKER_HOST` when set (`unix:///path`, or `tcp://host:port`
 * without TLS; port 2375 when omitted, Docker's plain-TCP port), else {@link DEFAULT_SOCKET}.
 * @throws ReapbenchError (exit code 2) for any other `DOCKER_HOST` (another scheme, no host).
 */
export function engineEndpoint(env: NodeJS.ProcessEnv = process.env): EngineEndpoint {
  return engineEndpoints(env, 'docker')[0]!;
}

/**
 * Where the client may connect for `choice`, in the order to try: `docker`, `DOCKER_HOST` or
 * {@link DEFAULT_SOCKET}; `podman`, `CONTAINER_HOST` (Podman's variable, same forms) or
 * {@link PODMAN_SOCKET}; `auto`, `DOCKER_HOST` when set, else `CONTAINER_HOST` when set, else
 * both default sockets (Docker's first).
 * @throws ReapbenchError (exit code 2) for an address reapbench cannot use.
 */
export function engineEndpoints(env: NodeJS.ProcessEnv, choice: EngineChoice): EngineEndpoint[] {
  const docker = env.DOCKER_HOST?.trim();
  const podman = env.CONTAINER_HOST?.trim();
  if (choice === 'docker' || (choice === 'auto' && docker))
    return [docker ? fromAddress(docker, 'DOCKER_HOST') : { socketPath: DEFAULT_SOCKET, label: DEFAULT_SOCKET, fromEnv: false }];
  if (choice === 'podman' || (choice === 'auto' && podman))
    return [podman ? fromAddress(podman, 'CONTAINER_HOST') : { socketPath: PODMAN_SOCKET, label: PODMAN_SOCKET, fromEnv: false }];
  return [
    { socketPath: DEFAULT_SOCKET, label: DEFAULT_SOCKET, fromEnv: false },
    { socketPath: PODMAN_SOCKET, label: PODMAN_SOCKET, fromEnv: false },
  ];
}

/** An address from an environment variable: `unix:///path`, or `tcp://host[:port]` (2375 when omitted). */
function fromAddress(host: string, variable: string): EngineEndpoint {
  const label = `${host} (from ${variable})`;
  if (host.startsWith('unix://') && host.length > 'unix://'.length)
    return { socketPath: host.slice('unix://'.length), label, fromEnv: true };
  const tcp = /^tcp:\/\/([^:/]+|\[[0-9a-fA-F:]+\])(?::(\d{1,5}))?\/?$/.exec(host);
  if (tcp) return { host: tcp[1]!.replace(/^\[|\]$/g, ''), port: Number(tcp[2] ?? 2375), label, fromEnv: true };
  throw usageError(
    `${variable}=${host} is not an address reapbench can use: set it to unix:///path/to/engine.sock or tcp://host:port, or unset it`,
  );
}

/**
 * Translate a dockerode / socket error into a {@link ReapbenchError} whose message says what to
 * do. Errors that are already ReapbenchErrors pass through unchanged.
 * @param what what reapbench was doing, for the message (e.g. `create container`).
 */
export function mapEngineError(err: unknown, what: string, endpoint?: EngineEndpoint): ReapbenchError {
  if (err instanceof ReapbenchError) return err;
  const at = endpoint ?? safeEndpoint();
  const e = err as { code?: string; statusCode?: number; json?: { message?: string } | null; message?: string; reason?: string };
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === 'EHOSTUNREACH') {
    const podman = isPodman(at);
    const variable = podman ? 'CONTAINER_HOST' : 'DOCKER_HOST';
    const script = podman ? 'scripts/podman.sh' : 'scripts/engine.sh';
    const todo = at.fromEnv
      ? `check ${variable}, or unset it to use ${podman ? PODMAN_SOCKET : DEFAULT_SOCKET}`
      : `start one (as root: bash ${script}; otherwise: sudo bash ${script}), then run again`;
    return new ReapbenchError(`no ${podman ? 'Podman service' : 'Docker engine'} answers at ${at.label}: ${todo}`, { cause: err });
  }
  if (e?.code === 'EACCES' || e?.code === 'EPERM') {
    return new ReapbenchError(
      `permission denied on ${at.label}: run as root or add your user to the docker group (sudo usermod -aG docker $USER), then log in again`,
      { cause: err },
    );
  }
  const engineMessage = (e?.json?.message ?? e?.reason ?? e?.message ?? String(err)).trim().split('\n')[0];
  if (e?.statusCode === 404 && /no such image/i.test(engineMessage ?? '')) {
    return new ReapbenchError(`${what}: image missing (${engineMessage}); run npm run bench once to build it`, { cause: err });
  }
  if (typeof e?.statusCode === 'number') {
    return new ReapbenchError(`${what}: Docker engine error ${e.statusCode}: ${engineMessage}`, { cause: err });
  }
  return new ReapbenchError(`${what}: ${engineMessage}`, { cause: err });
}

/** Whether `at` is Podman's service: its default socket, or the address CONTAINER_HOST gave. */
function isPodman(at: EngineEndpoint): boolean {
  return at.label.includes('CONTAINER_HOST') || ('socketPath' in at && at.socketPath === PODMAN_SOCKET);
}

/** {@link engineEndpoint}, or the default socket when `DOCKER_HOST` is unusable (for messages only). */
function safeEndpoint(): EngineEndpoint {
  try {
    return engineEndpoint();
  } catch {
    return { socketPath: DEFAULT_SOCKET, label: DEFAULT_SOCKET, fromEnv: false };
  }
}

/** `--engine` as the CLI set it for this process (see {@link useEngine}); `auto` until then. */
let chosen: EngineChoice = 'auto';

/** The `--engine` this process was given ({@link useEngine}; `auto` until then). */
export function chosenEngine(): EngineChoice {
  return chosen;
}

/**
 * Set the engine every later {@link connectEngine} of this process uses (the CLI's `--engine`).
 * @throws ReapbenchError (exit code 2) for a value not in {@link ENGINE_CHOICES}.
 */
export function useEngine(choice: string): void {
  if (!(ENGINE_CHOICES as readonly string[]).includes(choice))
    throw usageError(`Expected \`--engine\` to be one of ${ENGINE_CHOICES.join(', ')}, got \`${choice}\``);
  chosen = choice as EngineChoice;
}

/**
 * Create a client for the engine {@link useEngine} chose and check that it answers `GET /_ping`
 * within `timeoutMs`; with `auto` and no address in the environment, the first of Docker's and
 * Podman's default sockets that answers.
 * @throws ReapbenchError when no engine answers or the socket is not accessible.
 */
export async function connectEngine(timeoutMs = 5_000): Promise<Docker> {
  return (await connectClient(timeoutMs)).docker;
}

/**
 * {@link connectEngine}, also saying where the engine that answered is.
 * @returns the client and the label of its address (a socket path, or `host:port`).
 * @throws as {@link connectEngine}.
 */
export async function connectClient(timeoutMs = 5_000): Promise<{ docker: Docker; label: string }> {
  const candidates = engineEndpoints(process.env, chosen);
  let firstError: unknown;
  for (const at of candidates) {
    // With two default sockets, one that does not exist is not worth a connection attempt.
    if (candidates.length > 1 && 'socketPath' in at && !existsSync(at.socketPath)) continue;
    try {
      return { docker: await connectAt(at, timeoutMs), label: at.label };
    } catch (err) {
      firstError ??= err;
    }
  }
  if (firstError) throw firstError;
  throw new ReapbenchError(
    `no container engine answers at ${DEFAULT_SOCKET} (Docker) or ${PODMAN_SOCKET} (Podman): start one (as root: bash scripts/engine.sh, or bash scripts/podman.sh; otherwise with sudo), then run again`,
  );
}

/** {@link connectEngine} at one address. */
async function connectAt(at: EngineEndpoint, timeoutMs: number): Promise<Docker> {
  const docker = new Docker(
    'socketPath' in at ? { socketPath: at.socketPath, timeout: 0 } : { host: at.host, port: at.port, protocol: 'http', timeout: 0 },
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ReapbenchError(
                isPodman(at)
                  ? `the Podman service at ${at.label} did not answer a ping within ${timeoutMs} ms; check that it is healthy, or restart it (bash scripts/podman.sh)`
                  : `the Docker engine at ${at.label} did not answer a ping within ${timeoutMs} ms; check that dockerd is healthy, or restart it (bash scripts/engine.sh)`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404)
      throw new ReapbenchError(`something answers at ${at.label}, but not a Docker engine (GET /_ping: 404); check DOCKER_HOST`, {
        cause: err,
      });
    throw mapEngineError(err, 'ping the Docker engine', at);
  } finally {
    clearTimeout(timer);
  }
  return docker;
}

/**
 * Read the engine facts reapbench records and depends on (cgroup version, init binary).
 * @throws ReapbenchError on engine errors.
 */
export async function engineInfo(docker: Docker): Promise<EngineInfo> {
  try {
    const [info, version] = await Promise.all([docker.info(), docker.version()]);
    const cgroupVersion = String(info.CgroupVersion ?? '1') === '2' ? 2 : 1;
    const components = ((version as { Components?: Array<{ Name?: string }> }).Components ?? []).map((c) => String(c.Name ?? ''));
    const name = components.some((c) => /podman/i.test(c)) ? 'podman' : 'docker';
    return {
      name,
      engineInit: name === 'podman' ? 'catatonit at /run/podman-init (comm podman-init)' : 'docker-init (tini, built into the engine)',
      engineInitComm: name === 'podman' ? 'podman-init' : 'docker-init',
      serverVersion: String(version.Version),
      apiVersion: String(version.ApiVersion),
      cgroupVersion,
      cgroupDriver: String(info.CgroupDriver ?? 'unknown'),
      storageDriver: String(info.Driver ?? 'unknown'),
      kernelVersion: String(info.KernelVersion ?? 'unknown'),
      cpus: Number(info.NCPU ?? 1),
      initBinary: info.InitBinary ? String(info.InitBinary) : null,
    };
  } catch (err) {
    throw mapEngineError(err, 'read engine info');
  }
}
