/**
 * Start-up probe: how long after an init is exec'd does its child start? Measured from outside,
 * the same way for every init: the harness takes the wall-clock time just before it spawns
 * `<init> -- date +%s.%N` and the child prints the wall-clock time at which it ran. The
 * difference includes the exec of `date` itself (≈1 ms, the same in every row).
 *
 *   npm run build && node dist/bench/startup.js [--runs 20] [--inits tini,node,ts-reaper]
 *     [--keep-env] [--bundle dist/ts-reaper.cjs] [--json startup.json]
 *
 * Rows: `tini` (run as `tini -s`: a C init, the reference, a subreaper like ts-reaper here),
 * `node` (Node reaching its first line of user code: the floor of any init written for Node,
 * printed by `node -e`), `ts-reaper` (`-- date`, the
 * usual container form, which needs no option parser) and `ts-reaper -g` (an option, so the
 * option parser is loaded). Runs are interleaved so that drift in machine load hits all rows.
 *
 * NODE_EXTRA_CA_CERTS is removed from the children's environment unless `--keep-env`: Node 20
 * reads that file at boot (Node docs, "NODE_EXTRA_CA_CERTS": "read once when the process
 * first starts"), about +35 ms here, and container images do not set it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { quantileSorted } from 'simple-statistics';

const USAGE = `usage: node dist/bench/startup.js [--runs 20] [--inits tini,node,ts-reaper] [--keep-env]
  [--bundle dist/ts-reaper.cjs] [--json FILE]
Prints p50/p90/min/max of the time from exec of each init to its child running, ms.
Rows: tini (as tini -s), node (first line of user code), ts-reaper, ts-reaper -g.`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** One row: a name and the argv that runs `date +%s.%N` (or prints the time itself). */
interface Row {
  name: string;
  argv: string[];
}

/** Start-up figures of one row, milliseconds. */
interface RowResult {
  name: string;
  runs: number;
  p50: number;
  p90: number;
  min: number;
  max: number;
}

function rows(wanted: string[], bundle: string): Row[] {
  const tini = existsSync('/usr/bin/tini-static') ? '/usr/bin/tini-static' : 'tini';
  const date = ['date', '+%s.%N'];
  const all: Row[] = [
    { name: 'tini', argv: [tini, '-s', '--', ...date] },
    // The first line of user code: wall-clock time at that moment, in seconds.
    { name: 'node', argv: [process.execPath, '-e', 'process.stdout.write(String((performance.timeOrigin + performance.now()) / 1000))'] },
    { name: 'ts-reaper', argv: [process.execPath, bundle, '--', ...date] },
    { name: 'ts-reaper -g', argv: [process.execPath, bundle, '-g', '--', ...date] },
  ];
  return all.filter((r) => wanted.some((w) => r.name === w || r.name.startsWith(`${w} `)));
}

/** Wall-clock now, milliseconds with µs resolution. */
function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** One run: ms from just before the spawn to the time the child printed. */
function once(row: Row, env: NodeJS.ProcessEnv): number {
  const t0 = nowMs();
  const out = execFileSync(row.argv[0]!, row.argv.slice(1), { env, encoding: 'latin1', timeout: 10_000 });
  const t = Number(out.trim()) * 1000;
  if (!Number.isFinite(t)) throw new Error(`${row.name}: unexpected output ${JSON.stringify(out)}`);
  return t - t0;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '20' },
      inits: { type: 'string', default: 'tini,node,ts-reaper' },
      'keep-env': { type: 'boolean', default: false },
      json: { type: 'string' },
      // Another build of ts-reaper (e.g. a checkout of an older commit), to compare builds.
      bundle: { type: 'string', default: path.join(root, 'dist', 'ts-reaper.cjs') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const bundle = path.resolve(values.bundle);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs must be a positive whole number');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npm run build first`);
  const selected = rows(
    values.inits.split(',').map((s) => s.trim()),
    bundle,
  );
  if (selected.length === 0) throw new Error('--inits selects nothing: use tini, node, ts-reaper');
  const env = { ...process.env };
  if (!values['keep-env']) delete env.NODE_EXTRA_CA_CERTS;
  else if (env.NODE_EXTRA_CA_CERTS) console.log('note: NODE_EXTRA_CA_CERTS is set and kept: every Node row pays for reading it');

  const samples = new Map<string, number[]>(selected.map((r) => [r.name, []]));
  for (const r of selected) once(r, env); // warm the page cache; not counted
  for (let i = 0; i < runs; i++) for (const r of selected) samples.get(r.name)!.push(once(r, env));

  const results: RowResult[] = selected.map((r) => {
    const xs = samples.get(r.name)!.sort((a, b) => a - b);
    return {
      name: r.name,
      runs: xs.length,
      p50: quantileSorted(xs, 0.5),
      p90: quantileSorted(xs, 0.9),
      min: xs[0]!,
      max: xs[xs.length - 1]!,
    };
  });
  console.log(`start-up: exec of the init → its child running, ms, ${runs} runs each, interleaved`);
  const w = Math.max(...results.map((r) => r.name.length));
  console.log(`${'init'.padEnd(w)}  ${['p50', 'p90', 'min', 'max'].map((h) => h.padStart(7)).join('')}`);
  for (const r of results)
    console.log(`${r.name.padEnd(w)}  ${[r.p50, r.p90, r.min, r.max].map((x) => x.toFixed(1).padStart(7)).join('')}`);
  if (values.json) writeFileSync(values.json, JSON.stringify({ runs, keptEnv: values['keep-env'], results }, null, 2));
}

try {
  main();
} catch (e) {
  console.error(`startup: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
