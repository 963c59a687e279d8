/**
 * Host side of the scenario library: run one scenario × init variant × case in a fresh
 * container ({@link runScenario}) and the whole library × inits × variants
 * ({@link runScenarioMatrix}), each returning typed {@link ScenarioResult}s with a verdict, the
 * expected outcome and whether they match.
 */
import { existsSync } from 'node:fs';
import { EngineLostError } from '../errors.js';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { launchFor } from '../runtime/init-launch.js';
import { DEFAULT_INITS, type InitName } from '../model/inits.js';
import type { ContainerRun } from '../runtime/container.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { MARKER_WAIT_MS, type Judgement, type ScenarioDef } from './def.js';
import { resolveParams, scenarioByName, SCENARIOS } from './library.js';
import { RESULT_PREFIX, type Expectation, type KernelFigures, type Observation, type ScenarioResult, type VariantSpec } from './types.js';
import { matchTrace, pidNamespaceInode, startTracer, type Tracer } from '../tracer/index.js';

/** Options of {@link runScenario}. */
export interface RunScenarioOptions {
  /** Sub-case (S6); default: the scenario's first case. */
  caseName?: string | null;
  /** `pids.max` of the container; default: the scenario's. */
  pidsLimit?: number;
  /** `HostConfig.CpusetCpus`. */
  cpusetCpus?: string;
  /** Aborting kills the running container. */
  signal?: AbortSignal;
  /** Attach the kernel instrument for its cross-check figures (`kernel` of the result). */
  kernel?: boolean;
  /**
   * Where a line the user should see goes (`could not remove …`: a container or parent cgroup
   * left behind), without its newline. runtime/ writes to no stream itself: the caller passes
   * its output object's line function. Absent: the line is dropped.
   */
  onNotice?: (line: string) => void;
}

/** Pull the `RB-RESULT` observation out of the workload's stdout (the last one wins). */
export function parseObservation(stdout: string): Observation | null {
  let obs: Observation | null = null;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(RESULT_PREFIX)) continue;
    try {
      obs = JSON.parse(line.slice(RESULT_PREFIX.length)) as Observation;
    } catch {
      // a truncated line: keep the previous one
    }
  }
  return obs;
}

/**
 * Combine the judge's outcome with the expectation: `matches`, and a verdict that says "cannot
 * help" where the init cannot help by design rather than crediting or blaming it.
 */
export function compose(expected: Expectation, j: Judgement): { verdict: string; matches: boolean | null } {
  if (j.outcome === 'error') return { verdict: j.verdict, matches: null };
  const matches = j.outcome === expected.outcome || (expected.alsoAccept ?? []).includes(j.outcome);
  const verdict = expected.cannotHelp && matches ? `cannot help: ${expected.cannotHelp} — ${j.verdict}` : j.verdict;
  return { verdict, matches };
}

/**
 * Resolve once `file` exists, after {@link MARKER_WAIT_MS} or once `signal` aborts: a marker that
 * never comes is for the judge to report (S6: "the worker was not ready before the stop").
 */
async function markerWritten(file: string, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + MARKER_WAIT_MS;
  while (!existsSync(file) && performance.now() < until && !signal?.aborted) await new Promise((r) => setTimeout(r, 10));
}

function resolveDef(scenario: ScenarioDef | string): ScenarioDef {
  if (typeof scenario !== 'string') return scenario;
  const def = scenarioByName(scenario);
  if (!def) throw new Error(`unknown scenario \`${scenario}\`: expected one of ${SCENARIOS.map((s) => s.name).join(', ')}`);
  return def;
}

/**
 * Run `scenario` once under `init` with `variant`'s flags in a fresh container (removed
 * afterwards) and judge it. Engine errors and timeouts become a result with `state` set, not a
 * throw, so that a matrix goes on; an engine that went away is thrown (EngineLostError): nothing
 * further can run.
 * @throws Error for an unknown scenario or bad parameters (before anything runs).
 */
