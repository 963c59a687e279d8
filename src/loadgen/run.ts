/**
 * One load-generator run: reference loop → helper → watcher → baseline → production → drain →
 * summary. Everything observed is written to the NDJSON file as it happens.
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { errnoName } from '../ffi/errno.js';
import { setAffinity } from '../ffi/sched.js';
import { readPids, type PidsCgroup } from '../procfs/pids-cgroup.js';
import { readComm, threadIds } from '../procfs/process.js';
import { ownThreads, pid1Usage } from '../procfs/scan.js';
import { forkloopRate, orphanagePath, startProducer, type Producer } from './helper.js';
import { optionsRecord, resolvePidsCgroup, UsageError, type LoadgenOptions } from './options.js';
import type { NdjsonWriter } from './output.js';
import { round3, Sampler } from './sampler.js';
import { littlesLaw, loadPhaseRate, percentiles } from './stats.js';
import {
  LOADGEN_SCHEMA,
  type FirstForkFailure,
  type ForkLevel,
  type LoadgenSummary,
  type OrphanEvent,
  type Percentiles,
  type StartEvent,
} from './types.js';
import { C, type OrphanRecord, type WatchMessage } from './watch-protocol.js';
import { chooseWatchMethod, startWatcher, type Watcher } from './watcher.js';

const nowNs = (): number => Number(process.hrtime.bigint());

/** Lets the caller abort a run (SIGTERM/SIGINT): production stops, drain is skipped. */
export interface AbortSwitch {
  aborted: boolean;
  /** Called by the run to be told about an abort. */
  onAbort: (() => void) | null;
}

/**
 * Run the load generator with validated options, writing events to `out`.
 * @returns the summary (also written as the last line; the caller commits the file).
 * @throws UsageError for conditions found before production (missing cgroup files, no pidfd,
 *   rate × lifetime that cannot fit pids.max); Error for failures of the machinery itself.
 */
