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
 *    (`pidfd_latency_p50_us`). Idle: a low rate with the watcher pinned apart from the workload
 *    (`--pin 0:1`); then under load: a high rate, and a CPU hog on the watcher's CPU.
 *
 *   npm run bench:instrument -- [--rounds 5] [--ms 2000] [--lifetime-us 0] [--solo 1x1,1x16]
 *     [--no-loadgen] [--agree-reps 3] [--skip-floor] [--skip-agree] [--json FILE]
 *
 * Every container carries the run label and is removed by `runContainer` however the bench ends;
 * Ctrl-C aborts the container under way (removed), stops the CPU hog, and exits 130.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { ensureImages } from '../src/images/build.js';
import { parseHelperLine } from '../src/loadgen/helper.js';
import type { LoadgenSummary } from '../src/loadgen/types.js';
import type { RunRecord } from '../src/model/records.js';
import { runOne, type RunnerContext } from '../src/run/runner.js';
import { IMAGE_ORPHANAGE, SOLO_MAX_BATCH } from '../src/run/traced.js';
import type { PlannedRun } from '../src/run/matrix.js';
import { onInterrupt } from '../src/runtime/cleanup.js';
import { runContainer, type ContainerSpec } from '../src/runtime/container.js';
import { connectEngine } from '../src/runtime/engine.js';
import { launchFor } from '../src/runtime/init-launch.js';
import { tracerAvailability } from '../src/tracer/index.js';

const USAGE = `usage: npm run bench:instrument -- [--rounds 5] [--ms 2000] [--lifetime-us 0] [--solo 1x1,1x16]
  [--cpu 1] [--pids-limit 4096] [--no-loadgen] [--agree-reps 3] [--skip-floor] [--skip-agree] [--json FILE]
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
].filter((x): x is string => x !== null);
if (bad.length > 0) {
  console.error(`instrument: Expected ${bad[0]}\n${USAGE}`);
  process.exit(2);
}

// Ctrl-C: abort what runs (runContainer then removes its container, the tracer stops), stop the
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

const docker = await connectEngine();
const images = await ensureImages(docker, { signal: abort.signal, onProgress: (l) => console.error(l) });
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
  const run = await runContainer(docker, {
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
    docker,
    image: images.app,
    rawDir: raw,
    runTimeoutS: 60,
    instrument: 'both',
    // The watcher (observer) on CPU 0, PID 1 + helper + orphans on CPU 1: the watcher idle.
    pin: '0:1',
    signal: abort.signal,
  };
  const conditions: { name: string; rate: number; hog: boolean }[] = [
    { name: 'idle, 50/s', rate: 50, hog: false },
    { name: 'load, 1000/s', rate: 1000, hog: false },
    { name: 'hog on CPU 0, 50/s', rate: 50, hog: true },
  ];
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
      });
      const s = stats.agree.at(-1)!;
      console.error(
        `  ${c.name.padEnd(20)} rep ${rep + 1}: ${s.state}, kernel p50 ${fmt(s.kernelP50Us)} µs, pidfd p50 ${fmt(s.pidfdP50Us)} µs (${s.orphans} orphans)${r.failure_reason ? `: ${r.failure_reason}` : ''}`,
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
