/**
 * Ctrl-C wherever it lands: `reapbench run` is interrupted in each phase (image preparation, the
 * warm-up run, a recorded load run, a scenario run, the final report) and must exit 130 well
 * before any run timeout, leave no container and no owned cgroup of its run, and keep a report
 * that says PARTIAL whenever something was recorded.
 *
 * Each phase is recognised from the outside, by the event itself: a line on stderr, or a
 * container carrying the run's `reapbench.phase` label. The runs' hard timeout is set to 300 s,
 * so a phase that waited it out instead of honouring the interrupt would miss the 60 s deadline
 * by far; the deadline itself is a bound for a loaded machine, not a performance goal (the 3 s
 * goal is checked by hand, see the README).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readdirSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import type { DockerRuntime } from '../../src/runtime/docker.js';
import { RUN_LABEL } from '../../src/runtime/cleanup.js';
import { ensureImages } from '../../src/images/build.js';
import { ReapbenchError } from '../../src/errors.js';
import { docker, runtime, ownedCgroupsOf, testImages } from '../support/engine.js';
import { waitFor } from '../support/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
let d: Docker;
let rt: DockerRuntime;

beforeAll(async () => {
  d = await docker();
  rt = await runtime();
  await testImages();
});

/** The run id the CLI announced on stderr (`reapbench: run <id>: …`), or undefined before it did. */
const runIdIn = (stderr: string): string | undefined => /^reapbench: run ([0-9a-f]{12}):/m.exec(stderr)?.[1];

/** Whether run `runId` has a running container in `phase` (by its labels). */
async function runningIn(phase: string, runId: string | undefined): Promise<string | undefined> {
  if (!runId) return undefined;
  const list = await d.listContainers({ filters: { label: [`${RUN_LABEL}=${runId}`, `reapbench.phase=${phase}`] } });
  return list.length > 0 ? runId : undefined;
}

const QUICK = ['--inits', 'tini', '--limits', '64', '--rates', '50', '--duration-s', '30', '--run-timeout-s', '300'];

interface Case {
  phase: string;
  args: string[];
  /** Resolves when the run is in the phase, with the run id when a container showed it. */
  reached: (stderr: () => string, out: string) => Promise<string | true>;
  /** What may be left: nothing or a PARTIAL report (`partial`), or a report either way. */
  report: 'partial' | 'partial-or-complete';
}

const cases: Case[] = [
  {
    phase: 'image preparation',
    args: [...QUICK, '--repetitions', '1'],
    reached: (stderr) => waitFor(() => runIdIn(stderr()), { what: 'the image phase line' }),
    report: 'partial',
  },
  {
    phase: 'the warm-up run',
    args: [...QUICK, '--repetitions', '1'],
    reached: (stderr) => waitFor(() => runningIn('warm-up', runIdIn(stderr())), { what: 'a warm-up container' }),
    report: 'partial',
  },
  {
    phase: 'a recorded load run',
    args: [...QUICK, '--repetitions', '2', '--no-warmup'],
    reached: (stderr) => waitFor(() => runningIn('run', runIdIn(stderr())), { what: 'a recorded run container' }),
    report: 'partial',
  },
  {
    phase: 'a scenario run',
    args: ['--inits', 'tini', '--scenario', 'all', '--run-timeout-s', '300'],
    reached: (stderr) => waitFor(() => runningIn('scenario', runIdIn(stderr())), { what: 'a scenario container' }),
    report: 'partial',
  },
  {
    phase: 'the final report',
    args: ['--inits', 'tini', '--limits', '64', '--rates', '50', '--duration-s', '1', '--repetitions', '1', '--no-warmup'],
    // The first report files appear once the only run has ended: what follows is the final report.
    reached: (_e, out) =>
      waitFor(() => readdirSync(out).some((n) => n !== 'latest' && existsSync(path.join(out, n, 'runs.csv'))), {
        what: 'the first report files',
      }),
    report: 'partial-or-complete',
  },
];

