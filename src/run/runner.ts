/**
 * The matrix runner: for every planned run it starts one container (same image, same load, only
 * PID 1 differs), lets the load generator produce orphans under the pids limit, reads back the
 * generator's NDJSON, and turns it into a {@link RunRecord}. A run that crashes or times out is
 * recorded as failed with its reason, and the matrix goes on.
 *
 * Events flow out through callbacks (`onRunStart`, `onRunEnd`) so that progress display and
 * report writing subscribe without the runner printing anything itself.
 */
import type Docker from 'dockerode';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runContainer, type ContainerRun } from '../runtime/container.js';
import { histogram } from '../stats/summary.js';
import type { LoadgenEvent, LoadgenSummary, OrphanEvent, SampleEvent, StartEvent } from '../loadgen/types.js';
import { launchFor } from '../runtime/init-launch.js';
import type { PlannedRun } from './matrix.js';
import type { RunRecord, RunState, SeriesPoint } from '../model/records.js';

/** Where the in-container programs live in the image. */
export const IMAGE_LOADGEN = '/app/dist/loadgen.mjs';
/** Where the results directory is mounted inside the container. */
export const CONTAINER_RESULTS = '/results';

/** What the runner needs besides the plan. */
export interface RunnerContext {
  docker: Docker;
  /** App image tag. */
  image: string;
  /** Host directory for the load generator's raw NDJSON files (mounted read-write). */
  rawDir: string;
  /** Hard timeout of one container run, s. */
  runTimeoutS: number;
  /** `OBS:WORK` CPU pinning passed to the load generator (`--pin`), or undefined: none. The
   * observer (watcher) and the workload (PID 1, helper, orphans) then never share a CPU. */
  pin?: string;
  /** Aborting stops the current run (container killed) and the matrix. */
  signal?: AbortSignal;
  /** Called before each run (for progress). */
  onRunStart?: (run: PlannedRun, index: number, total: number) => void;
  /** Called after each run with its record (warm-up runs included, flagged by repetition −1). */
  onRunEnd?: (record: RunRecord, index: number, total: number) => void | Promise<void>;
  /** Lines the user should see from the runtime (`could not remove …`), without newline. */
  onNotice?: (line: string) => void;
}

/** File name of one run's raw NDJSON (unique per run in a bench). */
export function rawName(run: PlannedRun, index: number): string {
  const rep = run.repetition < 0 ? 'warmup' : `r${run.repetition}`;
  return `${String(index).padStart(3, '0')}-${run.init}-${run.scenario}-L${run.pids_limit}-R${run.rate_per_s}-${rep}.ndjson`;
}

/**
 * argv of the load generator for one planned run. The generator stops producing after the
 * first fork failure plus a grace period (that is when the `none` init has exhausted the table),
 * so every init's run is bounded by `duration_s`.
 */
export function loadgenArgs(run: PlannedRun, outFile: string, pin?: string): string[] {
  return [
    'node',
    IMAGE_LOADGEN,
    '--rate',
    String(run.rate_per_s),
    '--lifetime-ms',
    String(run.lifetime_ms),
    '--duration-s',
    String(run.duration_s),
    '--after-failure',
    'stop',
    '--grace-ms',
    '500',
    '--drain-ms',
    '2000',
    ...(pin ? ['--pin', pin] : []),
    '--out',
    outFile,
  ];
}

/**
 * Parse a load generator NDJSON file into its lines (malformed lines are skipped and counted).
 * Unlike `parseLoadgenResults` (src/loadgen/read.ts), which rejects an incomplete file, this keeps
 * what the `.partial` file of an interrupted or crashed run holds: the runner records those too.
 */
export function parseLoadgenFile(text: string): { events: LoadgenEvent[]; malformed: number } {
  const events: LoadgenEvent[] = [];
  let malformed = 0;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      events.push(JSON.parse(line) as LoadgenEvent);
    } catch {
      malformed += 1;
    }
  }
  return { events, malformed };
}

