/**
 * What the kernel instrument costs the workload it watches: the rate of a plain C
 * fork + _exit + waitpid loop (`dist/orphanage forkloop`, one process, the fork floor of this
 * machine) with the tracer attached and without. Goal: ≥ 0.95×.
 *
 *   npm run bench:tracer -- [--cycles 60] [--ms 300] [--cpu 1] [--stats-rounds 3] [--baseline LOADER]
 *     [--host] [--json FILE]
 *
 * Method, chosen so that the answer does not hang on the load of a shared 2-CPU machine:
 *  - many short rounds in ABBA order (off, on, on, off, off, on, …), so that a drift in load
 *    falls on both sides equally, and the two rounds of each cycle (1-2, 3-4, …) give one
 *    ratio on/off. The figure is the median of those ratios, with a 95 % bootstrap interval of
 *    that median (resampling the cycles, seeded) and their min/max. The goal is decided only
 *    when the interval is on one side of 0.95; otherwise the run says "undecided". The same
 *    ratio from the loop's CPU time per iteration (which leaves out time spent waiting for a
 *    CPU) is printed beside it as a cross-check;
 *  - `--baseline LOADER`: a second loader (another build of dist/tracer, e.g. before a change to
 *    the programs) as a third arm of every cycle (off, on, baseline, then baseline, on, off):
 *    each loader against off, and on against baseline, all from the same cycles;
 *  - the loop is pinned to one CPU (`--cpu`, taskset) and this process, hence the loaders it
 *    starts, to another when there is one, so that the tracer's user-space reader does not
 *    compete with the loop for its CPU (it would, and that is a scheduling effect, not the
 *    programs' cost). `--cpu -1` pins nothing;
 *  - the kernel side's own cost, apart from any timing noise: in `--stats-rounds` extra rounds
 *    per loader at the end (not among the cycles: the accounting itself costs two clock reads
 *    per program run) with `kernel.bpf_stats_enabled` set, each program's run_time_ns and
 *    run_cnt are read from the loader's fdinfo (/proc/<pid>/fdinfo of its bpf-prog descriptors)
 *    and divided by the loop's iterations: ns per iteration per program, their sum, and the
 *    ratio that sum predicts against the median "off" iteration time. It leaves out the
 *    tracepoints' own dispatch and any cache effects, so the measured ratio can be lower. The
 *    sysctl is restored afterwards;
 *  - every round checks, before and after its loop, that no other loader of these programs is
 *    attached (another run of this harness on the machine makes an "off" round an "on" one, and
 *    an "on" round a doubly traced one): cycles with such a round are left out, and counted.
 *
 * The loop runs as PID 1 of a fresh PID namespace (`unshare --pid --fork`), where every fork,
 * exit and reap is recorded (the programs' full path, ring buffer included); `--host` runs it in
 * the initial namespace instead, where the programs run and drop each event at their first test.
 * A loader round starts the tracer, runs the loop, then stops the tracer: its start-up is not
 * counted. Each such round also says how many events the tracer recorded, to show it was
 * recording. Needs root and a built tracer (`npm run build`; `scripts/tracer-deps.sh`).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { median, quantileSorted } from 'simple-statistics';
import { rng } from '../src/rng.js';
import { startTracer, tracerAvailability, tracerBinaryPath } from '../src/tracer/index.js';

const USAGE = `usage: npm run bench:tracer -- [--cycles 60] [--ms 300] [--cpu 1] [--stats-rounds 3] [--baseline LOADER] [--host] [--json FILE]
Prints the fork+exit+wait loop's rate (iterations/s) per round with the tracer off and on (and
with a --baseline loader), the median ratio on/off over cycles in ABBA order with a bootstrap
95 % interval (goal ≥ 0.95), and the programs' own kernel time per iteration
(kernel.bpf_stats_enabled). See the header of bench/tracer-overhead.ts.`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const orphanage = path.join(root, 'dist', 'orphanage');
const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';
/** The programs' names in tracer.bpf.c, to recognise another loader of them by (bpftool). */
const OUR_PROGRAM = 'on_signal_generate';

/** Which loader a round runs: none, this build's (`dist/tracer`), or the `--baseline` one. */
type Arm = 'off' | 'on' | 'baseline';