export async function runScenario(
  runtime: ContainerRuntime,
  image: string,
  scenario: ScenarioDef | string,
  init: InitName,
  variant: VariantSpec = { label: init, flags: [] },
  params: Record<string, unknown> = {},
  options: RunScenarioOptions = {},
): Promise<ScenarioResult> {
  const def = resolveDef(scenario);
  const p = resolveParams(def, params);
  const caseName = options.caseName === undefined ? (def.cases[0] ?? null) : options.caseName;
  if (!def.cases.includes(caseName))
    throw new Error(`unknown case \`${caseName}\` of ${def.name}: expected one of ${def.cases.join(', ')}`);
  const launch = launchFor(init, variant.flags);
  const plan = def.command(launch.prefix, launch.engineInit, p, caseName);
  const expected = def.expect(init, variant.flags, caseName);
  const pidsLimit = options.pidsLimit ?? def.pidsLimit;
  const base = {
    id: def.id,
    scenario: def.name,
    case: caseName,
    init,
    variant: variant.label,
    flags: variant.flags,
    params: p,
    pidsLimit,
    expected,
  };
  if (plan.notApplicable) {
    return {
      ...base,
      state: 'skipped',
      failureReason: plan.notApplicable,
      outcome: 'not-applicable',
      verdict: `n/a: ${plan.notApplicable}`,
      matches: expected.outcome === 'not-applicable',
      exitCode: null,
      wall_s: 0,
      stopLatency_s: null,
      hostPidsPeak: null,
      hostForkRejections: null,
      hostPidsMethod: null,
      figures: {},
      kernel: null,
      observation: null,
    };
  }

  const outDir = plan.outDir ? await mkdtemp(path.join(os.tmpdir(), 'reapbench-scenario-')) : null;
  const helperAbort = new AbortController();
  let helper: Promise<Record<string, number>> | null = null;
  let run: ContainerRun | null = null;
  let error: string | null = null;
  let lost: EngineLostError | null = null;
  // The kernel instrument, attached before the start; a tracer that cannot start costs the
  // cross-check only, never the scenario.
  let tracer: Tracer | null = null;
  if (options.kernel && !options.signal?.aborted)
    tracer = await startTracer(options.signal ? { signal: options.signal } : {}).catch(() => null);
  let pidNs: number | null = null;
  let t0Ns = 0n;
  try {
    run = await runtime.run({
      image,
      cmd: plan.cmd,
      init: plan.engineInit,
      pidsLimit,
      timeoutMs: def.timeoutMs(p),
      ...(options.cpusetCpus ? { cpusetCpus: options.cpusetCpus } : {}),
      ...(outDir && plan.outDir ? { mounts: [{ host: outDir, container: plan.outDir }] } : {}),
      ...(plan.stopAfterMs !== null ? { stopAfterMs: plan.stopAfterMs, stopGraceS: plan.stopGraceS ?? 10 } : {}),
      labels: { 'reapbench.scenario': def.name, 'reapbench.init': variant.label, 'reapbench.phase': 'scenario' },
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
      // The runtime arms the stop timer once this returns.
      onStarted: async (id, live) => {
        if (tracer) {
          t0Ns = process.hrtime.bigint();
          const pid = await live.hostPid();
          try {
            if (pid !== null) pidNs = pidNamespaceInode(pid);
          } catch {
            // PID 1 already gone: no kernel figures for this run, the scenario goes on.
          }
        }
        if (def.host) helper = def.host(runtime, id, p, helperAbort.signal).catch(() => ({ host_helper_failed: 1 }));
        if (outDir && plan.stopAfterMarker) await markerWritten(path.join(outDir, plan.stopAfterMarker), options.signal);
      },
    });
  } catch (err) {
    error = (err as Error).message.split('\n')[0] ?? String(err);
    if (err instanceof EngineLostError) lost = err;
  } finally {
    helperAbort.abort();
  }
  const host = helper ? await helper : {};
  const trace = tracer ? await tracer.stop() : null;
  // No engine, no further scenario: the matrix stops here (its caller keeps what was measured).
  if (lost) throw lost;
  const kernel = trace && pidNs !== null ? kernelFigures(trace.events, pidNs, t0Ns, trace.stats) : null;
  const markers = new Set(outDir ? await readdir(outDir).catch(() => [] as string[]) : []);
  if (outDir) await rm(outDir, { recursive: true, force: true });

  const obs = run ? parseObservation(run.stdout) : null;
  const judged: Judgement = error
    ? { outcome: 'error', verdict: `error: ${error}`, figures: {} }
    : def.judge({
        obs,
        init,
        flags: variant.flags,
        caseName,
        params: p,
        exitCode: run!.exitCode,
        stopLatency_s: run!.stopLatencyMs === null ? null : run!.stopLatencyMs / 1000,
        markers,
        host,
      });
  let { verdict, matches } = compose(expected, judged);
  const state = error ? 'failed' : run!.timedOut ? 'timed-out' : run!.aborted ? 'aborted' : 'completed';
  if (state === 'aborted') {
    verdict = 'interrupted';
    matches = null;
  }
  if (state === 'timed-out') {
    verdict = `timed out after ${(def.timeoutMs(p) / 1000).toFixed(0)} s`;
    matches = null;
  }
  const stderrTail = run?.stderr.trim().split('\n').slice(-3).join(' | ') ?? '';
  return {
    ...base,
    state,
    failureReason: error ?? (state === 'timed-out' ? 'hard timeout' : judged.outcome === 'error' && stderrTail ? stderrTail : null),
    outcome: judged.outcome,
    verdict,
    matches,
    exitCode: run?.exitCode ?? null,
    wall_s: run ? run.durationMs / 1000 : 0,
    stopLatency_s: run?.stopLatencyMs == null ? null : run.stopLatencyMs / 1000,
    hostPidsPeak: run?.pids.peak ?? null,
    hostForkRejections: run?.pids.eventsMax ?? null,
    hostPidsMethod: run?.pids.method ?? null,
    figures: judged.figures,
    kernel,
    observation: obs,
  };
}

