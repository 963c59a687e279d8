/**
 * Two figures of the kernel-instrument work, measured in the app image under
 * tini (`npm run bench:instrument`; root, an engine, a built tracer):
 *
 * 1. The load generator at the fork floor. In containers with the same settings (pids limit
 *    `--pids-limit`, pinned to CPU `--cpu`, tini as PID 1), interleaved rounds of
 *    - `orphanage solo 0 LIFETIME_US BATCH 0 MS INFLIGHT 500 200` (what `reapbench run
 *      --instrument ebpf` runs, as fast as it can): orphans/s = its N line's made count ÷ (D − S).
 *      `reapbench run` uses 1×1 up to 1000/s and up to 1×16 above (`soloBatch`): the goal is
 *      judged on 1×16, the setting of its highest rates;
 *    - `orphanage forkloop MS`, a plain fork + _exit + waitpid loop: iterations/s = R count ÷ ns.
 *      Its child exits at once, so the like-for-like orphan lifetime is 0 µs (the default);
 *    - optionally the Node load generator (`loadgen.mjs --rate max`, its pidfd watcher running,
 *      as `reapbench run --instrument pidfd` uses it): its `achieved_rate_per_s`.
 *    The order rotates every round so that drift in machine load falls on every variant.
 *    Reported: the medians and solo ÷ forkloop (median over rounds of the ratio within a round).
 *    Goal ≥ 0.8×; before the kernel instrument the Node load generator reached 312/s against
 *    789/s (0.4×).
 * 2. Agreement of the two instruments: `runOne` with `instrument: 'both'` (the load generator and
 *    its in-container pidfd watcher, with the kernel tracer outside), so both see the same
 *    orphans; the record holds the kernel's p50 (`reap_latency_p50_us`) and the watcher's
 *    (`pidfd_latency_p50_us`). Conditions (`--conditions`): `idle`, a low rate with the watcher
 *    pinned apart from the workload (`--pin 0:1`); `spin`, the same with the watcher polling
 *    instead of sleeping (`--watcher-spin`); `load`, a high rate; `hog`, a CPU hog on the
 *    watcher's CPU. Each run's two records are also joined orphan by orphan on CLOCK_MONOTONIC
 *    (the load generator's `t0_ns`): how late the watcher's exit and reap instants were against
 *    the kernel's, how many orphans it coalesced, and both p50s over the same orphans: the
 *    measured explanation of any difference between the two p50s.
 *
 *   npm run bench:instrument -- [--rounds 5] [--ms 2000] [--lifetime-us 0] [--solo 1x1,1x16]
 *     [--no-loadgen] [--agree-reps 3] [--conditions idle,spin,load,hog] [--skip-floor] [--skip-agree] [--json FILE]
 *
 * Every container carries the run label and is removed by the runtime however the bench ends;
 * Ctrl-C aborts the container under way (removed), stops the CPU hog, and exits 130.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median, quantileSorted } from 'simple-statistics';
import { ensureImages } from '../src/images/build.js';
import { parseHelperLine } from '../src/loadgen/helper.js';
import type { LoadgenSummary } from '../src/loadgen/types.js';
import type { LoadgenEvent, OrphanEvent } from '../src/loadgen/types.js';
import type { RunRecord } from '../src/model/records.js';
import type { TraceMatch } from '../src/tracer/index.js';
import { runOne, type RunnerContext } from '../src/run/runner.js';
import { IMAGE_ORPHANAGE, SOLO_MAX_BATCH } from '../src/run/traced.js';
import type { PlannedRun } from '../src/run/matrix.js';
import { cleanUpOnInterrupt, onInterrupt } from '../src/run/interrupt.js';
import type { ContainerSpec } from '../src/runtime/container.js';
import { connectDockerRuntime } from '../src/runtime/docker.js';
import { launchFor } from '../src/runtime/init-launch.js';
import { tracerAvailability } from '../src/tracer/index.js';

const USAGE = `usage: npm run bench:instrument -- [--rounds 5] [--ms 2000] [--lifetime-us 0] [--solo 1x1,1x16]
  [--cpu 1] [--pids-limit 4096] [--no-loadgen] [--agree-reps 3] [--conditions idle,spin,load,hog] [--skip-floor]
  [--skip-agree] [--json FILE]
--solo: comma-separated INFLIGHTxBATCH settings of orphanage solo to measure (reapbench run
uses 1x1 up to 1000/s, up to 1x16 above; the goal is judged on 1x16). --lifetime-us: the orphans'
life (0 = like the loop's child, which exits at once). See the header of bench/instrument.ts for the method.`;

/** One measurement of the fork floor: a variant's rate in one round, per second. */
interface FloorSample {
  /** `forkloop`, `solo IxB`, or `node loadgen`. */
  variant: string;
  round: number;
  /** Orphans (or loop iterations) per second. */
  ratePerS: number;
  /** solo only: its forks per second, intermediates (one per BATCH orphans) and orphans. */
  forksPerS: number | null;
}

