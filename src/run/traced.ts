/**
 * Runs measured by the kernel instrument (src/tracer/) from outside the container: the container
 * holds only the workload, `orphanage solo` (PID 1 itself with no init, the init's child
 * otherwise), and every figure of the record comes from the kernel's events, with solo's own
 * report lines (S/F/N/D: no line per orphan) as the count of orphans made and as a cross-check
 * of the first fork failure. Pure: the runner does the I/O.
 *
 * Which processes are "orphans": those the kernel re-parented before they exited (parent at
 * exit ≠ parent at fork, `orphan` in the tracer's records). In this workload that is every
 * orphan whose intermediate had exited first, i.e. all but those whose life ended before their
 * intermediate's `_exit` (a rare few at lifetimes of a ms or more: an intermediate forks even a
 * batch of {@link SOLO_MAX_BATCH} in well under a ms); those stay the intermediate's zombies until it exits,
 * are then adopted as zombies, and are left out of the latency figures (their time as a zombie
 * includes the intermediate's). The container's PID 1 is never one of them, although its runtime
 * parent (`runc init`) exits and the shim, a host process, adopts and reaps it.
 *
 * Which failures are "fork failures": those returning EAGAIN, the pids cgroup's (or
 * RLIMIT_NPROC's) refusal. Other errors are not the limit: under Docker's default seccomp profile
 * `clone3` returns ENOSYS and glibc falls back to `clone`, which a Node PID 1 does at start.
 */
import { constants } from 'node:os';
import { quantileSorted } from 'simple-statistics';
import type { HelperReport } from '../loadgen/helper.js';
import { loadPhaseRate } from '../loadgen/stats.js';
import { ZOMBIE_HOLDERS_MAX, type RunRecord, type SeriesPoint, type ZombieHolder } from '../model/records.js';
import type { ContainerRun } from '../runtime/container.js';
import { histogram } from '../stats/histogram.js';
import type { TraceMatch } from '../tracer/index.js';
import { recordHead, type PlannedRun } from './matrix.js';

/**
 * An exit status for a reason: `exit 1`, or `exit 137, SIGKILL` when above 128, the shell's and
 * the engines' way to say a signal ended the process (128 + its number).
 */
export function exitStatus(code: number | null): string {
  if (code === null) return 'exit ?';
  const signal = code > 128 ? Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0] : undefined;
  return signal ? `exit ${code}, ${signal}` : `exit ${code}`;
}

/** Where `orphanage` lives in the image. */
export const IMAGE_ORPHANAGE = '/app/dist/orphanage';

/** After the first failed fork, solo goes on producing this long, ms (the load generator's `--grace-ms` in the pidfd path). */
export const SOLO_GRACE_MS = 500;

import { SERIES_BUCKET_MS } from '../model/records.js';
export { SERIES_BUCKET_MS };

/** Orphans per intermediate at the highest rates: past this, one more fork per batch costs less than 1/16 of the load. */
export const SOLO_MAX_BATCH = 16;

/**
 * Orphans per intermediate for a target rate (orphans/s): one orphan each up to 1000/s, then
 * enough that intermediates are due at most once per ms, capped at {@link SOLO_MAX_BATCH}.
 *
 * Why: an orphan made alone costs two forks, two exits and two reaps (intermediate and orphan),
 * so one orphan per intermediate tops out near half a plain fork + exit + wait loop's rate
 * (`npm run bench:instrument`: 0.43–0.51×); 16 per intermediate reach 0.98× with a 0 µs lifetime.
 * Batches stay 1 ms apart, so the load is as smooth as the 20 ms series shows it, and below
 * 2000/s there are no batches at all.
 */
export function soloBatch(ratePerS: number): number {
  return Math.min(SOLO_MAX_BATCH, Math.max(1, Math.floor(ratePerS / 1000)));
}

