/**
 * One run of a user's image under one PID 1 choice, measured from outside the container: the
 * image's own behaviour for the duration, optionally a command exec'd into it every N s (what
 * health probes and CI steps do), then `docker stop` with a grace period. The figures: zombies
 * left when the stop was requested, who held them, fork failures (EAGAIN), the stop latency and
 * PID 1's exit status.
 *
 * Two methods ({@link ImageMethod}): `ebpf`, the kernel instrument (src/tracer/), exact, every
 * exit and reap, the failing comm, with the host's /proc as a second count at the stop; `host`,
 * where the kernel instrument cannot load, what the host can read without it every
 * {@link HOST_SAMPLE_MS} ms: the container's zombies in /proc and its pids cgroup's
 * `pids.events`. Sampled, so a zombie reaped between two readings is not seen, the first fork
 * failure is dated to the reading after it and its comm is unknown, and adopted orphans are not
 * counted.
 */
import { readdirSync, statSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { ImageFacts } from '../model/image.js';
import type { RunRecord } from '../model/records.js';
import { pidsCgroupOfProcess, readPids, type PidsCgroup } from '../procfs/pids-cgroup.js';
import { readStat } from '../procfs/stat.js';
import type { ContainerRun } from '../runtime/container.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import type { TraceMatch } from '../tracer/index.js';
import type { Injection } from './image-target.js';
import { recordHead, type PlannedRun } from './matrix.js';
import { underTracer } from './runner.js';
import { adoptedOrphans, kernelRecordFields, limitFailures, type Pid1Usage } from './traced.js';

/** `--exec-every`: a command exec'd into the container periodically through the Engine API. */
export interface ExecWorkload {
  /** argv run inside the container (no shell unless it names one). */
  argv: string[];
  /** Period, s (> 0): the next exec starts this long after the previous one started. */
  everyS: number;
  /**
   * Give up waiting for one exec after this many s (> 0); null: wait for it. The Engine API has
   * no call to kill an exec'd process, so a timed-out exec goes on running in the container,
   * exactly as a probe does when its runtime's timeout expires: its children may end up orphans.
   */
  timeoutS: number | null;
}

/** How a run of an image is measured (module doc): the kernel instrument, or the host's readings alone. */
export type ImageMethod = 'ebpf' | 'host';

/** Period of the `host` method's readings, ms. */
export const HOST_SAMPLE_MS = 100;

/** What the `host` method read while the container ran. */
export interface HostSamples {
  /** Reading period, ms. */
  periodMs: number;
  /** One point per reading: µs since t0, zombies in the container's PID namespace, `pids.current` (tasks; null: unread). */
  points: Array<{ us: number; zombies: number; pidsCurrent: number | null }>;
  /** The first reading at which `pids.events` `max` was above 0, µs since t0; null: none. */
  forkFailureUs: number | null;
  /** `pids.events` `max` at the last reading: forks the limit refused (count); null: never read. */
  rejections: number | null;
}

/** What one run needs besides its plan. */
export interface ImageRunContext {
  /** How the run is measured (module doc). */
  method: ImageMethod;
  /** Where the image runs. */
  runtime: ContainerRuntime;
  /** Image reference. */
  image: string;
  /** `docker stop` grace period, s (integer ≥ 0). */
  stopGraceS: number;
  /** The periodic exec, or null. */
  exec: ExecWorkload | null;
  /** Hard timeout of one container run, s. */
  runTimeoutS: number;
  /** Aborting kills the container; the run is then recorded as aborted. */
  signal?: AbortSignal;
}

/** Facts of a run that did not run anything. */
export function skippedFacts(run: Pick<PlannedRun, 'init' | 'pids_limit' | 'repetition'>, reason: string): ImageFacts {
  return {
    init: run.init,
    pids_limit: run.pids_limit,
    repetition: run.repetition,
    status: 'skipped',
    reason,
    method: null,
    pid1_source: null,
    zombies_at_stop: null,
    zombies_at_stop_proc: null,
    held_by: null,
    adopted_orphans: null,
    fork_failure_s: null,
    fork_failure_comm: null,
    stop_latency_ms: null,
    exit_code: null,
    execs: 0,
    exec_timeouts: 0,
    exec_not_found: 0,
    exec_error: null,
  };
}

/**
 * How long a zombie must stay unreaped to count as left at the stop, ms. A reaping init reaps
 * within microseconds to a few milliseconds; a workload that forks all the time has, at any
 * instant, a zombie its init has not reached yet, which is not a leak. 100 ms is far above any
 * reaping init's latency measured here and far below a run.
 */
export const LINGER_MS = 100;

/** The zombies of one PID namespace in the host's /proc now: host pid → parent's host pid. */
function zombieScan(pidNsInode: number): Map<number, number> {
  const zombies = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let ino: number;
    try {
      ino = statSync(`/proc/${name}/ns/pid`).ino;
    } catch {
      continue; // gone meanwhile
    }
    if (ino !== pidNsInode) continue;
    const s = readStat(Number(name));
    if (s?.state === 'Z') zombies.set(s.pid, s.ppid);
  }
  return zombies;
}