/** The kernel's figures of one scenario container (see {@link KernelFigures}). Pure. */
export function kernelFigures(
  events: Parameters<typeof matchTrace>[0],
  pidNsInode: number,
  t0Ns: bigint,
  stats: Parameters<typeof matchTrace>[1]['stats'],
): KernelFigures {
  const m = matchTrace(events, { pidNsInode, t0Ns, stats });
  const holder = m.zombiesByParent.filter((p) => p.unreapedAtEnd > 0).sort((a, b) => b.unreapedAtEnd - a.unreapedAtEnd)[0];
  const eagain = m.forkFailures.find((f) => f.errnoName === 'EAGAIN') ?? null;
  return {
    zombiesPeak: m.zombiesPeak,
    zombiesAtEnd: m.counts.unreapedAtEnd,
    heldBy: holder ? `${holder.comm} (pid ${holder.nsPid ?? '?'}) ×${holder.unreapedAtEnd}` : null,
    firstEagain_s: eagain ? Number((eagain.us / 1e6).toFixed(4)) : null,
    firstEagainComm: eagain?.comm ?? null,
    lost: m.lost,
  };
}

/** One planned run of the matrix. */
export interface PlannedRun {
  def: ScenarioDef;
  caseName: string | null;
  init: InitName;
  variant: VariantSpec;
}

/** Options of {@link runScenarioMatrix}. */
export interface MatrixOptions {
  /** Scenario names (default: all). */
  scenarios?: string[];
  /** Inits (default: the six {@link DEFAULT_INITS}). */
  inits?: InitName[];
  /** Only the plain variant of every init (no flags). */
  baseOnly?: boolean;
  /** Parameter overrides per scenario name. */
  params?: Record<string, Record<string, unknown>>;
  /** Called after every run (progress, rewriting reports so a later failure loses nothing). */
  onResult?: (result: ScenarioResult, index: number, total: number) => void | Promise<void>;
  signal?: AbortSignal;
  cpusetCpus?: string;
  /** Attach the kernel instrument to every run for its cross-check figures (`kernel`). */
  kernel?: boolean;
  /** Lines the user should see (see {@link RunScenarioOptions.onNotice}). */
  onNotice?: (line: string) => void;
}

/** The runs of a matrix, in order: scenario → case → init → variant. */
export function planMatrix(options: Pick<MatrixOptions, 'scenarios' | 'inits' | 'baseOnly'> = {}): PlannedRun[] {
  const defs = (options.scenarios ?? SCENARIOS.map((s) => s.name)).map(resolveDef);
  const inits = options.inits ?? [...DEFAULT_INITS];
  const out: PlannedRun[] = [];
  for (const def of defs) {
    for (const caseName of def.cases) {
      for (const init of inits) {
        const variants = def.variants(init);
        for (const variant of options.baseOnly ? variants.filter((v) => v.flags.length === 0) : variants)
          out.push({ def, caseName, init, variant });
      }
    }
  }
  return out;
}

/** Run scenarios × inits × relevant variants one after another (see {@link planMatrix}). */
export async function runScenarioMatrix(runtime: ContainerRuntime, image: string, options: MatrixOptions = {}): Promise<ScenarioResult[]> {
  const plan = planMatrix(options);
  const results: ScenarioResult[] = [];
  for (const [i, r] of plan.entries()) {
    if (options.signal?.aborted) break;
    const res = await runScenario(runtime, image, r.def, r.init, r.variant, options.params?.[r.def.name] ?? {}, {
      caseName: r.caseName,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.cpusetCpus ? { cpusetCpus: options.cpusetCpus } : {}),
      ...(options.kernel ? { kernel: true } : {}),
      ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    });
    results.push(res);
    await options.onResult?.(res, i, plan.length);
  }
  return results;
}