describe('Ctrl-C in every phase of reapbench run', () => {
  it.each(cases)('during $phase: exits promptly, leaves nothing, keeps what was measured', async ({ args, reached, report }) => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-intr-'));
    try {
      const child = execa(process.execPath, [cli, 'run', ...args, '--out', out], { reject: false, env: { CI: '' }, timeout: 240_000 });
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
      const seen = await reached(() => stderr, out);
      const sent = performance.now();
      child.kill('SIGINT');
      const r = await child;
      const seconds = (performance.now() - sent) / 1000;
      expect(r.timedOut).toBe(false);
      expect(seconds).toBeLessThan(60);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr).not.toMatch(/could not remove/);
      // Nothing of this run is left in the engine or the cgroup tree (the run id is the one the
      // CLI announced before it created anything).
      const runId = typeof seen === 'string' ? seen : runIdIn(stderr);
      expect(runId).toMatch(/^[0-9a-f]{12}$/);
      expect(await d.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } })).toEqual([]);
      expect(ownedCgroupsOf(runId!)).toEqual([]);
      const dirs = (await readdir(out)).filter((n) => n !== 'latest');
      if (report === 'partial-or-complete') {
        // The signal may land after the last file was written: then the run simply finished.
        expect([0, 130]).toContain(r.exitCode);
      } else {
        expect(r.exitCode).toBe(130);
      }
      if (dirs.length === 0) {
        // Interrupted before anything was measured (only possible before the first run ended):
        // one line says so, and no empty results folder is left behind.
        expect(report).not.toBe('partial-or-complete');
        expect(r.stderr).toMatch(/interrupted/);
        return;
      }
      expect(dirs).toHaveLength(1);
      const files = await readdir(path.join(out, dirs[0]!));
      if (args.includes('--scenario')) {
        expect(files).toContain('scenarios.md');
        // The scenario that was cut is recorded as interrupted, never as a failure of its init
        // (a signal that lands between two runs cuts none).
        const csv = await readFile(path.join(out, dirs[0]!, 'scenarios.csv'), 'utf8');
        expect(csv).not.toMatch(/,(failed|timed-out),/);
        const md = await readFile(path.join(out, dirs[0]!, 'scenarios.md'), 'utf8');
        expect(md).toMatch(/\*\*PARTIAL\*\*: this run did not finish \(interrupted by SIGINT after \d+ of \d+ runs\)/);
        return;
      }
      const md = await readFile(path.join(out, dirs[0]!, 'report.md'), 'utf8');
      if (r.exitCode === 130) expect(md).toMatch(/\*\*PARTIAL\*\*: this run did not finish \(interrupted by SIGINT/);
      else expect(md).not.toMatch(/PARTIAL/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});

describe('an image build under way', () => {
  it('is cancelled by the abort signal: one "interrupted" error, no image, no build container left', async () => {
    // A project root whose app context differs from the real one by one file, so that the app
    // image really has to be built (the real one is cached).
    const tmpRoot = await mkdtemp(path.join(tmpdir(), 'reapbench-buildroot-'));
    try {
      await cp(path.join(root, 'images'), path.join(tmpRoot, 'images'), { recursive: true });
      await cp(path.join(root, 'dist'), path.join(tmpRoot, 'dist'), {
        recursive: true,
        filter: (f) => !f.includes(`${path.sep}src`) && !f.includes(`${path.sep}bench`),
      });
      await writeFile(path.join(tmpRoot, 'dist', 'salt.mjs'), `// ${process.pid} ${Date.now()}\n`);
      await writeFile(path.join(tmpRoot, 'package.json'), '{}\n');
      await symlink(path.join(root, 'node_modules'), path.join(tmpRoot, 'node_modules'));
      const containersBefore = (await d.listContainers({ all: true })).length;
      const controller = new AbortController();
      let tag = '';
      const err = await ensureImages(rt, {
        root: tmpRoot,
        base: 'offline',
        signal: controller.signal,
        onProgress: (line) => {
          const m = /^app: building (\S+)/.exec(line);
          if (m) tag = m[1]!;
          // The build is under way once the engine reports its first step.
          if (/^app: step 1\//i.test(line)) controller.abort(); // Docker: Step 1/5, Podman: STEP 1/5
        },
      }).catch((e: unknown) => e);
      expect(tag).toMatch(/^reapbench:/);
      expect(err).toBeInstanceOf(ReapbenchError);
      expect((err as ReapbenchError).message).toBe('interrupted while preparing the images; nothing was measured');
      expect((err as ReapbenchError).exitCode).toBe(130);
      await expect(d.getImage(tag).inspect()).rejects.toMatchObject({ statusCode: 404 });
      // The engine removes the cancelled build's intermediate container on its own, shortly after.
      await waitFor(async () => (await d.listContainers({ all: true })).length <= containersBefore, { what: 'the build container to go' });
    } finally {
      await rm(tmpRoot, { recursive: true, force: true });
    }
  });
});
