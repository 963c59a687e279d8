/**
 * What the kernel instrument costs the workload it watches: the rate of a plain C
 * fork + _exit + waitpid loop (`dist/orphanage forkloop`, one process, the fork floor of this
 * machine) with the tracer attached and without. Goal: ≥ 0.95×.
 *
 *   npm run bench:tracer -- [--pairs 24] [--ms 200] [--cpu 1] [--stats-rounds 3] [--host] [--json FILE]
 *
 * Method, chosen so that the answer does not hang on the load of a shared 2-CPU machine:
 *  - many short rounds in ABBA order (off, on, on, off, off, on, …), so that a drift in load
 *    falls on both sides equally, and the two rounds of each adjacent pair (1-2, 3-4, …) give
 *    one ratio on/off. The figure is the median of those pair ratios, with a 95 % bootstrap
 *    interval of that median (resampling the pairs, seeded) and their min/max. The goal is
 *    decided only when the interval is on one side of 0.95; otherwise the run says "undecided";
 *  - the loop is pinned to one CPU (`--cpu`, taskset) and this process, hence the loader it
 *    starts, to another when there is one, so that the tracer's user-space reader does not
 *    compete with the loop for its CPU (it would, and that is a scheduling effect, not the
 *    programs' cost). `--cpu -1` pins nothing;
 *  - the kernel side's own cost, apart from any timing noise: in `--stats-rounds` extra rounds
 *    at the end (not among the pairs: the accounting itself costs two clock reads per program
 *    run) with `kernel.bpf_stats_enabled` set, each program's run_time_ns and run_cnt are read
 *    from the loader's fdinfo (/proc/<pid>/fdinfo of its bpf-prog descriptors) and divided by
 *    the loop's iterations: ns per iteration per program, their sum, and the ratio that sum
 *    predicts against the median "off" iteration time. The sysctl is restored afterwards;
 *  - every "off" round checks that no other loader of these programs is attached meanwhile
 *    (another run of this harness on the machine makes an "off" round an "on" one): such
 *    rounds are counted and the run says so.
 *
 * The loop runs as PID 1 of a fresh PID namespace (`unshare --pid --fork`), where every fork,
 * exit and reap is recorded (the programs' full path, ring buffer included); `--host` runs it in
 * the initial namespace instead, where the programs run and drop each event at their first test.
 * A round "on" starts the tracer, runs the loop, then stops the tracer: its start-up is not
 * counted. Each "on" round also says how many events the tracer recorded, to show it was
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
import { startTracer, tracerAvailability } from '../src/tracer/index.js';

const USAGE = `usage: npm run bench:tracer -- [--pairs 24] [--ms 200] [--cpu 1] [--stats-rounds 3] [--host] [--json FILE]
Prints the fork+exit+wait loop's rate (iterations/s) per round with the tracer off and on, the
median ratio on/off over adjacent pairs of rounds (ABBA order) with a bootstrap 95 % interval
(goal ≥ 0.95), and the programs' own kernel time per iteration (kernel.bpf_stats_enabled).
See the header of bench/tracer-overhead.ts.`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const orphanage = path.join(root, 'dist', 'orphanage');
const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';
/** The programs' names in tracer.bpf.c, to recognise another loader of them by (bpftool). */
const OUR_PROGRAM = 'on_signal_generate';