export async function runLoadgen(opts: LoadgenOptions, out: NdjsonWriter, abort: AbortSwitch): Promise<LoadgenSummary> {
  const wallStart = nowNs();
  const warnings: string[] = [];
  const cg: PidsCgroup | null = resolvePidsCgroup(opts);
  const method = chooseWatchMethod(opts.watchMethod);
  const bin = orphanagePath();
  const pid1Comm = readComm(1) ?? '';
  const isPid1 = process.pid === 1;

  const start: StartEvent = {
    type: 'start',
    schema: LOADGEN_SCHEMA,
    started_at: new Date().toISOString(),
    options: optionsRecord(opts),
    pid: process.pid,
    pid1_comm: pid1Comm,
    kernel: os.release(),
    cgroup_dir: cg?.dir ?? null,
    cgroup_version: cg?.version ?? null,
    watch_method: method,
  };
  out.write(start);
  out.flush();

  // Reference rate first, while nothing else runs.
  let forkloop: number | null = null;
  if (opts.forkloopMs > 0) {
    forkloop = forkloopRate(bin, opts.forkloopMs);
    if (forkloop === null) warnings.push('fork+exit+wait reference loop failed (fork refused?); forkloop_rate_per_s is null');
  }

  // --- state fed by the watcher's messages
  let t0 = nowNs();
  const toUs = (ns: number): number => round3((ns - t0) / 1e3);
  const latencies: number[] = [];
  const latenciesSelf: number[] = [];
  const exitObsLag: number[] = [];
  /** Exit time of every orphan for Little's λ: observed, else its scheduled exit
   * (created + lifetime) for late and missed ones, which did exit but unobserved. */
  const exitTimesUs: number[] = [];
  const states = { reaped: 0, zombie: 0, live: 0, missed: 0 };
  const byLevel: Record<ForkLevel, number> = { helper: 0, intermediate: 0, orphan: 0 };
  let failures = 0;
  let first: FirstForkFailure | null = null;
  let lagUs: number[] = [];
  let watchDelayUs: number[] = [];
  let productionEndNs: number | null = null;
  let endProduction: () => void = () => {};
  const productionEnded = new Promise<void>((r) => (endProduction = r));
  let stopTimer: NodeJS.Timeout | null = null;
  let watcherFailed = false;
  let producer: Producer | null = null;

  const failure = (level: ForkLevel, errno: number, tNs: number, madeBefore: number): void => {
    failures++;
    byLevel[level]++;
    const ev = { t_us: toUs(tNs), level, errno, errno_name: errnoName(errno), orphans_made_before: madeBefore };
    out.write({ type: 'fork_failure', ...ev });
    if (first === null) {
      first = ev;
      if (opts.afterFailure === 'stop') stopTimer = setTimeout(() => producer?.stop(), opts.graceMs);
    }
  };

  const orphanEvent = (r: OrphanRecord): OrphanEvent => {
    const latency = r.exitNs !== null && r.reapNs !== null && !r.coalesced ? round3((r.reapNs - r.exitNs) / 1e3) : null;
    const latencySelf = r.exitSelfNs !== null && r.reapNs !== null ? round3((r.reapNs - r.exitSelfNs) / 1e3) : null;
    return {
      type: 'orphan',
      pid: r.pid,
      created_us: toUs(r.createdNs),
      watched_us: r.watchedNs === null ? null : toUs(r.watchedNs),
      exit_us: r.exitNs === null ? null : toUs(r.exitNs),
      exit_self_us: r.exitSelfNs === null ? null : toUs(r.exitSelfNs),
      reap_us: r.reapNs === null ? null : toUs(r.reapNs),
      latency_us: latency,
      latency_self_us: latencySelf,
      state: r.state,
      late: r.late,
      coalesced: r.coalesced,
      method,
    };
  };

  const onMessage = (m: WatchMessage): void => {
    switch (m.kind) {
      case 'orphans':
        for (const r of m.records) {
          const e = orphanEvent(r);
          out.write(e);
          states[e.state]++;
          exitTimesUs.push(e.exit_us ?? e.created_us + opts.lifetimeMs * 1000);
          if (e.latency_us !== null) latencies.push(e.latency_us);
          if (e.latency_self_us !== null) latenciesSelf.push(e.latency_self_us);
          if (e.exit_us !== null && e.exit_self_us !== null) exitObsLag.push(round3(e.exit_us - e.exit_self_us));
        }
        break;
      case 'failure':
        failure(m.level, m.errno, m.tNs, m.madeBefore);
        break;
      case 'done':
        productionEndNs = m.tNs;
        endProduction();
        break;
      case 'eof':
        productionEndNs ??= nowNs();
        endProduction();
        break;
      case 'final':
        lagUs = m.lagUs;
        watchDelayUs = m.watchDelayUs;
        break;
      case 'abnormal':
        warnings.push(`an intermediate ended abnormally (wait status ${m.status}); its orphans may be missing`);
        break;
      case 'error':
        warnings.push(`watcher: ${m.message}`);
        if (m.fatal) {
          watcherFailed = true;
          producer?.stop();
          productionEndNs ??= nowNs();
          endProduction();
        }
        break;
      case 'started':
      case 'ready':
        break;
    }
  };

  // --- helper and watcher
  const spawned = startProducer(bin, {
    ratePerS: opts.ratePerS,
    lifetimeUs: opts.lifetimeMs * 1000,
    batch: opts.batch,
    inflight: opts.inflight,
    count: opts.count,
    durationMs: opts.durationS === null ? null : opts.durationS * 1000,
  });
  let watcher: Watcher | null = null;
  if ('errno' in spawned) {
    t0 = nowNs();
    failure('helper', spawned.errno, t0, 0);
    productionEndNs = t0;
    endProduction();
  } else {
    producer = spawned;
    if (opts.pin) pinProcesses(opts.pin, producer.pid, warnings);
    try {
      watcher = startWatcher(
        producer.reportFd,
        method,
        opts.pollIntervalUs,
        { nice: opts.watcherNice, rtPriority: opts.watcherRtPriority, cpu: opts.pin?.observerCpu ?? -1, spin: opts.watcherSpin },
        onMessage,
      );
    } catch (err) {
      producer.stop();
      await producer.wait(2000);
      const p = cg ? readPids(cg) : null;
      const why = p ? ` (pids.max ${p.max ?? 'max'}, ${p.current} tasks in use: no room for the load generator itself)` : '';
      throw new UsageError(`cannot start the watcher thread: ${(err as Error).message}${why}`);
    }
    await watcher.ready;
  }

  const baseline = cg ? readPids(cg) : null;
  const loadgenThreads = ownThreads();
  const budget = baseline?.current != null && typeof baseline.max === 'number' ? baseline.max - baseline.current : null;
  const cleanup = async (): Promise<void> => {
    producer?.stop();
    await watcher?.stop();
    await producer?.wait(2000);
  };
  if (opts.checkBudget && budget !== null && opts.ratePerS !== null) {
    // Orphans alive at once in the steady state, plus one batch and its intermediate.
    const need = Math.ceil((opts.ratePerS * opts.lifetimeMs) / 1000) + opts.batch + opts.inflight;
    if (need > budget) {
      await cleanup();
      throw new UsageError(
        `Expected \`--rate\` × \`--lifetime-ms\` to fit the pids budget: needs ~${need} tasks at once, budget is ${budget} (pids.max ${baseline!.max} − baseline ${baseline!.current}); lower the rate or lifetime, or pass --no-check-budget`,
      );
    }
  }

  const counters = watcher?.counters ?? new Int32Array(16);
  const cnt = (i: number): number => Atomics.load(counters, i);
  const sampler = new Sampler(
    {
      cgroup: cg,
      helperPid: () => producer?.pid ?? 0,
      orphanCounts: () => {
        const made = cnt(C.MADE) - cnt(C.MISSED);
        return { live: made - cnt(C.EXITED), zombie: cnt(C.EXITED) - cnt(C.REAPED) };
      },
      t0Ns: () => t0,
    },
    opts.sampleHz,
    opts.scanEvery,
    (s) => out.write(s),
  );
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const pid1Start = pid1Usage();
  abort.onAbort = () => {
    producer?.stop();
    endProduction();
  };

  // --- production
  if (producer && !abort.aborted && !watcherFailed) {
    t0 = nowNs();
    sampler.sample();
    sampler.start();
    producer.go();
    await productionEnded;
    productionEndNs ??= nowNs();
    if (stopTimer) clearTimeout(stopTimer);
  }
  const prodEndNs: number = productionEndNs ?? nowNs();

  // --- drain: wait for exits and reaps, ending early once everything is accounted for, or once
  // every orphan has exited and no reap happened for 500 ms (no init: they stay zombies).
  if (producer && !abort.aborted && !watcherFailed) {
    const deadline = nowNs() + opts.drainMs * 1e6;
    let lastReaped = -1;
    let lastChange = nowNs();
    // Imported here, not with the module: it is not among the built-ins Node loads at boot, and
    // a static import would add to the load generator's start-up (~0.3–0.7 ms measured).
    const { setTimeout: sleep } = await import('node:timers/promises');
    while (nowNs() < deadline && !abort.aborted) {
      const made = cnt(C.MADE);
      const reaped = cnt(C.REAPED);
      const missed = cnt(C.MISSED);
      if (reaped + missed >= made) break;
      if (reaped !== lastReaped) {
        lastReaped = reaped;
        lastChange = nowNs();
      }
      if (cnt(C.EXITED) + missed >= made && nowNs() - lastChange > 500e6) break;
      await sleep(10);
    }
  }
  sampler.sample();
  sampler.stop();
  loopDelay.disable();
  await cleanup();
  if (cnt(C.BAD_LINES) > 0) warnings.push(`${cnt(C.BAD_LINES)} unreadable helper report lines`);

  // --- summary
  const samples = sampler.samples;
  const made = cnt(C.MADE);
  const exited = cnt(C.EXITED);
  const reaped = cnt(C.REAPED);
  const productionS = Math.max(1e-9, (prodEndNs - t0) / 1e9);
  const lat = percentiles(latencies);
  const scans = samples.filter((s) => s.zombies !== null).map((s) => s.zombies!);
  const cpuEnd = samples.length ? samples[samples.length - 1]!.pid1_cpu_ms : null;
  const rss = samples.map((s) => s.pid1_rss_kb).filter((x): x is number => x !== null);
  const pidsEnd = cg ? readPids(cg) : null;

  let little = null;
  if (exited > 0 && reaped >= 0.9 * exited && states.missed < 0.1 * made) {
    little = littlesLaw(samples, exitTimesUs, opts.lifetimeMs * 1000, (prodEndNs - t0) / 1e3);
  }
  const coalesced = cnt(C.COALESCED);
  if (made > 0 && coalesced > 0.05 * reaped) {
    warnings.push(
      `${coalesced} of ${reaped} reaps were seen in the same wake-up as the exit (watcher starved?): latency percentiles exclude them; pin the watcher to its own CPU`,
    );
  }
  if (states.missed > 0) warnings.push(`${states.missed} orphans were gone before they could be watched; raise --lifetime-ms`);
  const lagP = percentiles(lagUs);
  const firstF = first as FirstForkFailure | null;

  const summary: LoadgenSummary = {
    type: 'summary',
    schema: LOADGEN_SCHEMA,
    state: watcherFailed ? 'failed' : abort.aborted ? 'aborted' : 'completed',
    options: optionsRecord(opts),
    is_pid1: isPid1,
    pid1_comm: pid1Comm,
    kernel: os.release(),
    cgroup_dir: cg?.dir ?? null,
    cgroup_version: cg?.version ?? null,
    orphans_made: made,
    orphans_exited: exited,
    orphans_reaped: reaped,
    orphans_zombie: states.zombie,
    orphans_live: states.live,
    orphans_missed: states.missed,
    orphans_late: cnt(C.LATE),
    orphans_coalesced: coalesced,
    orphans_unaccounted: made - states.reaped - states.zombie - states.live - states.missed,
    t0_ns: t0,
    production_s: round3(productionS),
    achieved_rate_per_s: round3(loadPhaseRate(made, productionS, firstF && { s: firstF.t_us / 1e6, before: firstF.orphans_made_before })),
    forkloop_rate_per_s: forkloop === null ? null : round3(forkloop),
    fork_failures: failures,
    fork_failures_by_level: byLevel,
    first_fork_failure: firstF,
    time_to_first_fork_failure_us: firstF?.t_us ?? null,
    pids_events_max_delta: baseline?.eventsMax != null && pidsEnd?.eventsMax != null ? pidsEnd.eventsMax - baseline.eventsMax : null,
    baseline_tasks: baseline?.current ?? null,
    pids_max: baseline?.max ?? null,
    effective_budget: budget,
    instrument_tasks: loadgenThreads + (producer ? 1 : 0),
    loadgen_threads: loadgenThreads,
    loadgen_threads_max: Math.max(loadgenThreads, ...samples.map((s) => s.loadgen_threads)),
    latency_method: method,
    latency_resolution_us: method === 'pidfd-poll' ? opts.pollIntervalUs : lagP.p50_us,
    latency: lat,
    latency_self: percentiles(latenciesSelf),
    exit_observation_lag: percentiles(exitObsLag),
    watcher_lag: lagP,
    watch_delay: percentiles(watchDelayUs),
    event_loop_delay: histogramPercentiles(loopDelay),
    little_mean_zombies: little?.meanZombies ?? null,
    little_exit_rate_per_s: little?.exitRatePerS ?? null,
    little_latency_us: little?.latencyUs ?? null,
    little_ratio: little && lat.mean_us ? round3(little.latencyUs / lat.mean_us) : null,
    little_window_s: little?.windowS ?? null,
    samples: samples.length,
    sample_collect_mean_ms: samples.length ? round3(samples.reduce((a, s) => a + s.collect_ms, 0) / samples.length) : null,
    zombies_max: scans.length ? Math.max(...scans) : null,
    pid1_cpu_ms: cpuEnd !== null && pid1Start.cpuMs !== null ? cpuEnd - pid1Start.cpuMs : null,
    pid1_rss_kb_max: rss.length ? Math.max(...rss) : null,
    warnings,
    wall_s: round3((nowNs() - wallStart) / 1e9),
    out: opts.out,
  };
  return summary;
}