function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  return (lines[lines.length - 1] ?? '').trim().slice(0, 300);
}

const round = (x: number | null | undefined, digits = 1): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(digits));

/** How often the load generator counted zombies, Hz: its sample rate ÷ its scan interval (start event); null without one. */
function zombieSampleHz(events: LoadgenEvent[]): number | null {
  const start = events.find((e): e is StartEvent => e.type === 'start');
  const o = start?.options;
  return o && o.scan_every > 0 ? o.sample_hz / o.scan_every : null;
}

/** The host's pids peak and its method, or the load generator's own samples where the host read nothing. */
function pidsPeak(host: ContainerRun['pids'], samples: SampleEvent[]): Pick<RunRecord, 'pids_peak' | 'pids_method'> {
  if (host.peak !== null && host.method !== 'unavailable') return { pids_peak: host.peak, pids_method: host.method };
  const inside = samples.map((s) => s.pids_current).filter((v): v is number => typeof v === 'number');
  return inside.length > 0 ? { pids_peak: Math.max(...inside), pids_method: 'loadgen' } : { pids_peak: null, pids_method: null };
}

/**
 * Build a {@link RunRecord} from a container outcome and the generator's events (pure; exported
 * for tests). Without a summary line the run is `failed` (or `timed-out`/`aborted`) with the
 * reason taken from the container's stderr.
 */
export function toRecord(
  run: PlannedRun,
  startedAt: string,
  container: Pick<ContainerRun, 'exitCode' | 'timedOut' | 'aborted' | 'stderr' | 'durationMs' | 'pids'>,
  events: LoadgenEvent[],
): RunRecord {
  const summary = events.find((e): e is LoadgenSummary => e.type === 'summary') ?? null;
  const samples = events.filter((e): e is SampleEvent => e.type === 'sample');
  const orphans = events.filter((e): e is OrphanEvent => e.type === 'orphan');
  const latencies = orphans.filter((o) => o.latency_us !== null && !o.coalesced).map((o) => o.latency_us as number);
  let state: RunState = 'completed';
  let reason: string | null = null;
  if (container.timedOut) {
    state = 'timed-out';
    reason = 'container exceeded the run timeout and was killed';
  } else if (container.aborted || summary?.state === 'aborted') {
    state = 'aborted';
    reason = 'interrupted';
  } else if (!summary) {
    state = 'failed';
    reason = `no summary from the load generator (exit ${container.exitCode ?? '?'}): ${lastLine(container.stderr) || 'no output'}`;
  }
  const series: SeriesPoint[] = samples
    .filter((s) => s.t_us >= 0)
    .map((s) => ({ t_s: Number((s.t_us / 1e6).toFixed(3)), zombies: s.zombies ?? s.orphans_zombie, pids_current: s.pids_current }));
  const ff = summary?.first_fork_failure ?? null;
  const zombiesPeak = Math.max(0, summary?.zombies_max ?? 0, ...series.map((p) => p.zombies));
  return {
    scenario: run.scenario,
    pids_limit: run.pids_limit,
    rate_per_s: run.rate_per_s,
    lifetime_ms: run.lifetime_ms,
    duration_s: run.duration_s,
    init: run.init,
    repetition: run.repetition,
    order: run.order,
    state,
    failure_reason: reason,
    started_at: startedAt,
    orphans_made: summary?.orphans_made ?? 0,
    orphans_exited: summary?.orphans_exited ?? 0,
    orphans_reaped: summary?.orphans_reaped ?? 0,
    unreaped: summary?.orphans_zombie ?? 0,
    missed: summary?.orphans_missed ?? 0,
    achieved_rate_per_s: round(summary?.achieved_rate_per_s) ?? 0,
    first_fork_failure_s: ff ? Number((ff.t_us / 1e6).toFixed(4)) : null,
    orphans_before_failure: ff ? ff.orphans_made_before : (summary?.orphans_made ?? 0),
    fork_failures: summary?.fork_failures ?? 0,
    first_failure_level: ff?.level ?? null,
    first_failure_errno: ff?.errno_name ?? null,
    zombies_peak: zombiesPeak,
    zombie_sample_hz: zombieSampleHz(events),
    ...pidsPeak(container.pids, samples),
    baseline_tasks: summary?.baseline_tasks ?? null,
    effective_budget: summary?.effective_budget ?? null,
    instrument_tasks: summary?.instrument_tasks ?? null,
    reap_latency_p50_us: round(summary?.latency.p50_us),
    reap_latency_p90_us: round(summary?.latency.p90_us),
    reap_latency_p99_us: round(summary?.latency.p99_us),
    reap_latency_max_us: round(summary?.latency.max_us),
    latency_method: summary?.latency_method ?? null,
    littles_law_latency_us: round(summary?.little_latency_us),
    watcher_lag_p99_us: round(summary?.watcher_lag.p99_us),
    pid1_cpu_ms: summary?.pid1_cpu_ms ?? null,
    pid1_rss_kib: summary?.pid1_rss_kb_max ?? null,
    exit_code: container.exitCode,
    wall_s: Number((container.durationMs / 1000).toFixed(3)),
    series,
    latency_histogram: histogram(latencies),
  };
}

