#!/usr/bin/env node
// `npm test`: build once, then run the test tiers in order (unit → local → engine; see
// vitest.config.ts), each in its own vitest process, and end with each tier's duration and one
// closing line `tests: N passed, N failed` that CI logs can be read by.
//
//   node scripts/test-tiers.mjs                 # all three tiers
//   node scripts/test-tiers.mjs unit local      # a subset, in the order given
//
// The engine tier runs once per engine that answers, Docker and Podman (rows `engine:docker`,
// `engine:podman`; .ci/run starts both), or once against DOCKER_HOST when that is set. The legs
// of the two engines run at the same time (they share nothing: each engine has its own
// containers, each test process its own run id and cgroups), each leg's output held and printed
// whole when it ends: one after the other they took 15 of CI's 20 minutes.
//
// Every tier runs even when an earlier one failed (a red unit test should not hide the state of
// the engine tier); the exit status is 1 when any tier failed.
//
// Before the unit tier, two static checks: the import rules (`npm run lint:deps`,
// scripts/lint-deps.mjs) and the formatter (`npm run format:check`). They need no build and take
// seconds, and a broken layering is best heard of before any test. They print one line per
// violation, show as the `imports` and `format` rows and count as one check each in the closing
// line, so that a red exit status never comes with `0 failed`.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TIERS = ['unit', 'local', 'engine'];
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const asked = process.argv.slice(2);
const tiers = asked.length > 0 ? asked : TIERS;
for (const t of tiers) {
  if (!TIERS.includes(t)) {
    process.stderr.write(`test-tiers: unknown tier \`${t}\`: expected ${TIERS.join(', ')}\n`);
    process.exit(2);
  }
}

const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });

// The local and engine tiers run the built programs (ts-reaper, the load generator, the CLI).
if (tiers.some((t) => t !== 'unit')) {
  const b = run('npm', ['run', 'build', '--silent']);
  if (b.status !== 0) {
    process.stderr.write('test-tiers: the build failed; no tier was run\n');
    process.exit(1);
  }
}

const rows = [];
/** One static check before the unit tier: a row that counts as one check. */
const check = (name, args, kept, broken) => {
  const t0 = performance.now();
  const ok = run(process.execPath, args).status === 0;
  rows.push({ tier: name, seconds: (performance.now() - t0) / 1000, passed: ok ? 1 : 0, failed: ok ? 0 : 1, ok, what: ok ? kept : broken });
};
if (tiers.includes('unit')) {
  check('imports', [path.join(root, 'scripts/lint-deps.mjs')], 'rules kept', 'rules broken');
  // The formatter's check (prettier, .prettierrc.json): `npm run format` mends what it lists.
  check(
    'format',
    [path.join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '--log-level', 'warn', '.'],
    'formatted',
    'not formatted: run npm run format',
  );
}

// The engine tier runs once per engine: against DOCKER_HOST alone when it is set (the caller
// chose), else against Docker's socket and Podman's (scripts/podman.sh), each that answers; with
// neither answering it starts Docker with scripts/engine.sh where it can (root, Debian/Ubuntu),
// else runs once against Docker's socket, whose tests then fail with the one-line "no engine
// answers" error, never skipped in silence. The namespace runtime's contract file is a
// leg of its own (`engine:namespace`), run first.
const DOCKER_SOCK = '/var/run/docker.sock';
const PODMAN_SOCK = '/run/podman/podman.sock';
/** Whether an Engine API answers GET /_ping with OK on unix socket `sock` within 3 s. */
const answers = (sock) =>
  spawnSync(
    process.execPath,
    [
      '-e',
      `const r = require('node:http').request({ socketPath: process.argv[1], path: '/_ping', timeout: 3000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1));
       r.on('error', () => process.exit(1)); r.on('timeout', () => process.exit(1)); r.end();`,
      sock,
    ],
    { stdio: 'ignore' },
  ).status === 0;
/** Whether scripts/engine.sh can start an engine here: root, on Debian or Ubuntu (apt). */
const canStartEngine = () => process.getuid?.() === 0 && existsSync('/etc/debian_version') && existsSync('/usr/bin/apt-get');

/** The engine-tier file of the namespace runtime's contract (src/runtime/namespace.ts). */
const NAMESPACE_TESTS = 'test/engine/namespace.test.ts';

