/**
 * Local probe: exit→reaped latency of orphans under each init (tini, dumb-init, catatonit,
 * ts-reaper), each running as PID 1 of a fresh PID namespace (`unshare --pid --fork
 * --mount-proc`) with the same orphan load. Also reports each init's CPU time and RSS.
 *
 *   npm run build && node dist/bench/reaper-latency.js [--count 2000] [--rate 1000]
 *     [--life-ms 5] [--rounds 2] [--inits calib,tini,dumb-init,catatonit,ts-reaper]
 *     [--ts-reaper-args="--wait-nice -10"] [--observer spin|block] [--calib-us 200]
 *     [--contend 1] [--variant="--wait-slice-us 0" …] [--json results.json]
 *
 * Method: the workload (the init's
 * child, bench/reaper-latency-workload.ts) makes orphans and registers a pidfd per orphan in an
 * epoll instance created here and inherited by the workload as fd 3. An observer thread here
 * (not a parent of anything it watches) waits on it edge-triggered: EPOLLIN = the orphan exited
 * (zombie), EPOLLHUP = it was reaped (Linux ≥ 6.9). Latency = t(HUP) − t(IN), CLOCK_MONOTONIC.
 * The observer busy-polls at nice −20 pinned to CPU 0 and the namespace (init + workload +
 * orphans) runs on CPU 1, so the observer is not starved; when both events still arrive in one
 * wake-up the latency is unknown and the orphan is counted as "together", never as latency 0.
 * `calib` (the load generator's fixed-delay reaper) validates the method: it must read ≥ the
 * configured delay. The default inits are tini, dumb-init, catatonit and ts-reaper.
 * CPU time: sum over the init's threads of /proc/<pid>/task/<tid>/schedstat run time (ns)
 * between the workload's `start` and `done`, per 1,000 orphans. RSS: VmRSS at `done`.
 * `--variant ARGS` (repeatable) adds ts-reaper run with those extra options, as its own row
 * `ts-reaper ARGS`, to compare settings within one run (timings are comparable only there).
 * Contention (`--contend N`): N CPU-bound loops (`sh -c 'while :; do :; done'`, nice 0) share
 * the namespace's CPU for the whole run, so every reap has to preempt a busy task, as in a
 * container whose application is busy. This is where inits differ most in their tail: a task
 * that wakes must be picked before the loop's slice ends (EEVDF, Linux ≥ 6.6).
 * Requires root (unshare), util-linux (unshare, taskset), the inits installed.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { epollCreate } from '../src/ffi/epoll.js';
import { close } from '../src/ffi/fd.js';
import { setThreadNice } from '../src/ffi/sched.js';
import type { ObserverData } from './reaper-latency-observer.js';
import { median } from 'simple-statistics';

const USAGE = `usage: node dist/bench/reaper-latency.js [--count 2000] [--rate 1000] [--life-ms 5] [--rounds 2]
  [--inits tini,dumb-init,catatonit,ts-reaper] [--ts-reaper-args="…"] [--variant="…" …]
  [--contend N] [--observer spin|block] [--calib-us 200] [--json FILE]
Columns: measured = orphans whose exit and reap were seen apart (latency known); together =
both seen in one observer wake-up (latency unknown, not counted as 0); lost = an event missing;
missed = orphans that could not be watched; rate/s = orphans per second achieved (below --rate
when the workload's CPU is busy). Percentiles are nearest-rank over measured orphans, µs.
See the header of bench/reaper-latency.ts for the method.`;

const here = path.dirname(fileURLToPath(import.meta.url));
/** Repository root: dist/bench → ../.. */
const root = path.resolve(here, '..', '..');

/** One init under test: its name and the argv prefix that runs a command under it. */
interface InitSpec {
  name: string;
  argv: string[];
}

/** Result of one init over all rounds. */
interface InitResult {
  name: string;
  /** Orphans registered by the workload (watched). */
  registered: number;
  /** Orphans the workload could not watch (spawn failed, already exited before registration). */
  missed: number;
  /** Orphans whose exit and reap were both seen in separate wake-ups (latency measured). */
  measured: number;
  /** Orphans whose exit and reap arrived in the same observer wake-up (latency unknown, ≤ lag). */
  together: number;
  /** Orphans with an event missing (not reaped while watched, or lost). */
  lost: number;
  /** Latency percentiles over measured orphans, microseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
  /** The init's CPU time (all threads) per 1,000 orphans, milliseconds. */
  cpuMsPer1000: number;
  /** The init's resident set size at the end of the load, MiB (max over rounds). */
  rssMiB: number;
  /** Achieved orphan rate, per second (mean over rounds). */
  rate: number;
}

