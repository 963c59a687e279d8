/**
 * The matrix runner: for every planned run it starts one container (same image, same load, only
 * PID 1 differs), lets the load generator produce orphans under the pids limit, reads back the
 * generator's NDJSON, and turns it into a {@link RunRecord}. A run that crashes or times out is
 * recorded as failed with its reason, and the matrix goes on.
 *
 * Events flow out through callbacks (`onRunStart`, `onRunEnd`) so that progress display and
 * report writing subscribe without the runner printing anything itself.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { NO_PIDS, notRun, type ContainerRun, type ContainerSpec } from '../runtime/container.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { histogram } from '../stats/summary.js';
import type { LoadgenEvent, LoadgenSummary, OrphanEvent, SampleEvent, StartEvent } from '../loadgen/types.js';
import { launchFor } from '../runtime/init-launch.js';
import { recordHead, type PlannedRun } from './matrix.js';
import type { RunRecord, RunState, SeriesPoint } from '../model/records.js';
import type { Instrument } from '../model/instrument.js';
import { parseHelperLine, type HelperReport } from '../loadgen/helper.js';
import { processUsage } from '../procfs/scan.js';
import { matchTrace, pidNamespaceInode, startTracer, type TraceMatch, type Tracer } from '../tracer/index.js';
import {
  limitFailures,
  orphanLatencies,
  soloArgs,
  toTracedRecord,
  zombieHolderFields,
  type Pid1Usage,
  type TraceOutcome,
  exitStatus,
} from './traced.js';

/** Where the in-container programs live in the image. */
export const IMAGE_LOADGEN = '/app/dist/loadgen.mjs';
/** Where the results directory is mounted inside the container. */
export const CONTAINER_RESULTS = '/results';

/** What the runner needs besides the plan. */
export interface RunnerContext {
  /** Where the containers run. */
  runtime: ContainerRuntime;
  /** App image tag. */
  image: string;
  /** Host directory for the load generator's raw NDJSON files (mounted read-write). */
  rawDir: string;
  /** Hard timeout of one container run, s. */
  runTimeoutS: number;
  /** `OBS:WORK` CPU pinning passed to the load generator (`--pin`), or undefined: none. The
   * observer (watcher) and the workload (PID 1, helper, orphans) then never share a CPU. */
  pin?: string;
  /** The load generator's watcher polls without sleeping (`--watcher-spin`; default false): it
   * keeps the observer CPU busy, so use it with `pin`. For comparing the pidfd figures with the
   * kernel's, whose instants carry no wake-up of an observer. */
  watcherSpin?: boolean;
  /**
   * How latencies are measured (default `pidfd`): `ebpf` runs `orphanage solo` alone in the
   * container under the kernel instrument; `pidfd` the load generator with its in-container
   * watcher; `both` the load generator and the kernel instrument, the latter's figures in the
   * record and the watcher's as a cross-check (`pidfd_latency_*`).
   */
  instrument?: Instrument;
  /** Aborting stops the current run (container killed) and the matrix. */
  signal?: AbortSignal;
  /** Called before each run (for progress). */
  onRunStart?: (run: PlannedRun, index: number, total: number) => void;
  /** Called after each run with its record (warm-up runs included, flagged by repetition −1). */
  onRunEnd?: (record: RunRecord, index: number, total: number) => void | Promise<void>;
  /** Lines the user should see from the runtime (`could not remove …`), without newline. */
  onNotice?: (line: string) => void;
  /**
   * Called after each `both` run whose tracer ran, with what each instrument saw of the same
   * orphans, for a comparison orphan by orphan (`npm run bench:instrument`): the kernel's match
   * with every `…Us` counted from CLOCK_MONOTONIC 0 (not from the run's t0), and the load
   * generator's events, whose `*_us` count from its t0 (`t0_ns` of its summary, CLOCK_MONOTONIC).
   */
  onBothInstruments?: (kernel: TraceMatch, loadgen: readonly LoadgenEvent[]) => void;
}