/** A scan's count and the comm of the parent holding most of its zombies (null when none). */
function summarize(zombies: Map<number, number>): { zombies: number; heldBy: string | null } {
  const byParent = new Map<number, number>();
  for (const ppid of zombies.values()) byParent.set(ppid, (byParent.get(ppid) ?? 0) + 1);
  const top = [...byParent.entries()].sort((a, b) => b[1] - a[1])[0];
  return { zombies: zombies.size, heldBy: top ? (readStat(top[0])?.comm ?? null) : null };
}

/**
 * Zombies of one PID namespace read from the host's /proc: every process whose
 * `/proc/<pid>/ns/pid` is that namespace (its inode) and whose state is `Z`, grouped by the
 * parent's comm. A second count beside the kernel's events, independent of them.
 * @returns the count and the comm holding most (null when none).
 */
export function procZombies(pidNsInode: number): { zombies: number; heldBy: string | null } {
  return summarize(zombieScan(pidNsInode));
}

/**
 * The zombies of {@link procZombies} that are still zombies {@link LINGER_MS} later (the same
 * pid, which the kernel cannot give to another process while the zombie holds it): the ones
 * left, not the ones a reaping init was about to reap.
 */
export async function lingeringProcZombies(pidNsInode: number): Promise<{ zombies: number; heldBy: string | null }> {
  const first = zombieScan(pidNsInode);
  if (first.size === 0) return summarize(first);
  await delay(LINGER_MS);
  const second = zombieScan(pidNsInode);
  return summarize(new Map([...first].filter(([pid]) => second.has(pid))));
}

/**
 * Zombies at `us` (µs since t0) from the kernel's events, and the parent comm holding most of
 * them. A zombie reaped by a wait within `lingerUs` after `us` is not counted (see
 * {@link LINGER_MS}); one released when its init died is, whenever that was: the init did not
 * reap it.
 */
export function kernelZombiesAt(match: TraceMatch, us: number, lingerUs = 0): { zombies: number; heldBy: string | null } {
  const byParent = new Map<string, number>();
  const pid1 = match.processes.find((p) => p.nsPid === 1)?.comm ?? 'PID 1';
  let zombies = 0;
  for (const p of match.processes) {
    if (p.exitUs === null || p.exitUs > us || !p.parentAtExit) continue;
    // A zombie freed without a wait is dated by the matcher at its parent's exit; that holds when
    // the parent was the namespace's init (the kernel frees its zombies as it dies). A zombie
    // whose parent was another process outlived it: re-parented as a zombie to PID 1
    // (`kernel/exit.c` `forget_original_parent()`), it stayed until PID 1's own end.
    const byInit = p.parentAtExit.nsPid === 1;
    if (p.reapUs !== null && p.reapUs <= us + lingerUs) continue;
    if (p.reapUs === null && byInit && p.releasedUs !== null && p.releasedUs <= us) continue;
    zombies++;
    const holder = p.reapUs === null && !byInit && p.releasedUs !== null ? pid1 : p.parentAtExit.comm;
    byParent.set(holder, (byParent.get(holder) ?? 0) + 1);
  }
  const top = [...byParent.entries()].sort((a, b) => b[1] - a[1])[0];
  return { zombies, heldBy: top?.[0] ?? null };
}

/** True while the host process `pid` runs (gone or a zombie: false). */
function alive(pid: number): boolean {
  const s = readStat(pid);
  return s !== null && s.state !== 'Z';
}

/** Output an exec'd command gives when it could not be started (runc's message through the engine). */
const NOT_FOUND = /executable file not found|no such file or directory|exec failed|permission denied/i;

/**
 * Run the image once under `injection` with the plan's pids limit and duration, the kernel
 * instrument attached from before the start.
 * @returns the run's {@link RunRecord} (scenario `image`, rate and lifetime 0) and its
 *   {@link ImageFacts}; a run whose tracer could not start is `failed` with the reason.
 * @throws ReapbenchError for engine errors (image gone, daemon unreachable).
 */