/** One agreement run: the condition it ran under and the two p50s, µs. */
interface AgreeSample {
  condition: string;
  repetition: number;
  state: RunRecord['state'];
  /** Kernel instrument: SIGCHLD generation → wait4/waitid return, p50, µs. */
  kernelP50Us: number | null;
  /** In-container pidfd watcher: EPOLLIN → EPOLLHUP, p50, µs. */
  pidfdP50Us: number | null;
  kernelP99Us: number | null;
  pidfdP99Us: number | null;
  /** Orphans made in the run. */
  orphans: number;
  /** The watcher's 100 Hz timer lag, p99, µs: how late it was woken. */
  watcherLagP99Us: number | null;
  lostEvents: number | null;
  /** The same orphans seen by both instruments, per-instant offsets (see {@link InstantOffsets}); null when none matched. */
  offsets: InstantOffsets | null;
}

/**
 * Where each instrument put the same instants, orphan by orphan, on the one CLOCK_MONOTONIC:
 * percentiles (p10, p50, p90), µs, over the orphans both saw exit and reaped (the watcher's late
 * ones left out, and its coalesced ones too unless said otherwise), of
 *  - `exit`: the watcher's exit instant (its wake-up with EPOLLIN on the pidfd) − the kernel's
 *    (SIGCHLD generation);
 *  - `reap`: the watcher's reap instant (its wake-up with EPOLLHUP) − the kernel's (wait4/waitid
 *    return);
 *  - `self`: the orphan's own clock reading just before `_exit` − the kernel's exit instant
 *    (negative: the exit path; a check that the two clocks line up).
 * The watcher's latency minus the kernel's is `reap − exit`, orphan by orphan.
 */