/**
 * argv of `orphanage solo` for one planned run: the plan's rate, lifetime and duration,
 * {@link soloBatch} orphans per intermediate and one intermediate at a time (as the load
 * generator's defaults), {@link SOLO_GRACE_MS} after the first failure, and a drain of the
 * lifetime + 500 ms so that the last orphans exit and are reaped while PID 1 still lives.
 */
export function soloArgs(run: Pick<PlannedRun, 'rate_per_s' | 'lifetime_ms' | 'duration_s'>): string[] {
  const lifetimeUs = Math.round(run.lifetime_ms * 1000);
  return [
    IMAGE_ORPHANAGE,
    'solo',
    String(run.rate_per_s),
    String(lifetimeUs),
    String(soloBatch(run.rate_per_s)),
    '0',
    // At least 1 ms: solo reads 0 as "no time limit".
    String(Math.max(1, Math.round(run.duration_s * 1000))),
    '1',
    String(SOLO_GRACE_MS),
    String(Math.ceil(run.lifetime_ms) + 500),
  ];
}

/** What the host read of the container's PID 1 while it lived (null: never read). */
export interface Pid1Usage {
  /** CPU time (user + system), ms, at the last reading (10 ms clock ticks). */
  cpuMs: number | null;
  /** Highest RSS seen, KiB. */
  rssKib: number | null;
}

/** The kernel's view of one traced run, or why there is none. */
export type TraceOutcome = { match: TraceMatch } | { unavailable: string };

const round = (x: number | null | undefined, digits = 1): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits));

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? '').trim().slice(0, 300);
}

/** The zombie series in {@link SERIES_BUCKET_MS} buckets (each bucket's highest count), s since t0. */
export function bucketSeries(points: TraceMatch['zombiesOverTime']): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  let bucket = Number.NaN;
  for (const p of points) {
    if (p.us < 0) continue;
    const b = Math.floor(p.us / 1000 / SERIES_BUCKET_MS);
    const last = out[out.length - 1];
    if (b === bucket && last) last.zombies = Math.max(last.zombies, p.zombies);
    else out.push({ t_s: Number(((b * SERIES_BUCKET_MS) / 1000).toFixed(3)), zombies: p.zombies, pids_current: null });
    bucket = b;
  }
  return out;
}

/** The container's orphans in a match: re-parented before they exited, PID 1 excepted (see the module comment). */
export function adoptedOrphans(match: TraceMatch): TraceMatch['processes'] {
  return match.processes.filter((p) => p.orphan && p.nsPid !== 1);
}

/** The fork failures of a match that are a limit's refusal (EAGAIN), by time. */
export function limitFailures(match: TraceMatch): TraceMatch['forkFailures'] {
  return match.forkFailures.filter((f) => f.errno === constants.errno.EAGAIN);
}

/** Exit → reap latencies of the container's orphans ({@link adoptedOrphans}), µs, ascending, and their percentiles (R type 7, as the load generator's). */
export function orphanLatencies(match: TraceMatch): {
  sorted: number[];
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
} {
  const sorted = adoptedOrphans(match)
    .map((p) => p.latencyUs)
    .filter((v): v is number => v !== null)
    .sort((a, b) => a - b);
  const q = (p: number): number | null => (sorted.length ? round(quantileSorted(sorted, p)) : null);
  return { sorted, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: sorted.length ? round(sorted[sorted.length - 1]) : null };
}

/** The {@link RunRecord} fields that every run measured by the kernel instrument fills the same way. */
export type KernelRecordFields = ReturnType<typeof kernelRecordFields>;

/**
 * The fields of a record that come from the kernel's match, the host's readings of the container
 * and of its PID 1, the same for the synthetic load and for a user's image: the first EAGAIN
 * (s since t0) with its errno and comm, exact zombies peak and series, the adopted orphans'
 * latency percentiles (µs), lost events; nothing of the instrument in the container
 * (`instrument_tasks` 0), and no figure of the in-container watcher.
 * @param match the match (t0 = the run's zero), or null when there is none (the latency method is then null).
 */