function initSpecs(tsReaperArgs: string[], calibUs: number): InitSpec[] {
  const tini = existsSync('/usr/bin/tini-static') ? '/usr/bin/tini-static' : 'tini';
  return [
    // Validation: the load generator's calibration reaper, which reaps each orphan exactly
    // calibUs after the SIGCHLD announcing it (src/loadgen/native/orphanage.c).
    { name: 'calib', argv: [path.join(root, 'dist', 'orphanage'), 'reap', String(calibUs)] },
    { name: 'tini', argv: [tini, '--'] },
    { name: 'dumb-init', argv: ['dumb-init'] },
    { name: 'catatonit', argv: ['catatonit', '--'] },
    { name: 'ts-reaper', argv: tsReaperArgv(tsReaperArgs) },
  ];
}

/** Argv prefix running ts-reaper (the bundle) with `extra` options. */
function tsReaperArgv(extra: string[]): string[] {
  // --preserve-fds 1: pass the observer's epoll fd (3) on, which the C inits do implicitly.
  return [process.execPath, path.join(root, 'dist', 'ts-reaper.cjs'), '--preserve-fds', '1', ...extra, '--'];
}

/** Nearest-rank percentile of sorted `xs` (`q` in 0–1). */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/** Total run time of all threads of `pid` from schedstat, nanoseconds (0 if gone). */
function cpuNs(pid: number): number {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
      } catch {
        // thread gone
      }
    }
  } catch {
    return 0;
  }
  return total;
}

/** The init under test: the child of `unshare` (0 when not found). */
function initOf(unsharePid: number): number {
  try {
    return Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'latin1').trim().split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** One run of one init: raw latencies (µs) and resource figures. */
interface RoundResult {
  latUs: number[];
  registered: number;
  missed: number;
  together: number;
  lost: number;
  cpuNs: number;
  rssKiB: number;
  rate: number;
}

async function runRound(init: InitSpec, count: number, rate: number, lifeMs: number, pin: boolean, spin: boolean): Promise<RoundResult> {
  const ep = epollCreate();
  if (ep.ret < 0) throw new Error(`epoll_create1 failed (errno ${ep.errno})`);
  const data: ObserverData = {
    epfd: ep.ret,
    tIn: new SharedArrayBuffer(8 * count),
    tHup: new SharedArrayBuffer(8 * count),
    together: new SharedArrayBuffer(4 * count),
    stop: new SharedArrayBuffer(4),
    spin,
  };
  const observer = new Worker(new URL('./reaper-latency-observer.js', import.meta.url), { workerData: data });
  const stopped = new Promise<void>((r) => observer.on('message', (m: { stopped?: boolean }) => m.stopped && r()));
  const tid = await new Promise<number>((r) => observer.once('message', (m: { tid: number }) => r(m.tid)));
  if (setThreadNice(tid, -20).ret < 0)
    process.stderr.write('reaper-latency: could not renice the observer (need root); expect more "together"\n');

  const workload = [process.execPath, path.join(here, 'reaper-latency-workload.js'), String(count), String(rate), String(lifeMs)];
  const argv = [...(pin ? ['taskset', '-c', '1'] : []), 'unshare', '--pid', '--fork', '--mount-proc', ...init.argv, ...workload];
  // fd 3 of the child is our epoll instance (dup2'd without close-on-exec by child_process).
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit', ep.ret] });
  let out = '';
  let initPid = 0;
  let cpu0 = 0;
  const res: Partial<RoundResult> = {};
  const finished = new Promise<void>((resolve, reject) => {
    proc.on('error', reject);
    proc.on('close', (code, sig) => {
      if (res.registered === undefined)
        reject(new Error(`${init.name}: workload ended early (code ${code}, signal ${sig}); output: ${out}`));
      else resolve();
    });
  });
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    if (initPid === 0 && out.includes('start\n')) {
      initPid = initOf(proc.pid!);
      cpu0 = cpuNs(initPid);
    }
    const m = /done (\d+) (\d+)\n/.exec(out);
    if (m && res.registered === undefined) {
      const now = initOf(proc.pid!);
      res.cpuNs = now === initPid ? cpuNs(initPid) - cpu0 : NaN;
      res.rssKiB = now === initPid ? rssKiB(initPid) : NaN;
      res.registered = Number(m[1]);
      res.missed = Number(m[2]);
      proc.stdin!.end();
    }
  });
  try {
    await finished;
  } finally {
    Atomics.store(new Int32Array(data.stop), 0, 1);
    await stopped;
    await observer.terminate();
    close(ep.ret);
  }

  const tIn = new Float64Array(data.tIn);
  const tHup = new Float64Array(data.tHup);
  const tog = new Int32Array(data.together);
  const latUs: number[] = [];
  let together = 0;
  let lost = 0;
  let first = Infinity;
  let last = 0;
  for (let i = 0; i < count; i++) {
    if (tIn[i]! > 0) {
      first = Math.min(first, tIn[i]!);
      last = Math.max(last, tIn[i]!);
    }
    if (tIn[i] === 0 && tHup[i] === 0) continue; // not registered
    if (tIn[i] === 0 || tHup[i] === 0) lost++;
    else if (tog[i] === 1) together++;
    else latUs.push((tHup[i]! - tIn[i]!) / 1000);
  }
  const rateSeen = last > first ? ((latUs.length + together + lost - 1) * 1e9) / (last - first) : NaN;
  return {
    latUs,
    together,
    lost,
    registered: res.registered!,
    missed: res.missed!,
    cpuNs: res.cpuNs!,
    rssKiB: res.rssKiB!,
    rate: rateSeen,
  };
}