/** One timed round: the loop's rate, iterations/s, its CPU time per iteration, µs, and (loader rounds) the events recorded meanwhile. */
interface Round {
  arm: Arm;
  /** Which cycle (0-based) it belongs to: the ratios are taken within a cycle. */
  cycle: number;
  ratePerS: number;
  iterations: number;
  cpuUsPerIteration: number;
  events: number | null;
  lost: number | null;
  /** Whether another loader of these programs (not this round's) was attached before or after the loop; null when bpftool is missing. */
  foreign: boolean | null;
}

/** One program's accumulated kernel time while attached, from its fdinfo: `runTimeNs` ns over `runCnt` runs. */
interface ProgramStats {
  id: number;
  name: string;
  runTimeNs: number;
  runCnt: number;
}

/** The kernel-side cost of one stats round: the loop's iterations and each program's totals. */
interface StatsRound {
  iterations: number;
  ratePerS: number;
  programs: ProgramStats[];
}

const run = promisify(execFile);

/** `0m1.234s` (bash `times`) → seconds. */
const seconds = (t: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  if (!m) throw new Error(`unexpected time ${t}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

/**
 * Run the loop for `ms` milliseconds, pinned to `cpu` (≥ 0): its rate, iterations per second,
 * its iteration count, and the CPU time (user + system) of the loop and its children per
 * iteration, µs: bash's `times` after the loop gives its children's accumulated times
 * (getrusage RUSAGE_CHILDREN, 1 ms resolution). Asynchronous: the event loop must keep reading
 * the tracer's output meanwhile, or its pipe fills and the loader stalls.
 */
async function forkloop(
  ms: number,
  host: boolean,
  cpu: number,
): Promise<{ ratePerS: number; iterations: number; cpuUsPerIteration: number }> {
  const argv = [
    ...(cpu >= 0 ? ['taskset', '-c', String(cpu)] : []),
    ...(host ? [] : ['unshare', '--pid', '--fork']),
    orphanage,
    'forkloop',
    String(ms),
  ];
  const { stdout: out } = await run('bash', ['-c', '"$@"; times', 'forkloop', ...argv]);
  const m = /^R (\d+) (\d+)$/m.exec(out);
  const children = out.trim().split('\n').at(-1)!.split(' ');
  if (!m || children.length !== 2) throw new Error(`orphanage forkloop printed ${JSON.stringify(out)}`);
  const n = Number(m[1]);
  return {
    ratePerS: n / (Number(m[2]) / 1e9),
    iterations: n,
    cpuUsPerIteration: ((seconds(children[0]!) + seconds(children[1]!)) * 1e6) / n,
  };
}

/** Ids of the BPF programs process `pid` holds, from its descriptors' fdinfo (`prog_id:`), with their run_time_ns and run_cnt (0 when stats are off). */
function programsOf(pid: number): ProgramStats[] {
  const out: ProgramStats[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (target !== 'anon_inode:bpf-prog') continue;
    const info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    const field = (k: string): number => Number(new RegExp(`^${k}:\\s*(\\d+)`, 'm').exec(info)?.[1] ?? 0);
    out.push({ id: field('prog_id'), name: '', runTimeNs: field('run_time_ns'), runCnt: field('run_cnt') });
  }
  return out;
}

/** All loaded programs, id → name, from `bpftool prog show -j`; null when bpftool is missing or fails. */
function loadedPrograms(): Map<number, string> | null {
  try {
    const list = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as {
      id: number;
      name?: string;
    }[];
    return new Map(list.map((p) => [p.id, p.name ?? '']));
  } catch {
    return null;
  }
}

/** Whether a loader of these programs other than `own` (program ids) is attached now; null when unknown. */
function foreignLoader(own: ReadonlySet<number> = new Set()): boolean | null {
  const all = loadedPrograms();
  if (!all) return null;
  return [...all].some(([id, name]) => name === OUR_PROGRAM && !own.has(id));
}

/**
 * The median of `xs` and a 95 % percentile-bootstrap interval of it: `n` resamples with
 * replacement (seeded, so a run's JSON reproduces), each resample's median, their 2.5th and
 * 97.5th percentiles.
 */
function bootstrapMedian(xs: readonly number[], n = 4000, seed = 1): { median: number; lo: number; hi: number } {
  const next = rng(seed);
  const meds: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = xs.map(() => xs[Math.floor(next() * xs.length)]!);
    meds.push(median(s));
  }
  meds.sort((a, b) => a - b);
  return { median: median([...xs]), lo: quantileSorted(meds, 0.025), hi: quantileSorted(meds, 0.975) };
}

/** Pin every thread of this process to `cpu` (children started later inherit it). */
function pinSelf(cpu: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

/** Totals of the stats rounds of one loader, per program name: kernel ns and runs, over `iterations` loop iterations. */
interface KernelCost {
  perProgram: { name: string; nsPerRun: number; runsPerIteration: number; nsPerIteration: number }[];
  /** Sum over the programs, ns per loop iteration. */
  nsPerIteration: number;
  /** The rate ratio that cost alone predicts against the median "off" iteration. */
  predicted: number;
}

/** Per-program totals of a loader's stats rounds, ns per iteration, and the ratio they predict against an "off" iteration of `offNs` ns. */
function kernelCost(rounds: readonly StatsRound[], offNs: number): KernelCost {
  const iterations = rounds.reduce((s, r) => s + r.iterations, 0);
  const byName = new Map<string, { ns: number; cnt: number }>();
  for (const r of rounds)
    for (const p of r.programs) {
      const t = byName.get(p.name) ?? { ns: 0, cnt: 0 };
      t.ns += p.runTimeNs;
      t.cnt += p.runCnt;
      byName.set(p.name, t);
    }
  const perProgram = [...byName]
    .filter(([, t]) => t.cnt > 0)
    .map(([name, t]) => ({ name, nsPerRun: t.ns / t.cnt, runsPerIteration: t.cnt / iterations, nsPerIteration: t.ns / iterations }))
    .sort((x, y) => y.nsPerIteration - x.nsPerIteration);
  const nsPerIteration = perProgram.reduce((s, p) => s + p.nsPerIteration, 0);
  return { perProgram, nsPerIteration, predicted: offNs / (offNs + nsPerIteration) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cycles: { type: 'string', default: '60' },
      ms: { type: 'string', default: '300' },
      cpu: { type: 'string', default: '1' },
      'stats-rounds': { type: 'string', default: '3' },
      baseline: { type: 'string' },
      host: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const cycles = Number(values.cycles);
  const ms = Number(values.ms);
  const cpu = Number(values.cpu);
  const statsRounds = Number(values['stats-rounds']);
  const ncpu = availableParallelism();
  if (
    !Number.isInteger(cycles) ||
    cycles < 2 ||
    !Number.isFinite(ms) ||
    ms < 50 ||
    !Number.isInteger(cpu) ||
    cpu < -1 ||
    cpu >= ncpu ||
    !Number.isInteger(statsRounds) ||
    statsRounds < 0
  ) {
    console.error(
      `tracer-overhead: --cycles must be an integer ≥ 2, --ms ≥ 50, --cpu -1 or a CPU below ${ncpu}, --stats-rounds ≥ 0\n${USAGE}`,
    );
    process.exit(2);
  }
  const a = tracerAvailability();
  if (!a.available) {
    console.error(`tracer-overhead: tracer ${a.reason}`);
    process.exit(1);
  }
  if (!existsSync(orphanage)) {
    console.error(`tracer-overhead: ${orphanage} missing: run npm run build`);
    process.exit(1);
  }
  if (values.baseline !== undefined && !existsSync(values.baseline)) {
    console.error(`tracer-overhead: --baseline ${values.baseline}: no such file`);
    process.exit(2);
  }
  const other = cpu >= 0 && ncpu > 1 ? (cpu + 1) % ncpu : -1;
  if (other >= 0) pinSelf(other);

  // The arms of each cycle: no tracer, this build's loader, and the --baseline loader if any.
  const loaders: { arm: Arm; binary: string }[] = [
    { arm: 'on', binary: tracerBinaryPath() },
    ...(values.baseline !== undefined ? [{ arm: 'baseline' as const, binary: values.baseline }] : []),
  ];
  const arms: Arm[] = ['off', ...loaders.map((l) => l.arm)];

  await forkloop(Math.min(ms, 300), values.host, cpu); // warm-up: page cache, first exec of unshare
  const results: Round[] = [];
  const loaderRound = async (arm: Arm, binary: string, cycle: number): Promise<Round> => {
    const tracer = await startTracer({ binary });
    let loop: Awaited<ReturnType<typeof forkloop>>;
    let foreign: boolean | null;
    try {
      const own = new Set(programsOf(tracer.pid).map((p) => p.id));
      const before = foreignLoader(own);
      loop = await forkloop(ms, values.host, cpu);
      const after = foreignLoader(own);
      foreign = before === null || after === null ? null : before || after;
    } catch (e) {
      await tracer.stop();
      throw e;
    }
    const trace = await tracer.stop();
    return { arm, cycle, ...loop, events: trace.events.length, lost: trace.stats?.lost ?? null, foreign };
  };
  const offRound = async (cycle: number): Promise<Round> => {
    const before = foreignLoader();
    const loop = await forkloop(ms, values.host, cpu);
    const after = foreignLoader();
    return { arm: 'off', cycle, ...loop, events: null, lost: null, foreign: before === null || after === null ? null : before || after };
  };
  for (let i = 0; i < cycles; i++) {
    // ABBA (ABCCBA with a baseline): the arms forward, then backward, alternately, so that each
    // arm is as often before as after the others.
    const order = i % 2 === 0 ? arms : [...arms].reverse();
    const cycle: Round[] = [];
    for (const arm of order) {
      const l = loaders.find((x) => x.arm === arm);
      cycle.push(l ? await loaderRound(arm, l.binary, i) : await offRound(i));
    }
    results.push(...cycle);
    const of = (arm: Arm): Round => cycle.find((r) => r.arm === arm)!;
    const off = of('off');
    process.stderr.write(
      `cycle ${i + 1}/${cycles} (${order.join(', ')}): off ${off.ratePerS.toFixed(0)}/s, ${loaders
        .map(
          (l) =>
            `${l.arm} ${of(l.arm).ratePerS.toFixed(0)}/s ×${(of(l.arm).ratePerS / off.ratePerS).toFixed(3)} (${of(l.arm).events} events, lost ${of(l.arm).lost})`,
        )
        .join(', ')}${cycle.some((r) => r.foreign) ? ' [another loader attached: cycle left out]' : ''}\n`,
    );
  }

  // The kernel side's own cost: rounds with bpf_stats_enabled, apart from the timed cycles.
  const statsResults = new Map<Arm, StatsRound[]>(loaders.map((l) => [l.arm, []]));
  if (statsRounds > 0) {
    const before = readFileSync(STATS_SYSCTL, 'utf8').trim();
    writeFileSync(STATS_SYSCTL, '1');
    try {
      for (let i = 0; i < statsRounds; i++) {
        for (const l of i % 2 === 0 ? loaders : [...loaders].reverse()) {
          const tracer = await startTracer({ binary: l.binary });
          try {
            const start = programsOf(tracer.pid);
            const loop = await forkloop(ms, values.host, cpu);
            const end = programsOf(tracer.pid);
            const names = loadedPrograms();
            statsResults.get(l.arm)!.push({
              iterations: loop.iterations,
              ratePerS: loop.ratePerS,
              programs: end.map((p) => {
                const s = start.find((q) => q.id === p.id);
                return {
                  id: p.id,
                  name: names?.get(p.id) ?? `prog ${p.id}`,
                  runTimeNs: p.runTimeNs - (s?.runTimeNs ?? 0),
                  runCnt: p.runCnt - (s?.runCnt ?? 0),
                };
              }),
            });
          } finally {
            await tracer.stop();
          }
        }
      }
    } finally {
      writeFileSync(STATS_SYSCTL, before);
    }
  }

  // A cycle during which another run's loader was attached compares nothing: its "off" round
  // was not off, or a loader round carried two loaders. Such cycles are left out (and counted).
  const tainted = new Set(results.filter((r) => r.foreign).map((r) => r.cycle));
  const ofArm = (arm: Arm): Round[] => results.filter((r) => r.arm === arm && !tainted.has(r.cycle)).sort((x, y) => x.cycle - y.cycle);
  const offs = ofArm('off');
  if (offs.length < 2) {
    console.log(
      `tracer-overhead: only ${offs.length} of ${cycles} cycles free of another loader: nothing to compare; run again when the machine is quieter`,
    );
    process.exit(1);
  }
  const mOff = median(offs.map((r) => r.ratePerS));
  const where = values.host ? 'initial PID namespace (events dropped in the kernel)' : 'a fresh PID namespace (every event recorded)';
  const pin =
    cpu >= 0 ? `loop pinned to CPU ${cpu}${other >= 0 ? `, this process and the loaders to CPU ${other}` : ''}` : 'nothing pinned';
  console.log(
    `fork+exit+wait loop in ${where}; ${cycles} cycles of ${arms.length} rounds of ${ms} ms (${arms.join(', ')}), ABBA order; ${pin}`,
  );
  console.log(`  on = ${tracerBinaryPath()}${values.baseline !== undefined ? `, baseline = ${values.baseline}` : ''}`);
  console.log(`  off:      median ${mOff.toFixed(0)}/s  (${offs.map((r) => r.ratePerS.toFixed(0)).join(', ')})`);
  const summary: Record<string, unknown> = {};
  const verdicts: string[] = [];
  const compare = (num: Arm, den: Arm, goal: boolean): void => {
    const n = ofArm(num);
    const d = ofArm(den);
    const ratios = n.map((r, i) => r.ratePerS / d[i]!.ratePerS);
    const b = bootstrapMedian(ratios);
    // The same per cycle with CPU time instead of wall time: what the rate would be on a CPU of
    // its own. Time the loop waits for a CPU (the machine's other work) does not count in it,
    // so it is the steadier cross-check; the goal is on the rate.
    const c = bootstrapMedian(n.map((r, i) => d[i]!.cpuUsPerIteration / r.cpuUsPerIteration));
    const verdict = b.lo >= 0.95 ? 'met' : b.hi < 0.95 ? 'NOT MET' : 'undecided (the interval straddles 0.95)';
    console.log(`  ${num}/${den} per cycle: ${ratios.map((x) => x.toFixed(3)).join(', ')}`);
    console.log(
      `    rate ratio ${num}/${den}: median ${b.median.toFixed(3)}×, bootstrap 95 % interval [${b.lo.toFixed(3)}, ${b.hi.toFixed(3)}], min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}${goal ? `; goal ≥ 0.95×: ${verdict}` : ''}`,
    );
    console.log(
      `    CPU per iteration (loop + children, user + system, 1 ms resolution): ${den} ${median(d.map((r) => r.cpuUsPerIteration)).toFixed(1)} µs, ${num} ${median(n.map((r) => r.cpuUsPerIteration)).toFixed(1)} µs (medians); ratio ${den}/${num} per cycle: median ${c.median.toFixed(3)}×, [${c.lo.toFixed(3)}, ${c.hi.toFixed(3)}]`,
    );
    if (goal) verdicts.push(`${num}: ${verdict}`);
    summary[`${num}/${den}`] = { ratios, rate: b, cpu: c, ...(goal ? { verdict } : {}) };
  };
  for (const l of loaders) {
    const rs = ofArm(l.arm);
    console.log(
      `  ${`${l.arm}:`.padEnd(9)} median ${median(rs.map((r) => r.ratePerS)).toFixed(0)}/s  (${rs.map((r) => r.ratePerS.toFixed(0)).join(', ')})`,
    );
    compare(l.arm, 'off', true);
  }
  if (values.baseline !== undefined) compare('on', 'baseline', false);
  if (tainted.size > 0)
    console.log(
      `  ${tainted.size} of ${cycles} cycles left out: another loader of these programs (another run on this machine) was attached during one of their rounds`,
    );
  else if (results.some((r) => r.foreign === null))
    console.log('  (bpftool missing: could not check that no other loader was attached meanwhile)');

  const kernel: Record<string, KernelCost> = {};
  for (const l of loaders) {
    const rounds = statsResults.get(l.arm)!;
    if (rounds.length === 0) continue;
    const k = kernelCost(rounds, 1e9 / mOff);
    kernel[l.arm] = k;
    console.log(
      `  ${l.arm}: kernel time of the programs (kernel.bpf_stats_enabled, ${rounds.length} rounds, ${rounds.reduce((s, r) => s + r.iterations, 0)} iterations; the machine's other processes' events included):`,
    );
    for (const p of k.perProgram)
      console.log(
        `    ${p.name.padEnd(20)} ${p.nsPerRun.toFixed(0).padStart(6)} ns/run × ${p.runsPerIteration.toFixed(2)} runs/iteration = ${p.nsPerIteration.toFixed(0).padStart(5)} ns/iteration`,
      );
    console.log(
      `    total ${(k.nsPerIteration / 1000).toFixed(2)} µs per iteration against ${(1e9 / mOff / 1000).toFixed(1)} µs per "off" iteration: predicts ${k.predicted.toFixed(3)}× (the tracepoints' own dispatch, the ring buffer's reader and cache effects not included)`,
    );
  }
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify(
        {
          rounds: results,
          leftOut: [...tainted],
          stats: Object.fromEntries(statsResults),
          medianOffPerS: mOff,
          comparisons: summary,
          verdicts,
          kernel,
          host: values.host,
          cpu,
          ms,
          cycles,
          baseline: values.baseline ?? null,
        },
        null,
        2,
      ),
    );
}

await main();
