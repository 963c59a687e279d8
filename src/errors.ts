/**
 * The one error type that reapbench's harness throws for conditions a user can act on.
 *
 * `message` is one line that says what went wrong and what to do; `cause` keeps the underlying
 * error for `--verbose`. The CLI prints `message` alone and exits with `exitCode`.
 */
import { UsageError } from './validate.js';

export class ReapbenchError extends Error {
  /** Process exit code the CLI uses for this error (2: bad input, 1: environment/runtime). */
  readonly exitCode: number;

  constructor(message: string, options: { cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReapbenchError';
    this.exitCode = options.exitCode ?? 1;
  }
}

/**
 * The container engine went away (stopped answering, or its socket closed) while a run was
 * under way: the run cannot go on, and what was measured so far is kept (exit code 1).
 * `message`: `the Docker engine stopped answering during <phase> (<cause>)`.
 */
export class EngineLostError extends ReapbenchError {
  /**
   * @param engine `Docker` or `Podman`.
   * @param phase what reapbench was doing (e.g. `a run of tini`, `create container`).
   * @param reason what was seen (e.g. `connect ECONNREFUSED /var/run/docker.sock`, `no answer to a ping within 2 s`).
   */
  constructor(
    readonly engine: string,
    readonly phase: string,
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(`the ${engine} engine stopped answering during ${phase} (${reason})`, options);
    this.name = 'EngineLostError';
  }
}

/** A bad command-line option or configuration value (exit code 2). */
export function usageError(message: string): ReapbenchError {
  return new ReapbenchError(message, { exitCode: 2 });
}

/**
 * Run `check` (a src/validate.ts check, which throws the dependency-free UsageError) and turn its
 * UsageError into the harness's ReapbenchError with exit code 2, message unchanged.
 * @returns what `check` returns.
 * @throws ReapbenchError (exit code 2) for a UsageError; any other error as it is.
 */
export function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw err instanceof UsageError ? usageError(err.message) : err;
  }
}

/**
 * Render an error for the terminal: one line (`reapbench: <message>`) unless `verbose`, in
 * which case the stack and the chain of causes follow.
 */
export function formatError(err: unknown, verbose: boolean): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const head = `reapbench: ${e.message.split('\n')[0]}`;
  if (!verbose) return head;
  const lines = [head, e.stack ?? ''];
  let cause: unknown = e.cause;
  while (cause !== undefined && cause !== null) {
    const c = cause instanceof Error ? cause : new Error(String(cause));
    lines.push(`caused by: ${c.stack ?? c.message}`);
    cause = c.cause;
  }
  return lines.join('\n');
}