/** File name of one run's raw NDJSON (unique per run in a bench). */
export function rawName(run: PlannedRun, index: number): string {
  const rep = run.repetition < 0 ? 'warmup' : `r${run.repetition}`;
  return `${String(index).padStart(3, '0')}-${run.init}-${run.scenario}-L${run.pids_limit}-R${run.rate_per_s}-${rep}.ndjson`;
}

/**
 * argv of the load generator for one planned run. The generator stops producing after the
 * first fork failure plus a grace period (that is when the `none` init has exhausted the table),
 * so every init's run is bounded by `duration_s`. `spin`: its watcher polls without sleeping
 * (`--watcher-spin`, see {@link RunnerContext.watcherSpin}).
 */
export function loadgenArgs(run: PlannedRun, outFile: string, pin?: string, spin = false): string[] {
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
    ...(spin ? ['--watcher-spin'] : []),
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
    reason = `no summary from the load generator (${exitStatus(container.exitCode)}): ${lastLine(container.stderr) || 'no output'}`;
  }
  const series: SeriesPoint[] = samples
    .filter((s) => s.t_us >= 0)
    .map((s) => ({ t_s: Number((s.t_us / 1e6).toFixed(3)), zombies: s.zombies ?? s.orphans_zombie, pids_current: s.pids_current }));
  const ff = summary?.first_fork_failure ?? null;
  const zombiesPeak = Math.max(0, summary?.zombies_max ?? 0, ...series.map((p) => p.zombies));
  return {
    ...recordHead(run, startedAt, state, reason),
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
    first_failure_comm: null,
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
    pidfd_latency_p50_us: null,
    pidfd_latency_p99_us: null,
    lost_events: null,
    littles_law_latency_us: round(summary?.little_latency_us),
    watcher_lag_p99_us: round(summary?.watcher_lag.p99_us),
    pid1_cpu_ms: summary?.pid1_cpu_ms ?? null,
    pid1_rss_kib: summary?.pid1_rss_kb_max ?? null,
    exit_code: container.exitCode,
    wall_s: Number((container.durationMs / 1000).toFixed(3)),
    // The watcher sees its own orphans only, not who else holds zombies.
    zombies_by_parent: [],
    zombies_held_by: null,
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
  const instrument = ctx.instrument ?? 'pidfd';
  const launch = launchFor(run.init);
  const startedAt = new Date().toISOString();
  // A row that cannot run here says why in one line (an init not installed on the namespace
  // runtime's host, the engine's own init without an engine), never a silent skip.
  const unavailable = ctx.runtime.initUnavailable?.(run.init) ?? null;
  if (unavailable !== null) return { ...toRecord(run, startedAt, NOT_RUN, []), state: 'failed', failure_reason: unavailable };
  const base = {
    image: ctx.image,
    init: launch.engineInit,
    pidsLimit: run.pids_limit,
    timeoutMs: ctx.runTimeoutS * 1000,
    labels: { 'reapbench.init': run.init, 'reapbench.scenario': run.scenario, 'reapbench.phase': run.repetition < 0 ? 'warm-up' : 'run' },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.onNotice ? { onNotice: ctx.onNotice } : {}),
  };
  if (instrument === 'ebpf') {
    // Nothing of the instrument in the container: it may share one CPU with the workload.
    const work = ctx.pin?.split(':')[1];
    const traced = await underTracer(ctx, { ...base, cmd: [...launch.prefix, ...soloArgs(run)], ...(work ? { cpusetCpus: work } : {}) });
    if ('notRun' in traced) {
      const r = toTracedRecord(run, startedAt, traced.notRun, [], { unavailable: traced.why }, NO_USAGE);
      // Nothing ran: the reason is the tracer's, not a workload that "did not finish".
      return r.state === 'aborted' ? r : { ...r, state: 'failed', failure_reason: `kernel instrument: ${traced.why}` };
    }
    const lines = helperLines(traced.container.stdout);
    const t0 = lines.find((l) => l.kind === 'started')?.tNs;
    return toTracedRecord(
      run,
      startedAt,
      traced.container,
      lines,
      traced.match(t0 === undefined ? null : BigInt(Math.round(t0))),
      traced.pid1,
    );
  }
  const name = rawName(run, index);
  const hostFile = path.join(ctx.rawDir, name);
  await rm(hostFile, { force: true });
  await rm(`${hostFile}.partial`, { force: true });
  const spec: ContainerSpec = {
    ...base,
    cmd: [...launch.prefix, ...loadgenArgs(run, `${CONTAINER_RESULTS}/${name}`, ctx.pin, ctx.watcherSpin)],
    mounts: [{ host: ctx.rawDir, container: CONTAINER_RESULTS }],
  };
  const readEvents = async (): Promise<LoadgenEvent[]> => {
    const file = existsSync(hostFile) ? hostFile : existsSync(`${hostFile}.partial`) ? `${hostFile}.partial` : null;
    return file ? parseLoadgenFile(await readFile(file, 'utf8')).events : [];
  };
  if (instrument === 'both') {
    const traced = await underTracer(ctx, spec);
    if ('notRun' in traced) {
      const r = toRecord(run, startedAt, traced.notRun, []);
      return r.state === 'aborted' ? r : { ...r, state: 'failed', failure_reason: `kernel instrument: ${traced.why}` };
    }
    const events = await readEvents();
    const record = toRecord(run, startedAt, ctx.signal?.aborted ? { ...traced.container, aborted: true } : traced.container, events);
    if (ctx.onBothInstruments) {
      const absolute = traced.match(0n);
      if ('match' in absolute) ctx.onBothInstruments(absolute.match, events);
    }
    return withKernelLatencies(record, traced.match(null));
  }
  const container = await ctx.runtime.run(spec);
  // The interrupt killed this run's container: whatever it printed, the run was aborted.
  return toRecord(run, startedAt, ctx.signal?.aborted ? { ...container, aborted: true } : container, await readEvents());
}