/** One timed round: the loop's rate, iterations/s, its CPU time per iteration, µs, and (on rounds) the events recorded meanwhile. */
interface Round {
  tracer: boolean;
  ratePerS: number;
  iterations: number;
  cpuUsPerIteration: number;
  events: number | null;
  lost: number | null;
  /** Off rounds: whether another loader of these programs was attached (the round was not "off"); null when bpftool is missing. */
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pairs: { type: 'string', default: '24' },
      ms: { type: 'string', default: '200' },
      cpu: { type: 'string', default: '1' },
      'stats-rounds': { type: 'string', default: '3' },
      host: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const pairs = Number(values.pairs);
  const ms = Number(values.ms);
  const cpu = Number(values.cpu);
  const statsRounds = Number(values['stats-rounds']);
  const ncpu = availableParallelism();
  if (
    !Number.isInteger(pairs) ||
    pairs < 2 ||
    !Number.isFinite(ms) ||
    ms < 50 ||
    !Number.isInteger(cpu) ||
    cpu < -1 ||
    cpu >= ncpu ||
    !Number.isInteger(statsRounds) ||
    statsRounds < 0
  ) {
    console.error(
      `tracer-overhead: --pairs must be an integer ≥ 2, --ms ≥ 50, --cpu -1 or a CPU below ${ncpu}, --stats-rounds ≥ 0\n${USAGE}`,
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
  const other = cpu >= 0 && ncpu > 1 ? (cpu + 1) % ncpu : -1;
  if (other >= 0) pinSelf(other);

  await forkloop(Math.min(ms, 300), values.host, cpu); // warm-up: page cache, first exec of unshare
  const results: Round[] = [];
  const onRound = async (): Promise<Round> => {
    const tracer = await startTracer();
    let loop: Awaited<ReturnType<typeof forkloop>>;
    try {
      loop = await forkloop(ms, values.host, cpu);
    } catch (e) {
      await tracer.stop();
      throw e;
    }
    const trace = await tracer.stop();
    return { tracer: true, ...loop, events: trace.events.length, lost: trace.stats?.lost ?? null, foreign: null };
  };
  const offRound = async (): Promise<Round> => {
    const foreign = foreignLoader();
    return { tracer: false, ...(await forkloop(ms, values.host, cpu)), events: null, lost: null, foreign };
  };
  for (let i = 0; i < pairs; i++) {
    // ABBA: off-on, on-off, off-on, …: each adjacent pair in both orders, alternately.
    const order = i % 2 === 0 ? [false, true] : [true, false];
    const pair: Round[] = [];
    for (const on of order) pair.push(on ? await onRound() : await offRound());
    results.push(...pair);
    const [off, on] = order[0] ? [pair[1]!, pair[0]!] : [pair[0]!, pair[1]!];
    process.stderr.write(
      `pair ${i + 1}/${pairs} (${order[0] ? 'on, off' : 'off, on'}): off ${off.ratePerS.toFixed(0)}/s, on ${on.ratePerS.toFixed(0)}/s, ratio ${(on.ratePerS / off.ratePerS).toFixed(3)} (${on.events} events, lost ${on.lost})${off.foreign ? ' [another loader attached during off]' : ''}\n`,
    );
  }

  // The kernel side's own cost: rounds with bpf_stats_enabled, apart from the timed pairs.
  const statsResults: StatsRound[] = [];
  if (statsRounds > 0) {
    const before = readFileSync(STATS_SYSCTL, 'utf8').trim();
    writeFileSync(STATS_SYSCTL, '1');
    try {
      for (let i = 0; i < statsRounds; i++) {
        const tracer = await startTracer();
        try {
          const start = programsOf(tracer.pid);
          const loop = await forkloop(ms, values.host, cpu);
          const end = programsOf(tracer.pid);
          const names = loadedPrograms();
          statsResults.push({
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
    } finally {
      writeFileSync(STATS_SYSCTL, before);
    }
  }

  const offs = results.filter((r) => !r.tracer);
  const ons = results.filter((r) => r.tracer);
  const off = offs.map((r) => r.ratePerS);
  const on = ons.map((r) => r.ratePerS);
  const mOff = median(off);
  const mOn = median(on);
  const ratios = on.map((x, i) => x / off[i]!);
  const b = bootstrapMedian(ratios);
  const verdict = b.lo >= 0.95 ? 'met' : b.hi < 0.95 ? 'NOT MET' : 'undecided (the interval straddles 0.95)';
  const where = values.host ? 'initial PID namespace (events dropped in the kernel)' : 'a fresh PID namespace (every event recorded)';
  const pin = cpu >= 0 ? `loop pinned to CPU ${cpu}${other >= 0 ? `, this process and the loader to CPU ${other}` : ''}` : 'nothing pinned';
  console.log(`fork+exit+wait loop in ${where}; ${pairs} adjacent pairs of ${ms} ms rounds in ABBA order; ${pin}`);
  console.log(`  tracer off: median ${mOff.toFixed(0)}/s  (${off.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  tracer on:  median ${mOn.toFixed(0)}/s  (${on.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  pair ratios on/off: ${ratios.map((x) => x.toFixed(3)).join(', ')}`);
  console.log(
    `  ratio on/off: median ${b.median.toFixed(3)}×, bootstrap 95 % interval [${b.lo.toFixed(3)}, ${b.hi.toFixed(3)}], min ${Math.min(...ratios).toFixed(3)}, max ${Math.max(...ratios).toFixed(3)}; of the medians ${(mOn / mOff).toFixed(3)}×; goal ≥ 0.95×: ${verdict}`,
  );
  const cpuOff = median(offs.map((r) => r.cpuUsPerIteration));
  const cpuOn = median(ons.map((r) => r.cpuUsPerIteration));
  // The same per pair with CPU time instead of wall time: what the rate would be on a CPU of
  // its own. Time the loop waits for a CPU (the machine's other work) does not count in it, so
  // it is the steadier cross-check; the goal is on the rate.
  const cpuRatios = ons.map((r, i) => offs[i]!.cpuUsPerIteration / r.cpuUsPerIteration);
  const c = bootstrapMedian(cpuRatios);
  console.log(
    `  CPU per iteration (loop + children, user + system, 1 ms resolution): off ${cpuOff.toFixed(1)} µs, on ${cpuOn.toFixed(1)} µs (medians); per pair off/on: median ${c.median.toFixed(3)}×, bootstrap 95 % interval [${c.lo.toFixed(3)}, ${c.hi.toFixed(3)}]`,
  );
  const foreign = offs.filter((r) => r.foreign).length;
  if (foreign > 0) console.log(`  WARNING: another loader of these programs was attached during ${foreign} of ${offs.length} "off" rounds`);
  else if (offs.some((r) => r.foreign === null))
    console.log('  (bpftool missing: could not check that no other loader was attached during "off" rounds)');

  let kernel: {
    perProgram: { name: string; nsPerRun: number; runsPerIteration: number; nsPerIteration: number }[];
    nsPerIteration: number;
    predicted: number;
  } | null = null;
  if (statsResults.length > 0) {
    // Totals over all stats rounds, per program name.
    const iterations = statsResults.reduce((s, r) => s + r.iterations, 0);
    const byName = new Map<string, { ns: number; cnt: number }>();
    for (const r of statsResults)
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
    const offNs = 1e9 / mOff;
    const predicted = offNs / (offNs + nsPerIteration);
    kernel = { perProgram, nsPerIteration, predicted };
    console.log(
      `  kernel time of the programs (kernel.bpf_stats_enabled, ${statsResults.length} rounds, ${iterations} iterations; the machine's other processes' events included):`,
    );
    for (const p of perProgram)
      console.log(
        `    ${p.name.padEnd(20)} ${p.nsPerRun.toFixed(0).padStart(6)} ns/run × ${p.runsPerIteration.toFixed(2)} runs/iteration = ${p.nsPerIteration.toFixed(0).padStart(5)} ns/iteration`,
      );
    console.log(
      `    total ${(nsPerIteration / 1000).toFixed(2)} µs per iteration against ${(offNs / 1000).toFixed(1)} µs per "off" iteration: predicts ${predicted.toFixed(3)}× (the ring buffer's reader and any cache effects not included)`,
    );
  }
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify(
        {
          rounds: results,
          stats: statsResults,
          medianOffPerS: mOff,
          medianOnPerS: mOn,
          ratios,
          ratio: b,
          verdict,
          cpuOff,
          cpuOn,
          cpuRatios,
          cpuRatio: c,
          kernel,
          host: values.host,
          cpu,
          ms,
          pairs,
        },
        null,
        2,
      ),
    );
}

await main();
