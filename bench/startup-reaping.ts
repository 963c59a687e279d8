/**
 * Reaping from an init's first millisecond: orphans that exit while the init is still starting
 * up, measured by the kernel instrument (src/tracer), ts-reaper against tini (and any other init).
 *
 *   npm run bench:startup-reaping -- [--rounds 3] [--count 2000] [--rate 1000] [--life-us 2000]
 *     [--inits tini,ts-reaper] [--window-ms 100] [--cpu 1] [--baseline LAUNCHER] [--json FILE]
 *
 * `--baseline LAUNCHER` adds the row `ts-reaper@baseline`: another build's `dist/bin/ts-reaper`
 * (e.g. one from before a change, copied beside a node_modules), interleaved with the others.
 *
 * Method: each init runs as PID 1 of a fresh PID namespace (`unshare --pid --fork --mount-proc`),
 * with `dist/orphanage solo` as its child: the orphan load starts the moment the init has started
 * its child, `--count` orphans at `--rate` per second, each living `--life-us`, every one
 * re-parented to the init. Init, load and orphans are pinned to one CPU (`--cpu`; `-1`: none),
 * so that an init's start-up work competes with the load as it does in a small container. The
 * latency of one orphan is the kernel's own: SIGCHLD generation in `exit_notify()` → the return
 * of the init's `wait4`/`waitid` (src/tracer/match.ts), ns resolution, with no observer in the
 * namespace. One tracer records all rounds; each run is picked out by its PID namespace.
 *
 * Rounds are interleaved (tini, ts-reaper, then ts-reaper, tini, …) so that a drift in the
 * machine's load falls on every init alike. Per init and round: p50, p99, max and mean over the
 * orphans the init reaped, and the same over the start-up window alone (orphans that exited in
 * the first `--window-ms` of the load, from the first orphan's exit); then the median of each figure over rounds
 * and its ratio to the first init's (tini by default). Goal for ts-reaper: max and mean ≤ tini's,
 * p50 and p99 too.
 *
 * Limits: a shared 2-CPU machine's noise is in every figure (compare ratios within one run); an
 * orphan the init had not reaped when its namespace ended is counted apart (`unreaped`), never
 * as a latency. Needs root, util-linux (unshare, taskset), the inits installed and a built tracer
 * (`npm run build`; `scripts/tracer-deps.sh`).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { max, mean, median, quantileSorted } from 'simple-statistics';
import { matchTrace, pidNamespaceInode, startTracer, tracerAvailability } from '../src/tracer/index.js';

const USAGE = `usage: npm run bench:startup-reaping -- [--rounds 3] [--count 2000] [--rate 1000] [--life-us 2000]
  [--inits tini,ts-reaper] [--window-ms 100] [--cpu 1] [--baseline LAUNCHER] [--json FILE]
Prints, per round and init, the kernel-measured zombie lifetime (SIGCHLD → the init's wait
returns) of the orphans of a load that starts with the init: p50, p99, max, mean, µs, over all
orphans and over those that exited in the first --window-ms; then medians over rounds and their
ratio to the first init's. See the header of bench/startup-reaping.ts.`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const orphanage = path.join(root, 'dist', 'orphanage');

/** The inits this bench knows: argv prefix before the child's argv. */
const INIT_ARGV: Record<string, string[]> = {
  tini: ['tini', '--'],
  'dumb-init': ['dumb-init', '--'],
  catatonit: ['catatonit', '--'],
  'ts-reaper': [path.join(root, 'dist', 'bin', 'ts-reaper'), '--'],
};

/** Latency figures of one set of orphans, µs; null fields when the set is empty. */
interface Figures {
  /** Orphans in the set, count. */
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

/** One init in one round. */
interface RoundResult {
  init: string;
  round: number;
  /** Orphans the init reaped, all of them. */
  all: Figures;
  /** Those that exited within the window after the init's fork. */
  window: Figures;
  /** Orphans that were still zombies when the namespace ended, count. */
  unreaped: number;
}

/** p50, p99, max and mean of `values` (µs); nulls for an empty set. */
function figures(values: number[]): Figures {
  if (values.length === 0) return { n: 0, p50: null, p99: null, max: null, mean: null };
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: quantileSorted(s, 0.5), p99: quantileSorted(s, 0.99), max: max(s), mean: mean(s) };
}

