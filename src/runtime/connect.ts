/**
 * Which runtime `--engine` gives: an engine of the Docker Engine API (./docker.ts) or the
 * namespace runtime (./namespace.ts), and, for `auto`, why.
 */
import { ReapbenchError } from '../errors.js';
import { connectDockerRuntime } from './docker.js';
import { chosenEngine, DEFAULT_SOCKET, PODMAN_SOCKET } from './engine.js';
import { NamespaceRuntime, namespaceUnavailable, type HostImage } from './namespace.js';
import type { ContainerRuntime } from './runtime.js';

/** A runtime, with one line saying which it is and why it was chosen. */
export interface ConnectedRuntime {
  runtime: ContainerRuntime;
  /** E.g. `namespace runtime (auto: no container engine answers: …; running as root)`. */
  why: string;
}

/**
 * The runtime line's clause for an engine: `docker at unix:///var/run/docker.sock (from
 * DOCKER_HOST; --engine auto: …)`. An address's label may end with its own parenthesis (where
 * it came from); the choice joins it, so that the line reads as one clause, not two
 * parentheses in a row. Pure.
 * @param name the engine's name (`docker`, `podman`).
 * @param label the endpoint's label: an address, maybe followed by ` (from <variable>)`.
 * @param clause why this engine: `--engine docker`, `--engine auto: …`.
 */
export function runtimeWhy(name: string, label: string, clause: string): string {
  const own = / \(([^()]*)\)$/.exec(label);
  return own ? `${name} at ${label.slice(0, own.index)} (${own[1]}; ${clause})` : `${name} at ${label} (${clause})`;
}

/**
 * Connect to the runtime the CLI's `--engine` chose (`useEngine` in ./engine.ts): `docker` and
 * `podman` as before; `namespace` the runtime without an engine; `auto` the first engine that
 * answers (DOCKER_HOST, CONTAINER_HOST, Docker's socket, Podman's), else, as root, the
 * namespace runtime.
 * @param hostImage what stands in for the app image in a namespace run (null: nothing at /app).
 * @param timeoutMs how long an engine has to answer its ping, ms.
 * @throws ReapbenchError (one line): `namespace` where it cannot run (not root, no pids
 *   cgroup); `auto` with no engine and no root, naming the three ways out; an engine's own
 *   connection errors for `docker` and `podman`.
 */
export async function connectRuntime(hostImage: () => HostImage | null, timeoutMs = 5_000): Promise<ConnectedRuntime> {
  const choice = chosenEngine();
  if (choice === 'namespace') {
    const why = namespaceUnavailable();
    if (why) throw new ReapbenchError(`--engine namespace: ${why}; run as root, or use a container engine (--engine docker)`);
    return { runtime: new NamespaceRuntime(hostImage()), why: 'namespace runtime (--engine namespace)' };
  }
  if (choice !== 'auto') {
    const runtime = await connectDockerRuntime(timeoutMs);
    return { runtime, why: runtimeWhy((await runtime.info()).name, runtime.label, `--engine ${choice}`) };
  }
  let engineError: string;
  try {
    const runtime = await connectDockerRuntime(timeoutMs);
    return { runtime, why: runtimeWhy((await runtime.info()).name, runtime.label, '--engine auto: the first engine that answered') };
  } catch (err) {
    // An address the user set (DOCKER_HOST, CONTAINER_HOST) that does not answer is their choice: say so, do not fall back.
    if (process.env.DOCKER_HOST?.trim() || process.env.CONTAINER_HOST?.trim()) throw err;
    engineError = (err as Error).message.split('\n')[0]!;
  }
  const why = namespaceUnavailable();
  if (why)
    throw new ReapbenchError(
      `no container engine answers at ${DEFAULT_SOCKET} or ${PODMAN_SOCKET}, and the namespace runtime cannot run (${why}): start Docker (sudo bash scripts/engine.sh), start Podman (sudo bash scripts/podman.sh), or run as root (sudo npm run bench) to use --engine namespace`,
    );
  return {
    runtime: new NamespaceRuntime(hostImage()),
    why: `namespace runtime (--engine auto: ${engineError.replace(/: start one.*$/, '')}; running as root)`,
  };
}
