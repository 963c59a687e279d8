/**
 * Ctrl-C latency of `reapbench run`: the time from SIGINT to the process's exit, with the signal
 * sent at a random moment of a quick run (image check, warm-up, recorded runs, scenarios, final
 * report), and what each interrupt left behind (containers of its run, owned cgroups, a results
 * folder without a report). The goal is an exit within 3 s wherever the signal lands; this is a
 * benchmark, not a test: it prints figures, and exits 1 only when something was left behind.
 *
 *   npm run build && node dist/bench/interrupt-latency.js [--count 20] [--max-delay-s 25] [--seed 1]
 *
 * Needs an engine (bash scripts/engine.sh) and the images (one `npm run bench` builds them).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as delay } from 'node:timers/promises';
import { quantileSorted } from 'simple-statistics';
import { connectEngine } from '../src/runtime/engine.js';
import { RUN_LABEL } from '../src/runtime/cleanup.js';
import { ownedParentDirs } from '../src/runtime/host-cgroup.js';
import { rng } from '../src/rng.js';

const USAGE = `usage: node dist/bench/interrupt-latency.js [--count 20] [--max-delay-s 25] [--seed 1]
Interrupts a quick reapbench run at a random moment in [0, max-delay-s] s, --count times.
Prints per interrupt: delay before SIGINT (s), SIGINT → exit (ms), exit status, leftovers;
then p50/p90/max of the exit latency (ms).`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'dist/src/cli/main.js');
// A run that goes through every phase within ~30 s: warm-up, two recorded runs, two scenarios.
const RUN_ARGS = [
  'run',
  '--inits',
  'tini',
  '--limits',
  '64',
  '--rates',
  '100',
  '--duration-s',
  '3',
  '--repetitions',
  '2',
  '--scenario',
  'orphans,killed-parent-tree,stop-latency',
];

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '20' },
    'max-delay-s': { type: 'string', default: '25' },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const count = Number(values.count);
const maxDelayS = Number(values['max-delay-s']);
if (!Number.isInteger(count) || count < 1 || !(maxDelayS > 0)) {
  process.stderr.write(
    `interrupt-latency: Expected \`--count\` ≥ 1 and \`--max-delay-s\` > 0, got \`${values.count}\`, \`${values['max-delay-s']}\`\n`,
  );
  process.exit(2);
}
const random = rng(Number(values.seed));
const docker = await connectEngine();
const latencies: number[] = [];
let leaks = 0;

for (let i = 0; i < count; i++) {
  const out = mkdtempSync(path.join(tmpdir(), 'reapbench-intr-bench-'));
  const waitS = random() * maxDelayS;
  const child = spawn(process.execPath, [cli, ...RUN_ARGS, '--out', out], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, CI: '' },
  });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, at: performance.now() })),
  );
  const early = await Promise.race([delay(waitS * 1000).then(() => null), exited]);
  if (early) {
    process.stdout.write(`${String(i + 1).padStart(3)}  finished before the signal (${waitS.toFixed(1)} s), exit ${early.code}\n`);
    rmSync(out, { recursive: true, force: true });
    continue;
  }
  const sent = performance.now();
  child.kill('SIGINT');
  const { code, at } = await exited;
  const ms = at - sent;
  latencies.push(ms);
  const dirs = readdirSync(out).filter((n) => n !== 'latest');
  const runId = dirs
    .map((d) => path.join(out, d, 'env.json'))
    .filter((f) => existsSync(f))
    .map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { run_id: string }).run_id)[0];
  const containers = runId ? (await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } })).length : 0;
  const cgroups = runId ? ownedParentDirs(runId).length : 0;
  const noReport =
    dirs.length > 0 && !dirs.some((d) => existsSync(path.join(out, d, 'report.md')) || existsSync(path.join(out, d, 'scenarios.md')));
  const left = containers + cgroups + (noReport ? 1 : 0);
  if (left > 0) leaks += 1;
  const phase = /interrupted while preparing the images/.test(stderr) ? 'images' : dirs.length === 0 ? '?' : 'runs';
  process.stdout.write(
    `${String(i + 1).padStart(3)}  after ${waitS.toFixed(1).padStart(5)} s  exit ${code} in ${ms.toFixed(0).padStart(6)} ms  phase ${phase}  left: ${containers} container(s), ${cgroups} cgroup(s)${noReport ? ', a folder without report' : ''}\n`,
  );
  rmSync(out, { recursive: true, force: true });
}

latencies.sort((a, b) => a - b);
if (latencies.length > 0) {
  const q = (p: number): string => quantileSorted(latencies, p).toFixed(0);
  process.stdout.write(
    `SIGINT → exit, ms (${latencies.length} interrupts): p50 ${q(0.5)}  p90 ${q(0.9)}  max ${latencies[latencies.length - 1]!.toFixed(0)}; interrupts that left something: ${leaks}\n`,
  );
}
process.exit(leaks > 0 ? 1 : 0);