/** The first child of process `pid` (the init `unshare --fork` started), or 0 while there is none. */
function firstChild(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/)[0]) || 0;
  } catch {
    return 0;
  }
}

/**
 * Run `init` over the orphan load once, in a fresh PID namespace, while `tracer` records.
 * @returns its PID namespace's inode and an instant just after its init's fork (ns, CLOCK_MONOTONIC).
 * @throws Error when the run fails or its init cannot be found.
 */
async function runOnce(
  init: string,
  o: { count: number; rate: number; lifeUs: number; cpu: number },
): Promise<{ nsInode: number; t0Ns: bigint }> {
  // solo RATE LIFETIME_US BATCH COUNT DURATION_MS INFLIGHT GRACE_MS DRAIN_MS (src/loadgen/native/orphanage.c)
  const workload = [orphanage, 'solo', String(o.rate), String(o.lifeUs), '1', String(o.count), '0', '1', '0', '300'];
  const argv = [
    ...(o.cpu >= 0 ? ['taskset', '-c', String(o.cpu)] : []),
    'unshare',
    '--pid',
    '--fork',
    '--mount-proc',
    ...INIT_ARGV[init]!,
    ...workload,
  ];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const ended = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  // The init's namespace, read while it lives: the unshare's child, busy-polled (it exists
  // within a millisecond or two, and the run lasts seconds).
  let nsInode = 0;
  // The run's zero: once its init exists. One tracer records every round, and a freed PID
  // namespace's inode number is given to the next one: match.ts keeps the incarnation whose
  // init was forked last at or before t0, so t0 must follow this init's fork.
  let t0Ns = 0n;
  const deadline = Date.now() + 10_000;
  while (nsInode === 0 && Date.now() < deadline && child.exitCode === null) {
    const init1 = child.pid ? firstChild(child.pid) : 0;
    if (init1 > 0) {
      try {
        nsInode = pidNamespaceInode(init1);
        t0Ns = process.hrtime.bigint();
      } catch {
        // gone between the two reads: the run ended
      }
    }
    if (nsInode === 0) await new Promise((r) => setImmediate(r));
  }
  const code = await ended;
  if (code !== 0) throw new Error(`${init}: the run exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  if (nsInode === 0) throw new Error(`${init}: its PID namespace was not found while it ran`);
  return { nsInode, t0Ns };
}

const fmt = (v: number | null): string => (v === null ? '–' : v >= 1000 ? v.toFixed(0) : v.toFixed(1));

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '3' },
      count: { type: 'string', default: '2000' },
      rate: { type: 'string', default: '1000' },
      'life-us': { type: 'string', default: '2000' },
      inits: { type: 'string', default: 'tini,ts-reaper' },
      'window-ms': { type: 'string', default: '100' },
      cpu: { type: 'string' },
      baseline: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const num = (name: string, v: string, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: expected an integer ≥ ${min}, got ${v}`);
    return n;
  };
  const rounds = num('rounds', values.rounds, 1);
  const count = num('count', values.count, 1);
  const rate = num('rate', values.rate, 1);
  const lifeUs = num('life-us', values['life-us'], 0);
  const windowUs = num('window-ms', values['window-ms'], 1) * 1000;
  const cpu = values.cpu !== undefined ? num('cpu', values.cpu, -1) : availableParallelism() > 1 ? 1 : -1;
  const inits = values.inits.split(',').map((s) => s.trim());
  if (values.baseline !== undefined) {
    if (!existsSync(values.baseline)) throw new Error(`--baseline: ${values.baseline} does not exist`);
    INIT_ARGV['ts-reaper@baseline'] = [path.resolve(values.baseline), '--'];
    inits.push('ts-reaper@baseline');
  }
  for (const i of inits) if (!INIT_ARGV[i]) throw new Error(`--inits: unknown init ${i}; expected ${Object.keys(INIT_ARGV).join(', ')}`);
  const a = tracerAvailability();
  if (!a.available) throw new Error(`the kernel instrument is unavailable: ${a.reason}`);
  if (!existsSync(orphanage)) throw new Error(`${orphanage} missing: run npm run build`);

  const tracer = await startTracer();
  const runs: Array<{ init: string; round: number; nsInode: number; t0Ns: bigint }> = [];
  try {
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? inits : [...inits].reverse();
      for (const init of order) runs.push({ init, round, ...(await runOnce(init, { count, rate, lifeUs, cpu })) });
    }
  } catch (err) {
    await tracer.stop();
    throw err;
  }
  const trace = await tracer.stop();
  const lost = trace.stats?.lost ?? null;

  const results: RoundResult[] = runs.map(({ init, round, nsInode, t0Ns }) => {
    const m = matchTrace(trace.events, { pidNsInode: nsInode, t0Ns, stats: trace.stats });
    // The orphans: re-parented processes that exited (the workload, the init's own child, is not one).
    const orphans = m.processes.filter((p) => p.orphan && p.exitUs !== null);
    // The load starts when the init has started its child, which takes an init in Node longer
    // than one in C: the window runs from the first orphan's exit, not from the init's start.
    const first = orphans.reduce((t, p) => Math.min(t, p.exitUs!), Infinity);
    const reaped = orphans.filter((p) => p.outcome === 'reaped' && p.reaper?.nsPid === 1 && p.latencyUs !== null);
    return {
      init,
      round,
      all: figures(reaped.map((p) => p.latencyUs!)),
      window: figures(reaped.filter((p) => p.exitUs! - first <= windowUs).map((p) => p.latencyUs!)),
      unreaped: orphans.filter((p) => p.outcome !== 'reaped').length,
    };
  });

  console.log(
    `startup-reaping: ${count} orphans at ${rate}/s, ${lifeUs} µs life, load from the init's start; CPU ${cpu >= 0 ? cpu : 'any'}; ` +
      `${rounds} interleaved rounds; kernel instrument, lost events: ${lost ?? 'unknown'}`,
  );
  console.log(
    'zombie lifetime, µs (SIGCHLD → the init\'s wait returns); "first" = orphans that exited in the load\'s first ' +
      `${windowUs / 1000} ms`,
  );
  console.log(['init', 'round', 'n', 'p50', 'p99', 'max', 'mean', '| first n', 'p50', 'p99', 'max', 'mean', '| unreaped'].join('\t'));
  for (const r of results)
    console.log(
      [
        r.init,
        r.round,
        r.all.n,
        fmt(r.all.p50),
        fmt(r.all.p99),
        fmt(r.all.max),
        fmt(r.all.mean),
        `| ${r.window.n}`,
        fmt(r.window.p50),
        fmt(r.window.p99),
        fmt(r.window.max),
        fmt(r.window.mean),
        `| ${r.unreaped}`,
      ].join('\t'),
    );
  const keys = ['p50', 'p99', 'max', 'mean'] as const;
  const med = (init: string, set: 'all' | 'window', k: (typeof keys)[number]): number | null => {
    const vs = results.filter((r) => r.init === init && r[set][k] !== null).map((r) => r[set][k]!);
    return vs.length > 0 ? median(vs) : null;
  };
  const ref = inits[0]!;
  console.log(`median over rounds (ratio to ${ref})`);
  const summary: Record<string, Record<string, Record<string, number | null>>> = {};
  for (const init of inits) {
    summary[init] = {};
    const cells: string[] = [init];
    for (const set of ['all', 'window'] as const) {
      summary[init]![set] = {};
      for (const k of keys) {
        const v = med(init, set, k);
        const r = med(ref, set, k);
        summary[init]![set]![k] = v;
        cells.push(
          `${set === 'window' ? 'first ' : ''}${k} ${fmt(v)}${init !== ref && v !== null && r ? ` (×${(v / r).toFixed(2)})` : ''}`,
        );
      }
    }
    console.log(cells.join('  '));
  }
  if (values.json)
    writeFileSync(values.json, `${JSON.stringify({ count, rate, lifeUs, windowUs, cpu, rounds, lost, results, summary }, null, 2)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`startup-reaping: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