function engineRuns() {
  // The engine legs run every engine test file but the namespace runtime's, which is a leg of its own.
  const legs = (() => {
    if (process.env.DOCKER_HOST) return [{ name: 'engine', env: {} }];
    const up = [
      ['docker', DOCKER_SOCK],
      ['podman', PODMAN_SOCK],
    ].filter(([, sock]) => answers(sock));
    if (up.length === 0) {
      // None answers: start one with the project's own script, as .ci/run does, where that can
      // work (root, Debian or Ubuntu: it installs docker.io from the distribution's packages);
      // elsewhere the leg runs against Docker's socket and its tests fail with the one-line
      // "no engine answers" error, never skipped in silence.
      if (canStartEngine()) {
        process.stdout.write('test-tiers: no engine answers; starting Docker with scripts/engine.sh\n');
        if (run('bash', [path.join(root, 'scripts/engine.sh')]).status === 0 && answers(DOCKER_SOCK))
          return [{ name: 'engine:docker', env: { DOCKER_HOST: `unix://${DOCKER_SOCK}` } }];
        process.stdout.write('test-tiers: scripts/engine.sh did not bring Docker up; the engine leg will say why\n');
      }
      return [{ name: 'engine', env: {} }];
    }
    return up.map(([name, sock]) => ({ name: `engine:${name}`, env: { DOCKER_HOST: `unix://${sock}` } }));
  })().map((l) => ({ ...l, files: ['--exclude', NAMESPACE_TESTS] }));
  return legs;
}

/**
 * The namespace runtime needs no engine, only root (its tests fail with the runtime's one-line
 * reason when it cannot run): a short leg of its own, about a minute, run before the engines'
 * legs rather than beside them, so that it adds no load to their 2 CPUs.
 */
const NAMESPACE_LEG = { name: 'engine:namespace', env: {}, files: [NAMESPACE_TESTS] };

const scratch = mkdtempSync(path.join(tmpdir(), 'reapbench-tiers-'));

/** The vitest arguments of one leg, its JSON report in the scratch folder. */
const vitestArgs = (tier, report, files = []) => [
  path.join(root, 'node_modules/vitest/vitest.mjs'),
  'run',
  '--project',
  tier,
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${report}`,
  ...files,
];

/** A leg's row from its exit status and its JSON report. */
function row(name, report, status, seconds) {
  let passed = 0;
  let failed = 0;
  try {
    const json = JSON.parse(readFileSync(report, 'utf8'));
    passed = json.numPassedTests;
    failed = json.numFailedTests;
    // A file that failed to load has no test results but is a failure all the same.
    if (json.numFailedTestSuites > 0 && failed === 0) failed = json.numFailedTestSuites;
  } catch {
    failed = Math.max(failed, 1); // vitest died before writing its report
  }
  if (status !== 0 && failed === 0) failed = 1;
  return { tier: name, seconds, passed, failed, ok: status === 0 };
}

/** Run one leg in the foreground, its output straight to ours. */
function runLeg({ tier, name, env, files }) {
  const report = path.join(scratch, `${name.replace(':', '-')}.json`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, vitestArgs(tier, report, files), { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return row(name, report, r.status, (performance.now() - t0) / 1000);
}

/** Run one leg in the background, its output to a log printed whole once it ends. */
function startLeg({ tier, name, env, files }) {
  const report = path.join(scratch, `${name.replace(':', '-')}.json`);
  const log = path.join(scratch, `${name.replace(':', '-')}.log`);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const out = createWriteStream(log);
    const child = spawn(process.execPath, vitestArgs(tier, report, files), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    child.on('close', (status) => {
      out.end(() => {
        process.stdout.write(`\n===== ${name} =====\n${readFileSync(log, 'utf8')}`);
        resolve(row(name, report, status ?? 1, (performance.now() - t0) / 1000));
      });
    });
  });
}

try {
  for (const tier of tiers) {
    if (tier !== 'engine') {
      rows.push(runLeg({ tier, name: tier, env: {} }));
      continue;
    }
    rows.push(runLeg({ tier, ...NAMESPACE_LEG }));
    const legs = engineRuns().map((e) => ({ tier, ...e }));
    if (legs.length === 1) rows.push(runLeg(legs[0]));
    else {
      process.stdout.write(
        `test-tiers: the engine tier on ${legs.map((l) => l.name).join(' and ')} at once; each leg's output follows when it ends\n`,
      );
      rows.push(...(await Promise.all(legs.map(startLeg))));
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

process.stdout.write('\ntest tiers:\n');
for (const r of rows) {
  const what = r.what ?? `${r.passed} passed, ${r.failed} failed`;
  process.stdout.write(`  ${r.tier.padEnd(16)} ${r.seconds.toFixed(1).padStart(7)} s  ${what}${r.ok ? '' : '  (FAILED)'}\n`);
}
const passed = rows.reduce((s, r) => s + r.passed, 0);
const failed = rows.reduce((s, r) => s + r.failed, 0);
process.stdout.write(`tests: ${passed} passed, ${failed} failed\n`);
process.exit(rows.every((r) => r.ok) ? 0 : 1);