interface InstantOffsets {
  /** Orphans of the watcher that both instruments saw exit and reaped, and of them those the watcher saw exit and reap in one wake-up (`coalesced`: left out of its latency). */
  matched: number;
  coalesced: number;
  /** `exit` and `reap` over the matched orphans, the coalesced ones included (their exit instant is the wake-up that saw both). */
  exitAll: [number, number, number];
  reapAll: [number, number, number];
  exit: [number, number, number];
  reap: [number, number, number];
  self: [number, number, number];
  /** pidfd latency − kernel latency, per orphan. */
  latency: [number, number, number];
  /** p50 of each instrument's latency over the same orphans (the matched, not coalesced ones:
   * those the watcher's own p50 counts), µs; and the kernel's over every matched orphan. */
  kernelP50Same: number;
  pidfdP50Same: number;
  kernelP50Matched: number;
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    ms: { type: 'string', default: '2000' },
    'lifetime-us': { type: 'string', default: '0' },
    solo: { type: 'string', default: `1x1,1x${SOLO_MAX_BATCH}` },
    cpu: { type: 'string', default: '1' },
    'pids-limit': { type: 'string', default: '4096' },
    'no-loadgen': { type: 'boolean', default: false },
    'agree-reps': { type: 'string', default: '3' },
    'skip-floor': { type: 'boolean', default: false },
    'skip-agree': { type: 'boolean', default: false },
    conditions: { type: 'string', default: 'idle,spin,load,hog' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const rounds = Number(values.rounds);
const ms = Number(values.ms);
const lifetimeUs = Number(values['lifetime-us']);
const pidsLimit = Number(values['pids-limit']);
const agreeReps = Number(values['agree-reps']);
const wanted = values.conditions.split(',').map((s) => s.trim());
const soloSettings = values.solo.split(',').map((s) => {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  return m ? { inflight: Number(m[1]), batch: Number(m[2]) } : null;
});
const bad = [
  !Number.isInteger(rounds) || rounds < 1 ? `\`--rounds\` to be an integer ≥ 1, got \`${values.rounds}\`` : null,
  !Number.isInteger(ms) || ms < 200 ? `\`--ms\` to be an integer ≥ 200, got \`${values.ms}\`` : null,
  !Number.isInteger(lifetimeUs) || lifetimeUs < 0 ? `\`--lifetime-us\` to be an integer ≥ 0, got \`${values['lifetime-us']}\`` : null,
  !Number.isInteger(pidsLimit) || pidsLimit < 64 ? `\`--pids-limit\` to be an integer ≥ 64, got \`${values['pids-limit']}\`` : null,
  !Number.isInteger(agreeReps) || agreeReps < 1 ? `\`--agree-reps\` to be an integer ≥ 1, got \`${values['agree-reps']}\`` : null,
  soloSettings.some((s) => s === null || s.inflight < 1 || s.batch < 1 || s.inflight > 64 || s.batch > 64)
    ? `\`--solo\` to be a list like 1x1,2x4 (INFLIGHTxBATCH, each 1–64), got \`${values.solo}\``
    : null,
  !/^\d+$/.test(values.cpu) ? `\`--cpu\` to be one CPU number, got \`${values.cpu}\`` : null,
  wanted.length === 0 || wanted.some((w) => !['idle', 'spin', 'load', 'hog'].includes(w))
    ? `\`--conditions\` to be a list of idle, spin, load, hog, got \`${values.conditions}\``
    : null,
].filter((x): x is string => x !== null);
if (bad.length > 0) {
  console.error(`instrument: Expected ${bad[0]}\n${USAGE}`);
  process.exit(2);
}

// Ctrl-C: abort what runs (the runtime then removes its container, the tracer stops), stop the
// hog; the loop below sees the abort and exits 130 once the removal is done.
const abort = new AbortController();
let hog: ChildProcess | null = null;
onInterrupt(() => {
  abort.abort();
  void stopHog();
});
const interrupted = (): never => {
  console.error('instrument: interrupted; its containers were removed');
  process.exit(130);
};

const runtime = await connectDockerRuntime();
cleanUpOnInterrupt(runtime);
const images = await ensureImages(runtime, { signal: abort.signal, onProgress: (l) => console.error(l) });
const tini = launchFor('tini').prefix;
const stats = { floor: [] as FloorSample[], agree: [] as AgreeSample[] };
const raw = mkdtempSync(path.join(tmpdir(), 'reapbench-instrument-'));

try {
  if (!values['skip-floor']) await measureFloor();
  if (!values['skip-agree']) await measureAgreement();
} finally {
  await stopHog();
  rmSync(raw, { recursive: true, force: true });
}
if (values.json) writeFileSync(values.json, JSON.stringify(stats, null, 2));
process.exit(0);

/** A container with the floor's settings (tini, pinned, high pids limit); stdout of a completed run. */
async function inContainer(cmd: string[], extra: Partial<ContainerSpec> = {}): Promise<string> {
  const run = await runtime.run({
    image: images.app,
    cmd: [...tini, ...cmd],
    pidsLimit,
    cpusetCpus: values.cpu,
    timeoutMs: ms + 30_000,
    // The host's pids sampler reads the cgroup every 50 ms: not part of what is measured.
    pidsSampleMs: 0,
    labels: { 'reapbench.phase': 'bench-instrument' },
    signal: abort.signal,
    ...extra,
  });
  if (run.aborted) interrupted();
  if (run.exitCode !== 0) throw new Error(`${cmd.join(' ')} exited ${run.exitCode}: ${run.stderr.trim().slice(-300)}`);
  return run.stdout;
}

/**
 * `orphanage solo` as fast as it goes: orphans made (its N line) ÷ (D − S), per second, and its forks per
 * second (orphans + intermediates, one intermediate per `batch` orphans attempted).
 */
async function soloRate(inflight: number, batch: number): Promise<{ ratePerS: number; forksPerS: number }> {
  const out = await inContainer([
    IMAGE_ORPHANAGE,
    'solo',
    '0',
    String(lifetimeUs),
    String(batch),
    '0',
    String(ms),
    String(inflight),
    '500',
    '200',
  ]);
  const lines = out.split('\n').map((l) => parseHelperLine(l.trim()));
  const s = lines.find((l) => l?.kind === 'started');
  const d = lines.find((l) => l?.kind === 'done');
  const n = lines.find((l) => l?.kind === 'counts');
  if (!s || !d || !n || n.kind !== 'counts') throw new Error(`orphanage solo printed no S, N or D line: ${out.slice(0, 200)}`);
  const o = n.made;
  if (lines.some((l) => l?.kind === 'failure')) throw new Error('orphanage solo: a fork failed (raise --pids-limit)');
  const seconds = (d.tNs - s.tNs) / 1e9;
  return { ratePerS: o / seconds, forksPerS: (o + Math.ceil(d.attempted / batch)) / seconds };
}

/** `orphanage forkloop`: iterations per second. */
async function forkloopRate(): Promise<{ ratePerS: number; forksPerS: null }> {
  const out = await inContainer([IMAGE_ORPHANAGE, 'forkloop', String(ms)]);
  const m = /^R (\d+) (\d+)$/m.exec(out);
  if (!m) throw new Error(`orphanage forkloop printed ${JSON.stringify(out.slice(0, 200))}`);
  return { ratePerS: Number(m[1]) / (Number(m[2]) / 1e9), forksPerS: null };
}

/** The Node load generator at `--rate max` (its watcher on): its achieved orphans per second. */
async function loadgenRate(round: number): Promise<{ ratePerS: number; forksPerS: null }> {
  const name = `loadgen-${round}.ndjson`;
  const lifetimeMs = String(lifetimeUs / 1000);
  await inContainer(
    [
      'node',
      '/app/dist/loadgen.mjs',
      '--rate',
      'max',
      '--lifetime-ms',
      lifetimeMs,
      '--duration-s',
      String(ms / 1000),
      '--forkloop-ms',
      '0',
    ].concat(['--drain-ms', '500', '--out', `/results/${name}`]),
    { mounts: [{ host: raw, container: '/results' }] },
  );
  const summary = readFileSync(path.join(raw, name), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"summary"'))
    .map((l) => JSON.parse(l) as LoadgenSummary)[0];
  if (!summary) throw new Error('the load generator wrote no summary');
  return { ratePerS: summary.achieved_rate_per_s, forksPerS: null };
}

/** Part 1: interleaved rounds of every variant, then the medians and ratios. */
async function measureFloor(): Promise<void> {
  const variants: { name: string; run: (round: number) => Promise<{ ratePerS: number; forksPerS: number | null }> }[] = [
    { name: 'forkloop', run: forkloopRate },
    ...soloSettings.map((s) => ({ name: `solo ${s!.inflight}x${s!.batch}`, run: () => soloRate(s!.inflight, s!.batch) })),
    ...(values['no-loadgen'] ? [] : [{ name: 'node loadgen', run: loadgenRate }]),
  ];
  console.error(`fork floor: ${rounds} rounds × ${variants.length} variants × ${ms} ms, CPU ${values.cpu}, tini, pids.max ${pidsLimit}`);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round (and reverse every other) so that no variant always runs first.
    const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
    if (r % 2 === 1) order.reverse();
    for (const v of order) {
      const { ratePerS, forksPerS } = await v.run(r);
      stats.floor.push({ variant: v.name, round: r, ratePerS, forksPerS });
      console.error(
        `  round ${r + 1}: ${v.name.padEnd(13)} ${ratePerS.toFixed(0)}/s${forksPerS === null ? '' : ` (${forksPerS.toFixed(0)} forks/s)`}`,
      );
    }
  }
  const of = (name: string): number[] => stats.floor.filter((s) => s.variant === name).map((s) => s.ratePerS);
  const loop = of('forkloop');
  console.log(
    `\nFork floor (in the app image under tini, CPU ${values.cpu}, pids.max ${pidsLimit}, ${rounds} interleaved rounds of ${ms} ms)`,
  );
  console.log(`  forkloop      median ${median(loop).toFixed(0).padStart(5)}/s  (${loop.map((x) => x.toFixed(0)).join(', ')})`);
  for (const v of variants.slice(1)) {
    const xs = of(v.name);
    // Ratio within each round (neighbours in time), then the median: fairest under drift.
    const ratio = median(xs.map((x, i) => x / loop[i]!));
    const goal =
      v.name === `solo 1x${SOLO_MAX_BATCH}`
        ? `  (goal ≥ 0.8×${ratio >= 0.8 ? ': met' : ': NOT MET'})`
        : v.name.startsWith('solo')
          ? "  (reference: the goal is judged on the highest rates' setting)"
          : '';
    console.log(
      `  ${v.name.padEnd(13)} median ${median(xs).toFixed(0).padStart(5)}/s  (${xs.map((x) => x.toFixed(0)).join(', ')})  ÷ forkloop ${ratio.toFixed(2)}×${goal}`,
    );
    const forks = stats.floor.filter((s) => s.variant === v.name).map((s) => s.forksPerS);
    if (forks.every((f): f is number => f !== null))
      console.log(
        `  ${''.padEnd(13)} forks  ${median(forks).toFixed(0).padStart(5)}/s (orphans + intermediates)  ÷ forkloop ${median(forks.map((f, i) => f / loop[i]!)).toFixed(2)}×`,
      );
  }
  console.log(
    [
      '  Method: forkloop = R count ÷ elapsed (one process: fork, _exit, waitpid). solo = the made count of its N line ÷ (D − S), the orphans it',
      `  forked (lifetime ${lifetimeUs} µs, RATE 0 = as fast as it can; IxB = intermediates in flight × orphans per intermediate).`,
      '  node loadgen = achieved_rate_per_s of loadgen.mjs --rate max, with its in-container pidfd watcher running.',
      '  Limits: each variant runs in its own container, one after the other; the ratio is within a round, not the same',
      "  instant. An orphan costs two forks (intermediate + orphan) and two exits against the loop's one of each;",
      "  with BATCH B one intermediate serves B orphans. The forks line is solo's fork throughput against the loop's.",
    ].join('\n'),
  );
}

/** Part 2: `runOne` with both instruments, idle then under load; the p50 pairs and whether they agree. */
async function measureAgreement(): Promise<void> {
  const a = tracerAvailability();
  if (!a.available) {
    console.log(`\nAgreement: skipped, the kernel instrument is ${a.reason}`);
    return;
  }
  const ctx: RunnerContext = {
    runtime,
    image: images.app,
    rawDir: raw,
    runTimeoutS: 60,
    instrument: 'both',
    // The watcher (observer) on CPU 0, PID 1 + helper + orphans on CPU 1: the watcher idle.
    pin: '0:1',
    signal: abort.signal,
    onBothInstruments: (kernel, loadgen) => (lastOffsets = instantOffsets(kernel, loadgen)),
  };
  let lastOffsets: InstantOffsets | null = null;
  const conditions: { key: string; name: string; rate: number; hog: boolean; spin: boolean }[] = [
    { key: 'idle', name: 'idle, 50/s', rate: 50, hog: false, spin: false },
    // The same with the watcher polling instead of sleeping: neither of its instants then ends a
    // wake-up from idle, the one thing that differs between its exit and its reap (see the
    // per-orphan offsets below).
    { key: 'spin', name: 'idle, spinning', rate: 50, hog: false, spin: true },
    { key: 'load', name: 'load, 1000/s', rate: 1000, hog: false, spin: false },
    { key: 'hog', name: 'hog on CPU 0, 50/s', rate: 50, hog: true, spin: false },
  ].filter((c) => wanted.includes(c.key));
  console.error(`agreement: ${conditions.length} conditions × ${agreeReps} runs, tini, lifetime 5 ms, 3 s, pin 0:1`);
  let index = 0;
  for (let rep = 0; rep < agreeReps; rep++) {
    for (const c of conditions) {
      const run: PlannedRun = {
        scenario: 'orphans',
        pids_limit: 1024,
        rate_per_s: c.rate,
        lifetime_ms: 5,
        duration_s: 3,
        init: 'tini',
        repetition: rep,
        order: index,
      };
      if (c.hog) startHog('0');
      ctx.watcherSpin = c.spin;
      lastOffsets = null;
      let r: RunRecord;
      try {
        r = await runOne(ctx, run, index++);
      } finally {
        await stopHog();
      }
      if (abort.signal.aborted) interrupted();
      stats.agree.push({
        condition: c.name,
        repetition: rep,
        state: r.state,
        kernelP50Us: r.reap_latency_p50_us,
        pidfdP50Us: r.pidfd_latency_p50_us,
        kernelP99Us: r.reap_latency_p99_us,
        pidfdP99Us: r.pidfd_latency_p99_us,
        orphans: r.orphans_made,
        watcherLagP99Us: r.watcher_lag_p99_us,
        lostEvents: r.lost_events,
        offsets: lastOffsets,
      });
      const s = stats.agree.at(-1)!;
      console.error(
        `  ${c.name.padEnd(20)} rep ${rep + 1}: ${s.state}, kernel p50 ${fmt(s.kernelP50Us)} µs, pidfd p50 ${fmt(s.pidfdP50Us)} µs (${s.orphans} orphans)${r.failure_reason ? `: ${r.failure_reason}` : ''}${
          s.offsets
            ? `; per orphan (${s.offsets.matched}), watcher − kernel p50: exit ${s.offsets.exit[1]}, reap ${s.offsets.reap[1]}, own report ${s.offsets.self[1]} µs; ${s.offsets.coalesced} coalesced, with them exit ${s.offsets.exitAll[1]}, reap ${s.offsets.reapAll[1]} µs`
            : ''
        }`,
      );
    }
  }
  console.log('\nAgreement of the instruments (tini, lifetime 5 ms, 3 s per run, watcher on CPU 0, workload on CPU 1)');
  console.log(
    '  condition             kernel p50  pidfd p50  agree?   kernel p99  pidfd p99  watcher lag p99  lost  (µs; per-run medians)',
  );
  for (const c of conditions) {
    const runs = stats.agree.filter((s) => s.condition === c.name && s.state === 'completed');
    const med = (f: (s: AgreeSample) => number | null): number | null => {
      const xs = runs.map(f).filter((x): x is number => x !== null);
      return xs.length ? median(xs) : null;
    };
    const k = med((s) => s.kernelP50Us);
    const p = med((s) => s.pidfdP50Us);
    const agree = k === null || p === null ? 'n/a' : Math.abs(k - p) <= Math.max(2, 0.1 * k) ? 'yes' : 'NO';
    const lost = runs.reduce((n, s) => n + (s.lostEvents ?? 0), 0);
    console.log(
      `  ${c.name.padEnd(20)} ${fmt(k).padStart(10)} ${fmt(p).padStart(10)}  ${agree.padEnd(6)} ${fmt(med((s) => s.kernelP99Us)).padStart(10)} ${fmt(med((s) => s.pidfdP99Us)).padStart(10)} ${fmt(med((s) => s.watcherLagP99Us)).padStart(16)} ${String(lost).padStart(5)}   (${runs.length} runs)`,
    );
  }
  // Why the two p50s differ: the same orphans on one clock (load generator t0_ns + the kernel's
  // CLOCK_MONOTONIC timestamps), each instant's offset, and both p50s over the same orphans.
  console.log("\n  Per orphan, both instruments on one clock (µs; per-run medians of each run's p50, [min, max] over runs):");
  console.log(
    '  condition             coalesced  watcher−kernel: exit     reap       (incl. coalesced: exit     reap)   same orphans: kernel p50  pidfd p50  agree?',
  );
  for (const c of conditions) {
    const runs = stats.agree.filter((s) => s.condition === c.name && s.state === 'completed' && s.offsets !== null);
    if (runs.length === 0) continue;
    const o = runs.map((s) => s.offsets!);
    const mm = (xs: number[]): string => `${fmt(median(xs))} [${fmt(Math.min(...xs))}, ${fmt(Math.max(...xs))}]`;
    const k = median(o.map((x) => x.kernelP50Same));
    const p = median(o.map((x) => x.pidfdP50Same));
    const coalesced = o.reduce((n, x) => n + x.coalesced, 0);
    const matched = o.reduce((n, x) => n + x.matched, 0);
    console.log(
      `  ${c.name.padEnd(20)} ${`${coalesced}/${matched}`.padStart(10)}  exit ${mm(o.map((x) => x.exit[1]))}  reap ${mm(o.map((x) => x.reap[1]))}  (exit ${mm(o.map((x) => x.exitAll[1]))}  reap ${mm(o.map((x) => x.reapAll[1]))})  kernel ${mm(o.map((x) => x.kernelP50Same))}  pidfd ${mm(o.map((x) => x.pidfdP50Same))}  ${Math.abs(k - p) <= Math.max(2, 0.1 * k) ? 'yes' : 'NO'}`,
    );
  }
  console.log(
    [
      "  exit = the watcher's EPOLLIN wake-up − the kernel's SIGCHLD instant; reap = its EPOLLHUP wake-up − the wait4 return;",
      "  both are how late the watcher woke (negative: the pidfd is notified a little before the kernel's instant). The",
      "  watcher's latency is reap − exit later than the kernel's; its p50 leaves out the coalesced orphans (exit and reap",
      '  in one wake-up: its exit wake-up came after the reap), so it counts the longer-lived zombies only. "same orphans"',
      "  compares both instruments' p50 over the orphans the watcher's p50 counts.",
    ].join('\n'),
  );
  console.log(
    [
      '  Method: kernel = eBPF tracepoints outside the container, SIGCHLD generation (signal_generate, sig 17) → return of',
      "  the reaper's wait4/waitid, per orphan re-parented to PID 1. pidfd = the load generator's watcher inside the",
      "  container, EPOLLIN (exit) → EPOLLHUP (reap) on each orphan's pidfd, orphans seen in one wake-up left out.",
      "  Agree = |kernel − pidfd| ≤ max(2 µs, 10 % of kernel), on the medians over runs of each run's p50.",
      "  Limits: the two start at different instants of the exit path (SIGCHLD vs the pidfd wake-up) and the watcher's",
      '  figures are late by its own wake-up lag; under a CPU hog the watcher is starved and sees exit and reap together',
      "  (those are dropped, which biases its p50), the kernel's timestamps are taken in the exiting and reaping tasks.",
      "  The hog is `sha256sum /dev/zero` on the host, pinned to the watcher's CPU; the load generator itself adds its",
      '  Node threads to the container in this path (the kernel-only path runs orphanage solo alone).',
    ].join('\n'),
  );
}

/** A CPU hog on the host pinned to `cpu` (killed by {@link stopHog}). */
function startHog(cpu: string): void {
  hog = spawn('taskset', ['-c', cpu, 'sha256sum', '/dev/zero'], { stdio: 'ignore' });
  hog.on('error', (e) => console.error(`instrument: CPU hog failed to start: ${e.message}`));
}

/**
 * Stop the CPU hog this process started, if any (by its pid, through the ChildProcess); resolves
 * once it has exited and been reaped, so that the next run does not share a CPU with it.
 */
function stopHog(): Promise<void> {
  const h = hog;
  hog = null;
  if (!h || h.exitCode !== null || h.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((resolve) => h.once('exit', () => resolve()));
  h.kill('SIGKILL');
  return exited;
}

function fmt(x: number | null): string {
  return x === null ? '—' : x.toFixed(1);
}

/** p10, p50, p90 of `xs` (not empty), rounded to 0.1. */
function p3(xs: number[]): [number, number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number): number => Math.round(quantileSorted(s, p) * 10) / 10;
  return [q(0.1), q(0.5), q(0.9)];
}

/**
 * The kernel's and the watcher's instants of the same orphans, on one clock: the kernel's match
 * has times since CLOCK_MONOTONIC 0 (`onBothInstruments`), the load generator's since its t0,
 * whose CLOCK_MONOTONIC value its summary gives (`t0_ns`). An orphan is the kernel's process
 * with the same pid in the container's namespace whose exit is nearest the orphan's own exit
 * report (pids can be reused within a run). Null when the summary is missing or nothing matched.
 */
function instantOffsets(kernel: TraceMatch, loadgen: readonly LoadgenEvent[]): InstantOffsets | null {
  const summary = loadgen.find((e) => e.type === 'summary');
  if (!summary || typeof summary.t0_ns !== 'number') return null;
  const t0Us = summary.t0_ns / 1e3;
  const byPid = new Map<number, TraceMatch['processes']>();
  for (const p of kernel.processes) {
    if (p.nsPid === null || p.exitUs === null || p.reapUs === null) continue;
    const l = byPid.get(p.nsPid) ?? [];
    l.push(p);
    byPid.set(p.nsPid, l);
  }
  const exit: number[] = [];
  const reap: number[] = [];
  const self: number[] = [];
  const latency: number[] = [];
  const exitAll: number[] = [];
  const reapAll: number[] = [];
  const kernelSame: number[] = [];
  const pidfdSame: number[] = [];
  const kernelMatched: number[] = [];
  let coalesced = 0;
  for (const o of loadgen.filter((e): e is OrphanEvent => e.type === 'orphan')) {
    if (o.state !== 'reaped' || o.late || o.reap_us === null || o.exit_self_us === null) continue;
    // A coalesced orphan's exit instant is the wake-up that saw its reap too.
    const exitUs = o.exit_us ?? (o.coalesced ? o.reap_us : null);
    if (exitUs === null) continue;
    const selfUs = t0Us + o.exit_self_us;
    let best: TraceMatch['processes'][number] | null = null;
    for (const p of byPid.get(o.pid) ?? []) if (!best || Math.abs(p.exitUs! - selfUs) < Math.abs(best.exitUs! - selfUs)) best = p;
    // Further than 1 ms from the orphan's own report: another process with that pid.
    if (!best || Math.abs(best.exitUs! - selfUs) > 1000) continue;
    exitAll.push(t0Us + exitUs - best.exitUs!);
    reapAll.push(t0Us + o.reap_us - best.reapUs!);
    kernelMatched.push(best.reapUs! - best.exitUs!);
    if (o.coalesced) {
      coalesced++;
      continue;
    }
    exit.push(t0Us + exitUs - best.exitUs!);
    reap.push(t0Us + o.reap_us - best.reapUs!);
    self.push(selfUs - best.exitUs!);
    latency.push(o.reap_us - exitUs - (best.reapUs! - best.exitUs!));
    kernelSame.push(best.reapUs! - best.exitUs!);
    pidfdSame.push(o.reap_us - exitUs);
  }
  if (exit.length === 0) return null;
  return {
    matched: exitAll.length,
    coalesced,
    exitAll: p3(exitAll),
    reapAll: p3(reapAll),
    exit: p3(exit),
    reap: p3(reap),
    self: p3(self),
    latency: p3(latency),
    kernelP50Same: p3(kernelSame)[1],
    pidfdP50Same: p3(pidfdSame)[1],
    kernelP50Matched: p3(kernelMatched)[1],
  };
}