export function kernelRecordFields(
  match: TraceMatch | null,
  container: Pick<ContainerRun, 'exitCode' | 'durationMs' | 'pids'>,
  pid1: Pid1Usage,
) {
  const lat = match ? orphanLatencies(match) : { sorted: [], p50: null, p90: null, p99: null, max: null };
  const ff = match ? (limitFailures(match)[0] ?? null) : null;
  return {
    first_fork_failure_s: ff ? Number((ff.us / 1e6).toFixed(4)) : null,
    first_failure_errno: ff?.errnoName ?? null,
    first_failure_comm: ff?.comm ?? null,
    zombies_peak: match?.zombiesPeak ?? 0,
    // Not sampled: every exit and reap is an event.
    zombie_sample_hz: null,
    pids_peak: container.pids.method !== 'unavailable' ? container.pids.peak : null,
    pids_method: container.pids.method !== 'unavailable' && container.pids.peak !== null ? container.pids.method : null,
    // Not read: the container's first tasks exist only once it runs, and its workload forks at once.
    baseline_tasks: null,
    effective_budget: null,
    instrument_tasks: 0,
    reap_latency_p50_us: lat.p50,
    reap_latency_p90_us: lat.p90,
    reap_latency_p99_us: lat.p99,
    reap_latency_max_us: lat.max,
    latency_method: match ? 'ebpf' : null,
    pidfd_latency_p50_us: null,
    pidfd_latency_p99_us: null,
    lost_events: match?.lost ?? null,
    littles_law_latency_us: null,
    watcher_lag_p99_us: null,
    pid1_cpu_ms: pid1.cpuMs,
    pid1_rss_kib: pid1.rssKib,
    exit_code: container.exitCode,
    wall_s: Number((container.durationMs / 1000).toFixed(3)),
    ...(match ? zombieHolderFields(match) : { zombies_by_parent: [], zombies_held_by: null }),
    series: match ? bucketSeries(match.zombiesOverTime) : [],
    latency_histogram: histogram(lat.sorted),
  } satisfies Partial<RunRecord>;
}

/**
 * Who held the zombies of a match, by kind of parent: the parents in the container of one comm,
 * PID 1 apart, summed (zombies, at the end) and at their highest (peak), most zombies first, at most
 * {@link ZOMBIE_HOLDERS_MAX} kinds; and the same in one CSV line.
 * @param match the kernel's match of the container.
 * @returns `zombies_by_parent` and `zombies_held_by` of a {@link RunRecord}.
 */
export function zombieHolderFields(match: Pick<TraceMatch, 'zombiesByParent'>): Pick<RunRecord, 'zombies_by_parent' | 'zombies_held_by'> {
  const byKind = new Map<string, ZombieHolder>();
  for (const p of match.zombiesByParent) {
    // A parent outside the container is its runtime (the shim), holding PID 1 itself as it ends:
    // not a zombie of the container's PID table.
    if (p.nsPid === null) continue;
    const pid1 = p.nsPid === 1;
    const key = `${pid1 ? 1 : 0}:${p.comm}`;
    const h = byKind.get(key) ?? { comm: p.comm, pid1, parents: 0, zombies: 0, peak: 0, unreaped_at_end: 0 };
    h.parents++;
    h.zombies += p.zombies;
    h.peak = Math.max(h.peak, p.peak);
    h.unreaped_at_end += p.unreapedAtEnd;
    byKind.set(key, h);
  }
  const holders = [...byKind.values()]
    .sort((a, b) => b.zombies - a.zombies || Number(b.pid1) - Number(a.pid1) || a.comm.localeCompare(b.comm))
    .slice(0, ZOMBIE_HOLDERS_MAX);
  return { zombies_by_parent: holders, zombies_held_by: holders.length ? holders.map(holderText).join('; ') : 'none' };
}