function summarize(name: string, rounds: RoundResult[]): InitResult {
  const all = Float64Array.from(rounds.flatMap((r) => r.latUs)).sort();
  const registered = rounds.reduce((a, r) => a + r.registered, 0);
  const sum = all.reduce((a, x) => a + x, 0);
  return {
    name,
    registered,
    missed: rounds.reduce((a, r) => a + r.missed, 0),
    measured: all.length,
    together: rounds.reduce((a, r) => a + r.together, 0),
    lost: rounds.reduce((a, r) => a + r.lost, 0),
    p50: percentile(all, 0.5),
    p90: percentile(all, 0.9),
    p99: percentile(all, 0.99),
    max: all.length ? all[all.length - 1]! : NaN,
    mean: all.length ? sum / all.length : NaN,
    cpuMsPer1000: (rounds.reduce((a, r) => a + r.cpuNs, 0) / 1e6 / Math.max(1, registered)) * 1000,
    rssMiB: Math.max(...rounds.map((r) => r.rssKiB)) / 1024,
    rate: rounds.reduce((a, r) => a + r.rate, 0) / rounds.length,
  };
}

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function printTable(results: InitResult[]): void {
  const tini = results.find((r) => r.name === 'tini');
  const head = [
    'init',
    'measured',
    'together',
    'lost',
    'missed',
    'p50 µs',
    'p90 µs',
    'p99 µs',
    'max µs',
    'CPU ms/1000',
    'RSS MiB',
    'rate/s',
    'p50/tini',
    'p90/tini',
    'p99/tini',
  ];
  const rows = results.map((r) => [
    r.name,
    String(r.measured),
    String(r.together),
    String(r.lost),
    String(r.missed),
    fmt(r.p50),
    fmt(r.p90),
    fmt(r.p99),
    fmt(r.max),
    fmt(r.cpuMsPer1000, 2),
    fmt(r.rssMiB, 1),
    fmt(r.rate, 0),
    tini ? fmt(r.p50 / tini.p50, 2) : '-',
    tini ? fmt(r.p90 / tini.p90, 2) : '-',
    tini ? fmt(r.p99 / tini.p99, 2) : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

/**
 * Tails move with the machine's load from one round to the next, more than inits differ: also
 * compare each init with tini within each round (adjacent runs, alike conditions) and print
 * the per-round p99 ratios and their median.
 */
function printPairedRatios(specs: InitSpec[], byInit: Map<string, RoundResult[]>): void {
  const tini = byInit.get('tini');
  if (!tini) return;
  const p99 = (r: RoundResult): number => percentile(Float64Array.from(r.latUs).sort(), 0.99);
  for (const spec of specs) {
    if (spec.name === 'tini') continue;
    const ratios = byInit.get(spec.name)!.map((r, i) => p99(r) / p99(tini[i]!));
    console.log(`p99/tini by round, ${spec.name}: ${ratios.map((x) => fmt(x, 2)).join(' ')} (median ${fmt(median(ratios), 2)})`);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '2000' },
      rate: { type: 'string', default: '1000' },
      'life-ms': { type: 'string', default: '5' },
      rounds: { type: 'string', default: '2' },
      inits: { type: 'string', default: 'tini,dumb-init,catatonit,ts-reaper' },
      'ts-reaper-args': { type: 'string', default: '' },
      json: { type: 'string' },
      observer: { type: 'string', default: 'spin' },
      'calib-us': { type: 'string', default: '200' },
      contend: { type: 'string', default: '0' },
      variant: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const count = Number(values.count);
  const rate = Number(values.rate);
  const lifeMs = Number(values['life-ms']);
  const rounds = Number(values.rounds);
  const contend = Number(values.contend);
  if (!(count > 0 && rate > 0 && lifeMs > 0 && rounds > 0))
    throw new Error('--count, --rate, --life-ms and --rounds must be positive numbers');
  if (!Number.isInteger(contend) || contend < 0 || contend > 16)
    throw new Error('--contend must be a whole number of CPU-bound loops between 0 and 16');
  const wanted = values.inits.split(',').map((s) => s.trim());
  const specs = initSpecs(values['ts-reaper-args'].split(' ').filter(Boolean), Number(values['calib-us'])).filter((s) =>
    wanted.includes(s.name),
  );
  for (const v of new Set(values.variant)) {
    const extra = v.split(' ').filter(Boolean);
    const name = `ts-reaper ${extra.join(' ')}`;
    if (!specs.some((s) => s.name === name)) specs.push({ name, argv: tsReaperArgv(extra) });
  }
  const pin = availableParallelism() >= 2;
  const spin = values.observer !== 'block';
  if (pin) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  console.log(
    `reaper-latency: ${count} orphans × ${rounds} rounds per init, ${rate}/s, orphan life ${lifeMs} ms; ` +
      (pin ? 'observer on CPU 0, namespace on CPU 1' : 'not pinned (1 CPU)') +
      (spin ? ', observer busy-polls at nice -20' : ', observer blocks') +
      (contend > 0 ? `; ${contend} CPU-bound loop(s) on the namespace's CPU` : ''),
  );
  const hogs = startContention(contend, pin);
  try {
    await measureAll(specs, rounds, count, rate, lifeMs, pin, spin, values.json, {
      count,
      rate,
      lifeMs,
      rounds,
      contend,
      pinned: pin,
      observer: values.observer,
    });
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
  }
}

/** Start `n` CPU-bound shell loops at nice 0, on the namespace's CPU (1) when pinned. */
function startContention(n: number, pin: boolean): ChildProcess[] {
  const hogs: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const argv = [...(pin ? ['taskset', '-c', '1'] : []), 'sh', '-c', 'while :; do :; done'];
    // The harness itself runs at nice 0 but is pinned to CPU 0; taskset re-pins the loop.
    hogs.push(spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' }));
  }
  return hogs;
}

/** Run every init `rounds` times (interleaved), print the table and write the JSON file. */
async function measureAll(
  specs: InitSpec[],
  rounds: number,
  count: number,
  rate: number,
  lifeMs: number,
  pin: boolean,
  spin: boolean,
  json: string | undefined,
  settings: Record<string, unknown>,
): Promise<void> {
  const load0 = loadavg();
  const byInit = new Map<string, RoundResult[]>(specs.map((s) => [s.name, []]));
  for (let round = 0; round < rounds; round++) {
    // Interleave inits round by round so that drift in machine load affects all alike.
    for (const spec of specs) {
      const r = await runRound(spec, count, rate, lifeMs, pin, spin);
      byInit.get(spec.name)!.push(r);
      process.stderr.write(
        `  round ${round + 1} ${spec.name}: measured ${r.latUs.length}, together ${r.together}, lost ${r.lost}, missed ${r.missed}\n`,
      );
    }
  }
  const results = specs.map((s) => summarize(s.name, byInit.get(s.name)!));
  printTable(results);
  printPairedRatios(specs, byInit);
  // Other load on the machine moves the tails most: say how busy it was.
  console.log(
    `load average at start ${load0.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  if (json) writeFileSync(json, JSON.stringify({ ...settings, loadavgStart: load0, loadavgEnd: loadavg(), results }, null, 2));
}

main().catch((e: unknown) => {
  console.error(`reaper-latency: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
