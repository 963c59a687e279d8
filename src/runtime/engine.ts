/**
 * Connection to the Docker Engine (through dockerode) and the mapping of its failures to
 * one-line, actionable errors.
 */
import Docker from 'dockerode';
import { ReapbenchError } from '../errors.js';

/** Default Engine API socket. `DOCKER_HOST=unix:///path` overrides it. */
export const DEFAULT_SOCKET = '/var/run/docker.sock';

/** Facts about the engine recorded with every result (env.json). */
export interface EngineInfo {
  /** Engine version, e.g. `20.10.24+dfsg1`. */
  serverVersion: string;
  /** Engine API version, e.g. `1.41`. */
  apiVersion: string;
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
}

/** Where the client connects: the socket path, from `DOCKER_HOST` or the default. */
export function socketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host && host.startsWith('unix://')) return host.slice('unix://'.length);
  return DEFAULT_SOCKET;
}

/**
 * Translate a dockerode / socket error into a {@link ReapbenchError} whose message says what to
 * do. Errors that are already ReapbenchErrors pass through unchanged.
 * @param what what reapbench was doing, for the message (e.g. `create container`).
 */
export function mapEngineError(err: unknown, what: string, socket = socketPath()): ReapbenchError {
  if (err instanceof ReapbenchError) return err;
  const e = err as { code?: string; statusCode?: number; json?: { message?: string } | null; message?: string; reason?: string };
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED') {
    return new ReapbenchError(
      `no Docker engine answers on ${socket}: start one (on Debian/Ubuntu: sudo bash scripts/engine.sh), then run again`,
      { cause: err },
    );
  }
  if (e?.code === 'EACCES' || e?.code === 'EPERM') {
    return new ReapbenchError(
      `permission denied on ${socket}: run as root or add your user to the docker group (sudo usermod -aG docker $USER), then log in again`,
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

/**
 * Create a client and check that the engine answers `GET /_ping` within `timeoutMs`.
 * @throws ReapbenchError when no engine answers or the socket is not accessible.
 */
export async function connectEngine(timeoutMs = 5_000): Promise<Docker> {
  const socket = socketPath();
  const docker = new Docker({ socketPath: socket, timeout: 0 });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ReapbenchError(
                `the Docker engine on ${socket} did not answer a ping within ${timeoutMs} ms; check that dockerd is healthy (sudo bash scripts/engine.sh)`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    throw mapEngineError(err, 'ping the Docker engine', socket);
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
    return {
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