/** One holder in words: `tini (PID 1) 2000, peak 3`, `orphanage ×12 4, peak 1, 4 at end`. */
export function holderText(h: ZombieHolder): string {
  const who = h.pid1 ? `${h.comm} (PID 1)` : h.parents > 1 ? `${h.comm} ×${h.parents}` : h.comm;
  return `${who} ${h.zombies}, peak ${h.peak}${h.unreaped_at_end ? `, ${h.unreaped_at_end} at end` : ''}`;
}

/**
 * The record of one run measured by the kernel instrument.
 * @param lines solo's report lines (parsed from the container's stdout); t0 is its `S` line.
 * @param trace the tracer's match for the container's PID namespace, with t0 = the `S` line, or
 *   why there is none (then the run is `failed` with that reason).
 * @param pid1 the host's readings of PID 1.
 * @returns a {@link RunRecord} with `latency_method` `ebpf` and `instrument_tasks` 0.
 */
export function toTracedRecord(
  run: PlannedRun,
  startedAt: string,
  container: Pick<ContainerRun, 'exitCode' | 'timedOut' | 'aborted' | 'stderr' | 'durationMs' | 'pids'>,
  lines: readonly HelperReport[],
  trace: TraceOutcome,
  pid1: Pid1Usage,
): RunRecord {
  const start = lines.find((l) => l.kind === 'started');
  const done = lines.find((l) => l.kind === 'done');
  const counts = lines.find((l): l is Extract<HelperReport, { kind: 'counts' }> => l.kind === 'counts');
  const made = counts?.made ?? 0;
  const ownFailures = lines.filter((l): l is Extract<HelperReport, { kind: 'failure' }> => l.kind === 'failure');
  const match = 'match' in trace ? trace.match : null;

  let state: RunRecord['state'] = 'completed';
  let reason: string | null = null;
  if (container.timedOut) {
    state = 'timed-out';
    reason = 'container exceeded the run timeout and was killed';
  } else if (container.aborted) {
    state = 'aborted';
    reason = 'interrupted';
  } else if (!start || !done || !counts) {
    state = 'failed';
    reason = `the workload did not finish (${exitStatus(container.exitCode)}): ${lastLine(container.stderr) || 'no output'}`;
  } else if (!match) {
    state = 'failed';
    reason = `kernel instrument: ${'unavailable' in trace ? trace.unavailable : 'no trace'}`;
  }

  const orphans = match ? adoptedOrphans(match) : [];
  const failures = match ? limitFailures(match) : [];
  const ff = failures[0] ?? null;
  const productionS = start && done ? Math.max(1e-9, (done.tNs - start.tNs) / 1e9) : null;
  const seen = orphans.length;
  return {
    ...recordHead(run, startedAt, state, reason),
    ...kernelRecordFields(match, container, pid1),
    orphans_made: made,
    orphans_exited: orphans.filter((p) => p.exitUs !== null).length,
    orphans_reaped: orphans.filter((p) => p.outcome === 'reaped').length,
    unreaped: orphans.filter((p) => p.outcome === 'unreaped-at-end').length,
    // Made, but never seen adopted: exited before their intermediate, or events lost.
    missed: match ? Math.max(0, made - seen) : made,
    // The row's own first failure and the orphans before it (stats.ts `loadPhaseRate`): the
    // time after it, when forks fail and the orphans drain, would understate the rate.
    achieved_rate_per_s: productionS
      ? (round(loadPhaseRate(made, productionS, ff && { s: ff.us / 1e6, before: counts?.madeBeforeFailure ?? made })) ?? 0)
      : 0,
    // solo's own count, up to its first failed fork; the kernel's first EAGAIN may be another
    // process's (PID 1's thread creation), which the kernel's fields name.
    orphans_before_failure: counts?.madeBeforeFailure ?? made,
    fork_failures: match ? failures.length : ownFailures.length,
    first_failure_level: ownFailures[0]?.level ?? (ff ? 'other' : null),
  };
}