export async function runImageOnce(
  ctx: ImageRunContext,
  run: PlannedRun,
  injection: Extract<Injection, { argv: string[] }>,
): Promise<{ record: RunRecord; facts: ImageFacts }> {
  const startedAt = new Date().toISOString();
  const facts: ImageFacts = { ...skippedFacts(run, ''), status: 'ran', reason: null, pid1_source: injection.source, method: ctx.method };
  let t0Ns: bigint | null = null;
  let stopUs: number | null = null;
  let execError: string | null = null;
  let heldAtStop: string | null = null;
  const host: HostSamples | null =
    ctx.method === 'host' ? { periodMs: HOST_SAMPLE_MS, points: [], forkFailureUs: null, rejections: null } : null;
  const traced = await underTracer(
    ctx,
    {
      image: ctx.image,
      // The image's entrypoint reset ([""]: the Engine API's "reset to none") and the whole argv
      // as cmd: the engine then runs exactly this argv.
      entrypoint: [''],
      cmd: injection.argv,
      init: injection.engineInit,
      mounts: injection.mounts,
      pidsLimit: run.pids_limit,
      timeoutMs: ctx.runTimeoutS * 1000,
      stopAfterMs: 0,
      stopGraceS: ctx.stopGraceS,
      labels: { 'reapbench.init': run.init, 'reapbench.scenario': 'image', 'reapbench.phase': 'run' },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    },
    async (live) => {
      t0Ns = process.hrtime.bigint();
      const until = performance.now() + run.duration_s * 1000;
      const cg = host ? pidsCgroupOfProcess(live.hostPid) : null;
      let nextSample = performance.now();
      const execs: Promise<void>[] = [];
      let nextExec = performance.now() + (ctx.exec ? ctx.exec.everyS * 1000 : Infinity);
      // The image's own behaviour for the duration; ends early when PID 1 exits or on abort.
      while (performance.now() < until && alive(live.hostPid) && !ctx.signal?.aborted) {
        if (host && performance.now() >= nextSample) {
          nextSample += HOST_SAMPLE_MS;
          sampleHost(host, live.pidNs, cg, t0Ns);
        }
        if (ctx.exec && performance.now() >= nextExec) {
          nextExec += ctx.exec.everyS * 1000;
          facts.execs++;
          execs.push(
            ctx.runtime.exec(live.id, { argv: ctx.exec.argv, timeoutS: ctx.exec.timeoutS }).then(
              (r) => {
                if (r.timedOut) facts.exec_timeouts++;
                else if ((r.exitCode === 126 || r.exitCode === 127) && NOT_FOUND.test(r.output)) {
                  facts.exec_not_found++;
                  execError ??= r.output.trim().split('\n').pop()?.slice(0, 300) ?? '';
                }
              },
              (err: Error) => {
                facts.exec_not_found++;
                execError ??= err.message.split('\n')[0]!;
              },
            ),
          );
        }
        const nextHost = host ? nextSample - performance.now() : Infinity;
        await delay(Math.max(1, Math.min(50, until - performance.now(), nextExec - performance.now(), nextHost)));
      }
      await Promise.all(execs);
      if (alive(live.hostPid)) {
        stopUs = Number(process.hrtime.bigint() - t0Ns) / 1000;
        if (host) sampleHost(host, live.pidNs, cg, t0Ns);
        const proc = await lingeringProcZombies(live.pidNs);
        facts.zombies_at_stop_proc = proc.zombies;
        heldAtStop = proc.heldBy;
      }
    },
    { tracer: ctx.method === 'ebpf' },
  );
  facts.exec_error = execError;
  if ('notRun' in traced) {
    return {
      record: imageRecord(run, startedAt, traced.notRun, null, { cpuMs: null, rssKib: null }, `kernel instrument: ${traced.why}`),
      facts: { ...facts, status: 'failed', reason: `kernel instrument: ${traced.why}` },
    };
  }
  const outcome = traced.match(t0Ns);
  const match = 'match' in outcome ? outcome.match : null;
  const c = traced.container;
  let reason: string | null = null;
  // PID 1 gone before the stop: also when it was gone before its namespace could be read.
  if (stopUs === null && !c.aborted && !c.timedOut && c.exitCode !== null)
    reason = `the image's PID 1 exited before the stop (exit ${c.exitCode}): ${lastLine(c.stderr) || lastLine(c.stdout) || 'no output'}`;
  else if (!match && !host) reason = `kernel instrument: ${'unavailable' in outcome ? outcome.unavailable : 'no trace'}`;
  facts.exit_code = c.exitCode;
  facts.stop_latency_ms = stopUs === null ? null : c.stopLatencyMs === null ? null : Math.round(c.stopLatencyMs);
  if (match) {
    const atStop = kernelZombiesAt(match, stopUs ?? Infinity, LINGER_MS * 1000);
    facts.zombies_at_stop = atStop.zombies;
    facts.held_by = atStop.heldBy;
    facts.adopted_orphans = match.processes.filter((p) => p.orphan && p.nsPid !== 1).length;
    const ff = limitFailures(match)[0] ?? null;
    facts.fork_failure_s = ff ? Number((ff.us / 1e6).toFixed(3)) : null;
    facts.fork_failure_comm = ff?.comm ?? null;
  }
  if (host) {
    facts.zombies_at_stop = facts.zombies_at_stop_proc;
    facts.held_by = heldAtStop;
    facts.fork_failure_s = host.forkFailureUs === null ? null : Number((host.forkFailureUs / 1e6).toFixed(3));
  }
  if (reason !== null || c.aborted || c.timedOut) {
    facts.status = 'failed';
    facts.reason = reason ?? (c.aborted ? 'interrupted' : 'container exceeded the run timeout and was killed');
  }
  return { record: imageRecord(run, startedAt, c, match, traced.pid1, reason, facts.zombies_at_stop, host), facts };
}

