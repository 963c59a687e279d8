/**
 * Faults survived: each fault is injected at a chosen moment of a real `reapbench run` (or of one
 * container run) on the engine under test, and what the user gets is checked: one line, an exit
 * status, a report that says PARTIAL with the reason, the files written so far intact, nothing
 * left in the engine. `npm run test:faults` runs this file alone; `npm test` runs it with the
 * engine tier, once per engine.
 *
 * The moments are recognised by the events themselves (a container of the run with the run's
 * labels, the first runs.csv), never by a fixed wait; the deadlines are bounds for a loaded
 * machine, not goals (those are in the README's "what happens when…" table, measured by hand).
 * The engine-kill case goes last: it restarts the engine with the project's own script.
 */
import { parse } from 'csv-parse/sync';
import { execa, type ResultPromise } from 'execa';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureImages, type ImageSet } from '../../src/images/build.js';
import { RUN_ID, RUN_LABEL } from '../../src/runtime/cleanup.js';
import type { DockerRuntime } from '../../src/runtime/docker.js';
import { docker, ownedCgroupsOf, runtime, testImages } from '../support/engine.js';
import type { EngineInfo } from '../../src/runtime/engine.js';
import { waitFor } from '../support/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
let d: Docker;
let rt: DockerRuntime;
let images: ImageSet;
let engineName: EngineInfo['name'];

beforeAll(async () => {
  d = await docker();
  rt = await runtime();
  images = await testImages();
  engineName = (await rt.info()).name;
});

/** A small matrix: one init, short runs, no warm-up. */
const SMALL = ['--inits', 'tini', '--limits', '64', '--rates', '50', '--no-warmup', '--run-timeout-s', '300'];

/** The run id the CLI announced on stderr, or undefined before it did. */
const runIdIn = (stderr: string): string | undefined => /^reapbench: run ([0-9a-f]{12}):/m.exec(stderr)?.[1];

/** `reapbench run <args> --out <out>` as a child, with its stderr so far. */
function startRun(args: string[], out: string): { child: ResultPromise; stderr: () => string } {
  const child = execa(process.execPath, [cli, 'run', ...args, '--out', out], { reject: false, env: { CI: '' }, timeout: 280_000 });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  return { child, stderr: () => err };
}

/** The id of a running container of run `runId` in a recorded run, once there is one. */
async function runningContainer(stderr: () => string): Promise<{ runId: string; id: string }> {
  return waitFor(
    async () => {
      const runId = runIdIn(stderr());
      if (!runId) return undefined;
      const list = await d.listContainers({ filters: { label: [`${RUN_LABEL}=${runId}`, 'reapbench.phase=run'] } });
      return list[0] ? { runId, id: list[0].Id } : undefined;
    },
    { what: 'a running container of the run', detail: stderr },
  );
}

/** The results folder in `out` (beside `latest`), once it has runs.csv with at least `rows` runs. */
function recorded(out: string, rows: number): Promise<string> {
  return waitFor(
    () => {
      for (const n of existsSync(out) ? readdirSync(out) : []) {
        const csv = path.join(out, n, 'runs.csv');
        if (n !== 'latest' && existsSync(csv) && readFileSync(csv, 'utf8').trim().split('\n').length > rows) return path.join(out, n);
      }
      return undefined;
    },
    { what: `${rows} recorded run(s) in ${out}` },
  );
}

/** runs.csv as objects. */
const runsCsv = (dir: string): Array<Record<string, string>> =>
  parse(readFileSync(path.join(dir, 'runs.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;

/** Containers of run `runId` still in the engine, in any state. */
const leftOf = async (runId: string): Promise<number> =>
  (await d.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } })).length;

/** The engine's process: dockerd, or Podman's API service. */
async function enginePid(): Promise<number> {
  const pid =
    engineName === 'docker'
      ? Number(readFileSync('/var/run/docker.pid', 'utf8'))
      : Number((await execa('pgrep', ['-f', '-o', 'podman system service'])).stdout.trim());
  expect(pid).toBeGreaterThan(1);
  return pid;
}

