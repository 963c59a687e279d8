/**
 * Notices that the engine went away while a container runs. The Engine API calls a run waits on
 * (the container's wait, its attach stream) are long requests on one socket: an engine that was
 * killed or hangs can leave them pending for ever, and the harness with them. So while a run is
 * under way the engine is pinged (`GET /_ping`) every second: a refused or reset connection, or
 * two pings in a row without an answer within 2 s, mean it is gone, within ~5 s in the worst case.
 */
import type Docker from 'dockerode';
import { EngineLostError } from '../errors.js';

/** A refused or broken connection: the engine's socket is gone, not slow (Node's errno codes). */
const GONE_CODES = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

/** The engine's name for messages: Podman when the client talks to Podman's socket, else Docker. */
export function engineNameOf(docker: Docker): string {
  const m = (docker as unknown as { modem?: { socketPath?: unknown; host?: unknown } }).modem;
  return /podman/i.test(String(m?.socketPath ?? m?.host ?? '')) ? 'Podman' : 'Docker';
}

/** Timings of an {@link EngineWatch}, ms and counts. */
export interface EngineWatchOptions {
  /** Time between pings, ms (default 1000). */
  everyMs?: number;
  /** A ping not answered within this is a miss, ms (default 2000). */
  timeoutMs?: number;
  /** Misses in a row that mean the engine is gone (default 2). */
  misses?: number;
}

/** Pings one engine until stopped; {@link EngineWatch.lost} rejects when it is gone. */
export class EngineWatch {
  /**
   * Rejects with an EngineLostError (`phase()` names what was under way) once the engine is gone;
   * never resolves. Handled here, so that nobody has to listen to it.
   */
  readonly lost: Promise<never>;
  private timer: NodeJS.Timeout | null = null;
  private misses = 0;
  private pinging = false;
  private fail!: (err: EngineLostError) => void;
  private gone: EngineLostError | null = null;

  /**
   * @param docker the engine's client.
   * @param phase what is under way, asked at the moment the loss is seen.
   */
  constructor(
    private readonly docker: Docker,
    private readonly phase: () => string,
    private readonly opts: EngineWatchOptions = {},
  ) {
    this.lost = new Promise<never>((_, reject) => (this.fail = reject));
    this.lost.catch(() => undefined);
    this.timer = setInterval(() => void this.ping(), opts.everyMs ?? 1000);
    this.timer.unref();
  }

  /** The loss, once seen (null while the engine answers). */
  get error(): EngineLostError | null {
    return this.gone;
  }

  /**
   * `p`, or the loss if the engine goes away first.
   * @throws EngineLostError when the engine is gone before `p` settles; what `p` throws otherwise.
   */
  guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.lost]);
  }

  /**
   * One ping now, outside the schedule: whether the engine answers within `timeoutMs`. An
   * interrupted run asks this before it waits on the engine at all, so that a hung engine costs
   * it `timeoutMs`, not the grace periods of a live one.
   * @returns true when the engine answered in time; false when it did not, refused, or is known gone.
   */
  async answers(timeoutMs: number): Promise<boolean> {
    if (this.gone) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.docker.ping().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop pinging (idempotent). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async ping(): Promise<void> {
    if (this.pinging || this.gone) return;
    this.pinging = true;
    const timeoutMs = this.opts.timeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.docker.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(Object.assign(new Error(`no answer to a ping within ${timeoutMs / 1000} s`), { code: 'TIMEOUT' })),
            timeoutMs,
          );
        }),
      ]);
      this.misses = 0;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      this.misses++;
      if (GONE_CODES.has(e.code ?? '') || this.misses >= (this.opts.misses ?? 2)) {
        this.gone = new EngineLostError(engineNameOf(this.docker), this.phase(), (e.message ?? String(err)).split('\n')[0]!, {
          cause: err,
        });
        this.stop();
        this.fail(this.gone);
      }
    } finally {
      clearTimeout(timer);
      this.pinging = false;
    }
  }
}