/**
 * One reading of the `host` method: the container's zombies from the host's /proc, and its pids
 * cgroup's `pids.current` and `pids.events` `max` (the first reading above 0 dates the first
 * refused fork; the pids controller refuses with EAGAIN, `kernel/cgroup/pids.c`).
 */
function sampleHost(host: HostSamples, pidNs: number, cg: PidsCgroup | null, t0Ns: bigint): void {
  const us = Number(process.hrtime.bigint() - t0Ns) / 1000;
  const reading = cg ? readPids(cg) : null;
  host.points.push({ us, zombies: procZombies(pidNs).zombies, pidsCurrent: reading?.current ?? null });
  if (reading?.eventsMax != null) {
    host.rejections = reading.eventsMax;
    if (reading.eventsMax > 0 && host.forkFailureUs === null) host.forkFailureUs = us;
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? '').trim().slice(0, 300);
}

/**
 * The {@link RunRecord} of an image run (pure): the fields that fit an image's run from the
 * kernel's match, or with `host` from the host's readings (zombies peak and series sampled, the
 * first refused fork dated to the reading after it, no latency, no adopted-orphan count); those
 * of the synthetic load that have no meaning here (rate, lifetime, budget) are 0 or null.
 * `orphans_made` counts the adopted orphans, `unreaped` those left as zombies at the stop.
 */
export function imageRecord(
  run: PlannedRun,
  startedAt: string,
  c: Pick<ContainerRun, 'exitCode' | 'timedOut' | 'aborted' | 'durationMs' | 'pids'>,
  match: TraceMatch | null,
  pid1: Pid1Usage,
  reason: string | null,
  zombiesAtStop: number | null = null,
  host: HostSamples | null = null,
): RunRecord {
  const state: RunRecord['state'] = c.timedOut ? 'timed-out' : c.aborted ? 'aborted' : reason !== null ? 'failed' : 'completed';
  const orphans = match ? adoptedOrphans(match) : [];
  const failures = match ? limitFailures(match) : [];
  const ff = failures[0] ?? null;
  return {
    ...recordHead(
      run,
      startedAt,
      state,
      state === 'completed' ? null : (reason ?? (c.aborted ? 'interrupted' : 'container exceeded the run timeout and was killed')),
    ),
    ...kernelRecordFields(match, c, pid1),
    orphans_made: orphans.length,
    orphans_exited: orphans.filter((p) => p.exitUs !== null).length,
    orphans_reaped: orphans.filter((p) => p.outcome === 'reaped').length,
    unreaped: zombiesAtStop ?? 0,
    missed: 0,
    achieved_rate_per_s: 0,
    orphans_before_failure: ff ? orphans.filter((p) => (p.forkUs ?? 0) < ff.us).length : orphans.length,
    fork_failures: failures.length,
    first_failure_level: ff ? 'other' : null,
    ...(host ? hostRecordFields(host) : {}),
  };
}

/** The fields the `host` method fills in place of the kernel's (see {@link imageRecord}). */
function hostRecordFields(host: HostSamples): Partial<RunRecord> {
  const ff = host.forkFailureUs;
  return {
    zombies_peak: Math.max(0, ...host.points.map((p) => p.zombies)),
    zombie_sample_hz: 1000 / host.periodMs,
    series: host.points.map((p) => ({ t_s: Number((p.us / 1e6).toFixed(3)), zombies: p.zombies, pids_current: p.pidsCurrent })),
    first_fork_failure_s: ff === null ? null : Number((ff / 1e6).toFixed(4)),
    first_failure_errno: ff === null ? null : 'EAGAIN',
    first_failure_level: ff === null ? null : 'other',
    fork_failures: host.rejections ?? 0,
    orphans_made: 0,
    orphans_exited: 0,
    orphans_reaped: 0,
    orphans_before_failure: 0,
  };
}