/** A run that did not start: nothing ran, nothing was read. */
const NOT_RUN = notRun();

/** No reading of PID 1. */
const NO_USAGE: Pid1Usage = { cpuMs: null, rssKib: null };

/** solo's report lines from the container's stdout (anything else is skipped). */
function helperLines(stdout: string): HelperReport[] {
  return stdout
    .split('\n')
    .map((l) => parseHelperLine(l.trim()))
    .filter((l): l is HelperReport => l !== null);
}

/**
 * A record of the `both` instrument: the kernel's latencies replace the watcher's, which stay as
 * `pidfd_latency_*` (the cross-check); the kernel's lost events and first failing comm are added.
 */
export function withKernelLatencies(record: RunRecord, trace: TraceOutcome): RunRecord {
  if (!('match' in trace)) {
    return record.state === 'completed'
      ? { ...record, state: 'failed', failure_reason: `kernel instrument: ${trace.unavailable}` }
      : record;
  }
  const lat = orphanLatencies(trace.match);
  return {
    ...record,
    pidfd_latency_p50_us: record.reap_latency_p50_us,
    pidfd_latency_p99_us: record.reap_latency_p99_us,
    reap_latency_p50_us: lat.p50,
    reap_latency_p90_us: lat.p90,
    reap_latency_p99_us: lat.p99,
    reap_latency_max_us: lat.max,
    latency_method: 'ebpf',
    lost_events: trace.match.lost,
    first_failure_comm: limitFailures(trace.match)[0]?.comm ?? null,
    ...zombieHolderFields(trace.match),
    latency_histogram: histogram(lat.sorted),
  };
}

/** A container run under the kernel instrument; `match(t0)` matches its events (t0 null: the tracer's ready instant). */
export type Traced =
  | { container: ContainerRun; pid1: Pid1Usage; match(t0Ns: bigint | null): TraceOutcome }
  | { notRun: Pick<ContainerRun, 'exitCode' | 'timedOut' | 'aborted' | 'stderr' | 'durationMs' | 'pids'>; why: string };

/**
 * Whether host pid `pid` belongs to container `id`: its /proc/<pid>/cgroup names the container's
 * id (every cgroup driver and version puts the full id in the path: `/docker/<id>`,
 * `docker-<id>.scope`, or an owned parent's `/<parent>/<id>`).
 */
