/**
 * What the kernel instrument costs the workload it watches: the rate of a plain C
 * fork + _exit + waitpid loop (`dist/orphanage forkloop`, one process, the fork floor of this
 * machine) with the tracer attached and without, in interleaved rounds of one run (off, on,
 * on, off, …) so that drift in machine load falls on both. Goal: ≥ 0.95×.
 *
 *   npm run bench:tracer -- [--rounds 12] [--ms 500] [--host] [--json FILE]
 *
 * The loop runs as PID 1 of a fresh PID namespace (`unshare --pid --fork`), where every fork,
 * exit and reap is recorded (the programs' full path, ring buffer included); `--host` runs it in
 * the initial namespace instead, where the programs run and drop each event at their first test.
 * A round "on" starts the tracer, runs the loop, then stops the tracer: its start-up is not
 * counted. Each "on" round also says how many events the tracer recorded, to show it was
 * recording. Needs root and a built tracer (`npm run build`; `scripts/tracer-deps.sh`).
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { median } from 'simple-statistics';
import { startTracer, tracerAvailability } from '../src/tracer/index.js';

const USAGE = `usage: npm run bench:tracer -- [--rounds 12] [--ms 500] [--host] [--json FILE]
Prints the fork+exit+wait loop's rate (iterations/s) per round with the tracer off and on, their
medians and the ratio on/off (goal ≥ 0.95). See the header of bench/tracer-overhead.ts.`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const orphanage = path.join(root, 'dist', 'orphanage');

/** One round: the loop's rate, iterations/s, its CPU time per iteration, µs, and the events recorded meanwhile (on rounds). */
interface Round {
  tracer: boolean;
  ratePerS: number;
  cpuUsPerIteration: number;
  events: number | null;
  lost: number | null;
}

const run = promisify(execFile);

/** `0m1.234s` (bash `times`) → seconds. */
const seconds = (t: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(t);
  if (!m) throw new Error(`unexpected time ${t}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

/**
 * Run the loop for `ms` milliseconds: its rate, iterations per second, and the CPU time (user +
 * system) of the loop and its children per iteration, µs: bash's `times` after the loop gives
 * its children's accumulated times (getrusage RUSAGE_CHILDREN, 1 ms resolution). The CPU time
 * is what the tracer's programs add to the workload (they run in its context); the rate also
 * counts the loader and this process competing for the CPUs. Asynchronous: the event loop must
 * keep reading the tracer's output meanwhile, or its pipe fills and the loader stalls.
 */
async function forkloop(ms: number, host: boolean): Promise<{ ratePerS: number; cpuUsPerIteration: number }> {
  const argv = [...(host ? [] : ['unshare', '--pid', '--fork']), orphanage, 'forkloop', String(ms)];
  const { stdout: out } = await run('bash', ['-c', '"$@"; times', 'forkloop', ...argv]);
  const m = /^R (\d+) (\d+)$/m.exec(out);
  const children = out.trim().split('\n').at(-1)!.split(' ');
  if (!m || children.length !== 2) throw new Error(`orphanage forkloop printed ${JSON.stringify(out)}`);
  const n = Number(m[1]);
  return { ratePerS: n / (Number(m[2]) / 1e9), cpuUsPerIteration: ((seconds(children[0]!) + seconds(children[1]!)) * 1e6) / n };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '12' },
      ms: { type: 'string', default: '500' },
      host: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const rounds = Number(values.rounds);
  const ms = Number(values.ms);
  if (!Number.isInteger(rounds) || rounds < 2 || !Number.isFinite(ms) || ms < 100) {
    console.error(`tracer-overhead: --rounds must be an integer ≥ 2 and --ms ≥ 100\n${USAGE}`);
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

  await forkloop(Math.min(ms, 300), values.host); // warm-up: page cache, first exec of unshare
  const results: Round[] = [];
  for (let i = 0; i < rounds; i++) {
    // off, on, on, off, off, on, …: each pair in both orders.
    for (const on of i % 2 === 0 ? [false, true] : [true, false]) {
      if (!on) {
        results.push({ tracer: false, ...(await forkloop(ms, values.host)), events: null, lost: null });
        continue;
      }
      const tracer = await startTracer();
      let loop: Awaited<ReturnType<typeof forkloop>>;
      try {
        loop = await forkloop(ms, values.host);
      } catch (e) {
        await tracer.stop();
        throw e;
      }
      const trace = await tracer.stop();
      results.push({ tracer: true, ...loop, events: trace.events.length, lost: trace.stats?.lost ?? null });
      const r = results.at(-1)!;
      process.stderr.write(
        `round ${i + 1}: on ${r.ratePerS.toFixed(0)}/s, ${r.cpuUsPerIteration.toFixed(1)} µs CPU/iteration (${r.events} events, lost ${r.lost})\n`,
      );
    }
  }

  const off = results.filter((r) => !r.tracer).map((r) => r.ratePerS);
  const on = results.filter((r) => r.tracer).map((r) => r.ratePerS);
  const mOff = median(off);
  const mOn = median(on);
  // The ratio within each pair of adjacent rounds, then its median: on a shared machine whose
  // load drifts over seconds, neighbours are the fairest comparison.
  const ratio = median(on.map((x, i) => x / off[i]!));
  const where = values.host ? 'initial PID namespace (events dropped in the kernel)' : 'a fresh PID namespace (every event recorded)';
  console.log(`fork+exit+wait loop in ${where}, ${rounds} interleaved rounds of ${ms} ms each`);
  console.log(`  tracer off: median ${mOff.toFixed(0)}/s  (${off.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(`  tracer on:  median ${mOn.toFixed(0)}/s  (${on.map((x) => x.toFixed(0)).join(', ')})`);
  console.log(
    `  ratio on/off: ${ratio.toFixed(3)}× (median over pairs of adjacent rounds; of the medians: ${(mOn / mOff).toFixed(3)}×; goal ≥ 0.95×)${ratio >= 0.95 ? '' : '  BELOW GOAL'}`,
  );
  const cpuOff = median(results.filter((r) => !r.tracer).map((r) => r.cpuUsPerIteration));
  const cpuOn = median(results.filter((r) => r.tracer).map((r) => r.cpuUsPerIteration));
  console.log(
    `  CPU per iteration (loop + children, user + system): off ${cpuOff.toFixed(1)} µs, on ${cpuOn.toFixed(1)} µs: +${(cpuOn - cpuOff).toFixed(1)} µs, rate equivalent ${(cpuOff / cpuOn).toFixed(3)}×`,
  );
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify({ rounds: results, medianOffPerS: mOff, medianOnPerS: mOn, ratio, cpuOff, cpuOn, host: values.host }, null, 2),
    );
}

await main();