/** Resolution of the event-loop delay monitor, ms. */
const LOOP_RESOLUTION_MS = 10;

/** Percentiles of Node's event-loop delay histogram (ns), made relative to its timer: Node
 * records the whole interval between timer runs, resolution included. */
function histogramPercentiles(h: ReturnType<typeof monitorEventLoopDelay>): Percentiles {
  if (h.count === 0) return { n: 0, p50_us: null, p90_us: null, p99_us: null, max_us: null, mean_us: null };
  const us = (ns: number): number => round3(Math.max(0, ns / 1e3 - LOOP_RESOLUTION_MS * 1e3));
  return {
    n: h.count,
    p50_us: us(h.percentile(50)),
    p90_us: us(h.percentile(90)),
    p99_us: us(h.percentile(99)),
    max_us: us(h.max),
    mean_us: us(h.mean),
  };
}

/**
 * Apply `--pin`: the helper (and so every orphan it forks later) and PID 1 go to the workload
 * CPU, this process's main thread to the observer CPU (the watcher pins itself). When the load
 * generator is PID 1 ("no init") it stays with the observer: it does no reaping to measure.
 * Failures are warnings: the run goes on unpinned.
 */
function pinProcesses(pin: { observerCpu: number; workloadCpu: number }, helperPid: number, warnings: string[]): void {
  const targets: Array<[string, number, number]> = [
    ['the helper', helperPid, pin.workloadCpu],
    ['the load generator', process.pid, pin.observerCpu],
  ];
  // Every thread of PID 1, not only its main thread: an init with a wait thread (ts-reaper)
  // would otherwise reap from the observer's CPU while the C inits share the busy workload CPU.
  if (process.pid !== 1) for (const tid of threadIds(1) ?? [1]) targets.push([`PID 1 (thread ${tid})`, tid, pin.workloadCpu]);
  for (const [what, tid, cpu] of targets) {
    const r = setAffinity(tid, [cpu]);
    if (r.ret < 0) warnings.push(`could not pin ${what} to CPU ${cpu} (errno ${r.errno}); it runs unpinned`);
  }
}