/** Whether process `pid` holds a socket beyond its stdio (which Node makes of socket pairs): the CLI opens none before its connection to the engine. */
function hasSocket(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`)
      .filter((fd) => Number(fd) > 2)
      .some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
        } catch {
          return false;
        }
      });
  } catch {
    return false;
  }
}

/** The engine's name as reapbench's lines give it. */
const engineLabel = (): string => (engineName === 'docker' ? 'Docker' : 'Podman');

/** The lines a user sees: no stack trace, ever, without --verbose. */
function expectNoStack(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('faults, each injected into a real run', () => {
  it('a measured container killed from outside: that run is recorded failed with the reason, the matrix goes on', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-fault-kill-'));
    try {
      const { child, stderr } = startRun([...SMALL, '--duration-s', '4', '--repetitions', '3'], out);
      const { runId, id } = await runningContainer(stderr);
      await d.getContainer(id).kill({ signal: 'SIGKILL' });
      const r = await child;
      expect(r.exitCode, r.stderr as string).toBe(0);
      expectNoStack(r.stderr as string);
      const dir = await recorded(out, 3);
      const rows = runsCsv(dir);
      expect(rows.map((x) => x.state)).toEqual(['failed', 'completed', 'completed']);
      expect(rows[0]!.failure_reason).toMatch(/\(exit 137, SIGKILL\)/);
      expect(await leftOf(runId)).toBe(0);
      expect(ownedCgroupsOf(runId)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('a workload that ignores SIGTERM and never exits: killed at the run timeout, recorded timed-out, nothing left', async () => {
    // The stop's grace period (600 s) is far beyond the run timeout (4 s): the timeout kills it.
    const r = await rt.run({
      image: images.app,
      cmd: ['sh', '-c', "trap '' TERM; while :; do sleep 1; done"],
      timeoutMs: 4_000,
      stopAfterMs: 0,
      stopGraceS: 600,
      labels: { 'reapbench.phase': 'fault-test' },
    });
    expect([r.timedOut, r.aborted]).toEqual([true, false]);
    expect(r.exitCode).toBe(137);
    expect(await d.listContainers({ all: true, filters: { id: [r.id] } })).toEqual([]);
    expect(ownedCgroupsOf(RUN_ID)).toEqual([]);
  });

  it('the results folder runs out of space: one line, exit 1, the files written so far intact and parseable, no temporary file', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-fault-full-'));
    // Room for the first run's files, not for the rest.
    await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', out]);
    try {
      const r = await startRun([...SMALL, '--duration-s', '2', '--repetitions', '3'], out).child;
      // Where the disk fills (a run's save, or the final one) depends on the sizes: either way one line.
      expect(r.exitCode).toBe(1);
      expectNoStack(r.stderr as string);
      expect(r.stderr).toMatch(
        /^reapbench: cannot write the results in \S+: no space left on device \(ENOSPC\); free space there or choose another --out(; results so far are in \S+)?$/m,
      );
      const dirs = (await readdir(out)).filter((n) => n !== 'latest');
      expect(dirs).toHaveLength(1);
      const files = await readdir(path.join(out, dirs[0]!));
      expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
      const rows = runsCsv(path.join(out, dirs[0]!));
      expect(rows.length).toBeGreaterThanOrEqual(1);
      expect(rows[0]!.state).toBe('completed');
      expect(JSON.parse(readFileSync(path.join(out, dirs[0]!, 'env.json'), 'utf8'))).toHaveProperty('run_id');
    } finally {
      await execa('umount', [out], { reject: false });
      await rm(out, { recursive: true, force: true });
    }
  });

  it('the image removed between runs: one line naming it, exit 1, a PARTIAL report with the reason', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-fault-rmi-'));
    try {
      const { child } = startRun([...SMALL, '--duration-s', '3', '--repetitions', '3'], out);
      await recorded(out, 1);
      // Untagged while the second run may be using it: the third cannot start.
      await d.getImage(images.app).remove({ force: true });
      const r = await child;
      expect(r.exitCode).toBe(1);
      expectNoStack(r.stderr as string);
      const tag = images.app.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      expect(r.stderr).toMatch(new RegExp(`^reapbench: create container from ${tag}: image missing .*; results so far are in \\S+$`, 'm'));
      const dir = await recorded(out, 1);
      expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(/\*\*PARTIAL\*\*: this run did not finish \(create container from/);
    } finally {
      await rm(out, { recursive: true, force: true });
      // The later tests (and files) use the image: build it again (the same tag, from the same inputs).
      await ensureImages(rt, { pullTimeoutMs: 3_000 });
    }
  });

  it('CI cancellation as GitHub Actions does it (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that): the PARTIAL report is on disk before any SIGKILL', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-fault-cancel-'));
    const timers: NodeJS.Timeout[] = [];
    try {
      const { child, stderr } = startRun([...SMALL, '--duration-s', '5', '--repetitions', '3'], out);
      await recorded(out, 1);
      const { runId } = await runningContainer(stderr);
      child.kill('SIGINT');
      timers.push(setTimeout(() => child.kill('SIGTERM'), 7_500));
      timers.push(setTimeout(() => child.kill('SIGKILL'), 10_000));
      const r = await child;
      // It ended on the first signal, as the runner asked, and said so.
      expect([r.signal, r.exitCode]).toEqual([undefined, 130]);
      expectNoStack(r.stderr as string);
      const dir = await recorded(out, 1);
      expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(/\*\*PARTIAL\*\*: this run did not finish \(interrupted by SIGINT/);
      expect(await leftOf(runId)).toBe(0);
    } finally {
      for (const t of timers) clearTimeout(t);
      await rm(out, { recursive: true, force: true });
    }
  });

  it('the engine hangs mid-run (SIGSTOP): one line, exit 1, although its requests never end; nothing left once it resumes', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-fault-hang-'));
    const pid = await enginePid();
    try {
      const { child, stderr } = startRun([...SMALL, '--duration-s', '20', '--repetitions', '2'], out);
      const { runId } = await runningContainer(stderr);
      process.kill(pid, 'SIGSTOP');
      const r = await child;
      process.kill(pid, 'SIGCONT');
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(1);
      expectNoStack(r.stderr as string);
      // The engine may stop before its answer to the container's start reaches reapbench, though
      // the container already runs (the engine may list it running before that answer arrives): the
      // line then names that phase. Either is the truth of the moment the engine stopped.
      expect(r.stderr).toMatch(
        new RegExp(
          `^reapbench: the ${engineLabel()} engine stopped answering during (a container run|the start of a container) \\(tini orphans\\) \\(no answer to a ping within 2 s\\)`,
          'm',
        ),
      );
      // Its container is left while the engine hangs; once it answers, the sweep of a later run
      // (or clean --run) removes it.
      await rt.sweepDeadRuns();
      expect(await leftOf(runId)).toBe(0);
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already running, or gone
      }
      await rm(out, { recursive: true, force: true });
    }
  });

  // A hung engine answers nothing: the run's wait, its removal and every grace period would hang
  // with it. The exit status proves the signal ended the run, not the engine watch, which needs
  // two unanswered pings of 2 s each (exit 1).
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)(
    'the engine hangs mid-run (SIGSTOP), then %s: it ends on the signal (128 + n), with a PARTIAL report; nothing left once the engine resumes',
    async (signal) => {
      const out = await mkdtemp(path.join(tmpdir(), 'reapbench-fault-hang-signal-'));
      const pid = await enginePid();
      try {
        const { child, stderr } = startRun([...SMALL, '--duration-s', '2', '--repetitions', '2'], out);
        await recorded(out, 1);
        const { runId } = await runningContainer(stderr);
        process.kill(pid, 'SIGSTOP');
        child.kill(signal);
        const r = await child;
        process.kill(pid, 'SIGCONT');
        expect(r.exitCode, r.stderr as string).toBe(128 + constants.signals[signal]);
        expectNoStack(r.stderr as string);
        const dir = await recorded(out, 1);
        expect(r.stderr).toContain(`reapbench: interrupted; partial report in ${dir}`);
        expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(
          new RegExp(`\\*\\*PARTIAL\\*\\*: this run did not finish \\(interrupted by ${signal}`),
        );
        await rt.sweepDeadRuns();
        expect(await leftOf(runId)).toBe(0);
      } finally {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // already running, or gone
        }
        await rm(out, { recursive: true, force: true });
      }
    },
  );

  it('the engine hangs before the run reaches it, then SIGTERM: it ends on the signal (143), one line, no results folder', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-fault-hang-start-'));
    const pid = await enginePid();
    try {
      process.kill(pid, 'SIGSTOP');
      const { child, stderr } = startRun([...SMALL, '--duration-s', '2'], out);
      // Its first line comes only once the engine answered: wait instead for the socket it opens
      // to the engine (after its signal handlers are in place).
      await waitFor(() => (hasSocket(child.pid!) ? true : undefined), {
        what: 'the run waiting on the engine',
        detail: stderr,
      });
      child.kill('SIGTERM');
      const r = await child;
      process.kill(pid, 'SIGCONT');
      expect(r.exitCode, r.stderr as string).toBe(143);
      expectNoStack(r.stderr as string);
      expect(r.stderr).toMatch(/^reapbench: interrupted before the first run ended; nothing was measured$/m);
      expect(await readdir(out)).toEqual([]);
    } finally {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already running, or gone
      }
      await rm(out, { recursive: true, force: true });
    }
  });

  it('the engine killed mid-run: one line, exit 1, a PARTIAL report with the reason; restarted by the project script, the next run removes what the dead run left', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-fault-engine-'));
    try {
      const { child, stderr } = startRun([...SMALL, '--duration-s', '20', '--repetitions', '3'], out);
      await recorded(out, 1);
      const { runId } = await runningContainer(stderr);
      // kill -9, as an OOM kill or a crash would.
      process.kill(await enginePid(), 'SIGKILL');
      const r = await child;
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(1);
      expectNoStack(r.stderr as string);
      const name = engineLabel();
      expect(r.stderr).toMatch(
        new RegExp(
          `^reapbench: the ${name} engine stopped answering during a container run \\(tini orphans\\) \\(.+\\); results so far are in \\S+$`,
          'm',
        ),
      );
      const dir = await recorded(out, 1);
      expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(
        new RegExp(`\\*\\*PARTIAL\\*\\*: this run did not finish \\(the ${name} engine stopped answering`),
      );

      // The engine back, through the project's own script; then a new run sweeps the dead run's containers.
      await execa('bash', [path.join(root, 'scripts', engineName === 'docker' ? 'engine.sh' : 'podman.sh')], { timeout: 240_000 });
      const left = await leftOf(runId);
      const nextOut = path.join(out, 'next');
      await mkdir(nextOut);
      const next = await startRun([...SMALL, '--duration-s', '1', '--repetitions', '1'], nextOut).child;
      expect(next.exitCode, next.stderr as string).toBe(0);
      // The sweep names this dead run; other runs' parents left empty (the other engine's leg
      // runs at the same time) may be swept and named with it.
      if (left > 0)
        expect(next.stderr).toMatch(
          new RegExp(
            `^reapbench: removed ${left} containers? and \\d+ parent cgroups? left by \\d+ runs? whose process is gone \\([^)]*${runId}[^)]*\\)$`,
            'm',
          ),
        );
      expect(await leftOf(runId)).toBe(0);
      expect(ownedCgroupsOf(runId)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