/**
 * Run one planned run in a fresh container and return its record. Never throws for a failed
 * run (it is recorded); throws only for engine errors that make further runs pointless
 * (daemon gone, image missing).
 */
export async function runOne(ctx: RunnerContext, run: PlannedRun, index: number): Promise<RunRecord> {
  const name = rawName(run, index);
  const hostFile = path.join(ctx.rawDir, name);
  await rm(hostFile, { force: true });
  await rm(`${hostFile}.partial`, { force: true });
  const launch = launchFor(run.init);
  const startedAt = new Date().toISOString();
  const container = await runContainer(ctx.docker, {
    image: ctx.image,
    cmd: [...launch.prefix, ...loadgenArgs(run, `${CONTAINER_RESULTS}/${name}`, ctx.pin)],
    init: launch.engineInit,
    pidsLimit: run.pids_limit,
    mounts: [{ host: ctx.rawDir, container: CONTAINER_RESULTS }],
    timeoutMs: ctx.runTimeoutS * 1000,
    labels: { 'reapbench.init': run.init, 'reapbench.scenario': run.scenario, 'reapbench.phase': run.repetition < 0 ? 'warm-up' : 'run' },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.onNotice ? { onNotice: ctx.onNotice } : {}),
  });
  const file = existsSync(hostFile) ? hostFile : existsSync(`${hostFile}.partial`) ? `${hostFile}.partial` : null;
  const { events } = file ? parseLoadgenFile(await readFile(file, 'utf8')) : { events: [] as LoadgenEvent[] };
  // The interrupt killed this run's container: whatever it printed, the run was aborted.
  return toRecord(run, startedAt, ctx.signal?.aborted ? { ...container, aborted: true } : container, events);
}

/**
 * Run every planned run in order. Warm-up runs (repetition −1) are run and reported through
 * `onRunEnd` but not returned. Stops early when `ctx.signal` aborts.
 * @returns the records of the recorded (non-warm-up) runs, in run order.
 */
export async function runMatrix(ctx: RunnerContext, plan: PlannedRun[]): Promise<RunRecord[]> {
  await mkdir(ctx.rawDir, { recursive: true });
  const records: RunRecord[] = [];
  for (let i = 0; i < plan.length; i++) {
    if (ctx.signal?.aborted) break;
    const run = plan[i]!;
    ctx.onRunStart?.(run, i, plan.length);
    const record = await runOne(ctx, run, i);
    if (record.repetition >= 0) records.push(record);
    await ctx.onRunEnd?.(record, i, plan.length);
  }
  return records;
}