export function isContainerProcess(pid: number, id: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(id);
  } catch {
    return false;
  }
}

/** How often the host reads the container's PID 1 (CPU, RSS), ms. */
const PID1_READ_MS = 100;

/**
 * Run one container with the kernel instrument attached before its start. Once the container
 * runs, its PID 1's host pid gives the PID namespace that the events are matched on, and PID 1's
 * CPU time and RSS are read every {@link PID1_READ_MS} ms from the host's /proc.
 * With `opts.tracer` false nothing is traced (the host-only fallback of `--image`): the rest is
 * the same, and `match` answers `unavailable`.
 * `whileRunning`, when given, is awaited once the namespace is known (the spec's `stopAfterMs`
 * counts from its return); it is not called when PID 1 was gone before that.
 * @returns the container's outcome and a matcher, or `notRun` with the reason when the tracer
 *   did not start (nothing was run then).
 * @throws what the runtime's `run` or `whileRunning` throws, after the tracer was stopped.
 */
export async function underTracer(
  ctx: Pick<RunnerContext, 'runtime' | 'signal'>,
  spec: ContainerSpec,
  whileRunning?: (live: { id: string; hostPid: number; pidNs: number }) => Promise<void>,
  opts: { tracer?: boolean } = {},
): Promise<Traced> {
  let tracer: Pick<Tracer, 'stop'> | null = null;
  try {
    if (opts.tracer ?? true) tracer = await startTracer(ctx.signal ? { signal: ctx.signal } : {});
  } catch (err) {
    const aborted = ctx.signal?.aborted ?? false;
    return {
      notRun: { exitCode: null, timedOut: false, aborted, stderr: '', durationMs: 0, pids: NO_PIDS },
      why: aborted ? 'interrupted' : (err as Error).message.split('\n')[0]!,
    };
  }
  let pidNs: number | null = null;
  let why = "the container's PID 1 was gone before its PID namespace could be read";
  const pid1: Pid1Usage = { cpuMs: null, rssKib: null };
  let timer: NodeJS.Timeout | undefined;
  let container: ContainerRun;
  try {
    container = await ctx.runtime.run({
      ...spec,
      onStarted: async (id, live) => {
        const pid = await live.hostPid();
        if (pid === null) return;
        // The engine's pid is this host's only when the engine runs on this kernel: a remote
        // engine (DOCKER_HOST=tcp://…) or one in a VM reports a pid of another machine.
        if (!existsSync(`/proc/${pid}`)) return; // gone already (or another machine's): the default reason
        if (!isContainerProcess(pid, id)) {
          why = `PID 1 (pid ${pid} as the engine reports it) is not a process of this host's container ${id.slice(0, 12)}: the engine must run on this host for the kernel instrument`;
          return;
        }
        try {
          pidNs = pidNamespaceInode(pid);
        } catch (err) {
          why = `could not read /proc/${pid}/ns/pid: ${(err as Error).message}`;
          return;
        }
        // Until the first failed reading: PID 1 is then gone, and its pid may be reused.
        const read = (): void => {
          const u = processUsage(pid);
          if (u.cpuMs === null) {
            clearInterval(timer);
            return;
          }
          pid1.cpuMs = Math.max(pid1.cpuMs ?? 0, u.cpuMs);
          if (u.rssKb !== null) pid1.rssKib = Math.max(pid1.rssKib ?? 0, u.rssKb);
        };
        read();
        timer = setInterval(read, PID1_READ_MS);
        await whileRunning?.({ id, hostPid: pid, pidNs });
      },
    });
  } catch (err) {
    // The loader must not outlive a failed run.
    await tracer?.stop().catch(() => undefined);
    throw err;
  } finally {
    clearInterval(timer);
  }
  const trace = tracer ? await tracer.stop() : null;
  return {
    container,
    pid1,
    match: (t0Ns) => {
      if (!trace) return { unavailable: 'not traced: the host-only method' };
      if (pidNs === null) return { unavailable: why };
      return { match: matchTrace(trace.events, { pidNsInode: pidNs, t0Ns: t0Ns ?? trace.readyNs, stats: trace.stats }) };
    },
  };
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
