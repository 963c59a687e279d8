/**
 * The runtime contract on the namespace runtime (src/runtime/namespace.ts): the same promises
 * the Docker and Podman runtimes keep through the seam (pids limit and its EAGAIN, PID 1
 * semantics, the hard timeout, nothing left after an abort or a Ctrl-C, runs that do not see
 * each other), with no engine involved; and the quick preset end to end on it. Root only (as
 * the engine tier is); `npm test` runs this file as its own leg, `engine:namespace`.
 */
import { describe, expect, it } from 'vitest';
import { execa, execaSync } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NamespaceRuntime } from '../../src/runtime/namespace.js';
import { hostAppImage } from '../../src/images/host-image.js';
import { RUN_ID } from '../../src/runtime/cleanup.js';
import { NS_CGROUP_TOP } from '../../src/runtime/ns-cgroup.js';
import { COUNT_ZOMBIES_SH, ORPHANS_GONE_SH, shWaitFor, SLEEPS_EXITED_SH } from '../support/engine.js';
import { waitFor } from '../support/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rt = new NamespaceRuntime(hostAppImage(root));
const PIDS_TOP = `/sys/fs/cgroup/pids/${NS_CGROUP_TOP}`;

/** This process's namespace-run cgroups still present (empty once every run cleaned up). */
const cgroupsOf = (runId: string): string[] =>
  existsSync(PIDS_TOP)
    ? readdirSync(PIDS_TOP)
        .filter((n) => n.startsWith(`${runId}.`))
        .flatMap((n) => [
          `${PIDS_TOP}/${n}`,
          ...readdirSync(`${PIDS_TOP}/${n}`, { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => `${PIDS_TOP}/${n}/${e.name}`),
        ])
    : [];

/** Host processes whose pids cgroup is one of run `runId`'s namespace runs. */
const processesOf = (runId: string): number[] =>
  readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/${NS_CGROUP_TOP}/${runId}.`);
      } catch {
        return false;
      }
    });

const FORK_40 = 'i=0; while [ $i -lt 40 ]; do (sleep 0.2 &); i=$((i+1)); done';
const BURST_REAPED = `${FORK_40}; ${ORPHANS_GONE_SH}; ${shWaitFor('orphans_gone', 'the orphans to be reaped')}; ${COUNT_ZOMBIES_SH}`;
const BURST_EXITED = `${FORK_40}; ${SLEEPS_EXITED_SH}; ${shWaitFor('sleeps_exited', 'the orphans to exit')}; ${COUNT_ZOMBIES_SH}`;

describe('namespace runtime: the runtime contract', () => {
  it('enforces the pids limit: 100 background sleeps under a limit of 32 fail to fork; the exact peak is 32', async () => {
    const r = await rt.run({
      image: 'ignored',
      cmd: ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done; echo forked'],
      pidsLimit: 32,
      timeoutMs: 60_000,
    });
    expect(r.stderr).toMatch(/Cannot fork|can't fork|Resource temporarily unavailable/);
    expect(r.pids).toMatchObject({ peak: 32, max: 32, method: 'owned-parent' });
    expect(r.pids.eventsMax).toBeGreaterThan(0);
    expect(cgroupsOf(RUN_ID)).toEqual([]);
  });

  it('runs PID 1 in its own PID namespace, with its own /proc, no network, and the image stand-in at /app', async () => {
    const r = await rt.run({
      image: 'ignored',
      cmd: [
        'sh',
        '-c',
        'echo pid=$$; ls /proc | grep -c "^[0-9]"; grep -c : /proc/net/dev; test -x /app/bin/ts-reaper && test -f /app/dist/loadgen.mjs && echo app',
      ],
      timeoutMs: 60_000,
    });
    expect(r.exitCode).toBe(0);
    const [pid, count, net, app] = r.stdout.trim().split('\n');
    expect(pid).toBe('pid=1');
    expect(Number(count)).toBeLessThan(5);
    // /proc/net/dev lists the reader's network namespace: the loopback only.
    expect(net).toBe('1');
    expect(app).toBe('app');
  });

  it("gives PID 1 pipes as stdout and stderr, as an engine does: a program that opens /dev/stdout writes to the run's output", async () => {
    // supervisord's stdout_logfile=/dev/stdout: open(2) of a socket's /proc/self/fd link fails (ENXIO).
    const r = await rt.run({ image: 'ignored', cmd: ['sh', '-c', 'echo out > /dev/stdout && echo err > /dev/stderr'], timeoutMs: 60_000 });
    expect([r.exitCode, r.stdout, r.stderr]).toEqual([0, 'out\n', 'err\n']);
  });

  it('without an init, adopted orphans stay zombies under a Node PID 1 (the control)', async () => {
    const script = `const {spawn}=require('child_process');spawn('sh',['-c',${JSON.stringify(BURST_EXITED)}],{stdio:'inherit'}).on('exit',()=>process.exit(0));`;
    const r = await rt.run({ image: 'ignored', cmd: ['node', '-e', script], timeoutMs: 60_000 });
    expect(Number(/zombies=(\d+)/.exec(r.stdout)?.[1])).toBe(40);
  });

  it('tini from the host runs as PID 1 and reaps a burst of orphans', async () => {
    const r = await rt.run({ image: 'ignored', cmd: ['tini', '--', 'sh', '-c', `cat /proc/1/comm; ${BURST_REAPED}`], timeoutMs: 60_000 });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('tini');
    expect(r.stdout).toMatch(/zombies=0\b/);
  });

  it('kills every process of a run that exceeds its timeout, and removes its cgroup', async () => {
    let hostPid: number | null = null;
    const r = await rt.run({
      image: 'ignored',
      cmd: ['sh', '-c', 'sleep 1000 & sleep 1000'],
      timeoutMs: 1_500,
      onStarted: async (_id, live) => {
        hostPid = await live.hostPid();
      },
    });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(137);
    expect(hostPid).not.toBeNull();
    // Gone, not a zombie left to the host's init.
    expect(existsSync(`/proc/${hostPid}`)).toBe(false);
    expect(processesOf(RUN_ID)).toEqual([]);
    expect(cgroupsOf(RUN_ID)).toEqual([]);
  });

  it('an abort kills the run, and removeRun leaves no process and no cgroup', async () => {
    const ac = new AbortController();
    const running = rt.run({
      image: 'ignored',
      cmd: ['sh', '-c', 'sleep 1000 & sleep 1000 & wait'],
      timeoutMs: 120_000,
      signal: ac.signal,
      onStarted: () => {
        ac.abort();
      },
    });
    const r = await running;
    expect(r.aborted).toBe(true);
    expect(await rt.removeRun()).toEqual([]);
    expect(processesOf(RUN_ID)).toEqual([]);
    expect(cgroupsOf(RUN_ID)).toEqual([]);
  });

  it('two runs at once do not see each other: own PIDs, own /tmp', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'reapbench-ns-test-'));
    try {
      const one = (name: string) =>
        rt.run({
          image: 'ignored',
          // Each waits until the other has written its /tmp file (which it must not see), bounded.
          cmd: [
            'sh',
            '-c',
            `echo ${name} > /tmp/mine; touch /results/${name}; ${shWaitFor('[ -e /results/one ] && [ -e /results/two ]', 'both runs', 60)}; ls /tmp; ls /proc | grep -c "^[0-9]"`,
          ],
          mounts: [{ host: dir, container: '/results' }],
          timeoutMs: 90_000,
        });
      const [a, b] = await Promise.all([one('one'), one('two')]);
      for (const r of [a, b]) {
        expect(r.exitCode).toBe(0);
        const lines = r.stdout.trim().split('\n');
        expect(lines[0]).toBe('mine');
        expect(Number(lines[1])).toBeLessThan(5);
      }
      expect(cgroupsOf(RUN_ID)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says in one line that an init is missing or does not apply, and that images need an engine', async () => {
    expect(rt.initUnavailable('docker-init')).toMatch(/^does not apply: /);
    expect(rt.initUnavailable('tini')).toBeNull();
    await expect(rt.pullImage('node:20-slim')).rejects.toThrow(/need a container engine/);
  });
});

describe('namespace runtime: the CLI', () => {
  const cli = path.join(root, 'dist/src/cli/main.js');

  it('runs the quick preset with --engine namespace, says so, and leaves docker-init out as not applying', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-ns-cli-'));
    try {
      const r = await execa(
        process.execPath,
        [
          cli,
          'run',
          '--preset',
          'quick',
          '--engine',
          'namespace',
          '--inits',
          'none,tini,docker-init',
          '--repetitions',
          '1',
          '--no-warmup',
          '--out',
          out,
          '--no-progress',
        ],
        // Not in CI mode whatever the environment (.ci/run sets CI=true): that mode prints a JSON
        // summary instead of the terminal report a user reads.
        { reject: false, all: true, env: { CI: 'false' } },
      );
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toContain('reapbench: runtime: namespace runtime (--engine namespace)');
      expect(r.all).toMatch(/docker-init .*does not apply/);
      expect(r.all).toMatch(/tini .*survived/);
      const [dir] = readdirSync(out).filter((n) => /^\d{4}-/.test(n));
      const env = JSON.parse(readFileSync(path.join(out, dir!, 'env.json'), 'utf8')) as { engine_name: string; engine_choice: string };
      expect(env).toMatchObject({
        engine_name: 'namespace',
        engine_choice: 'namespace runtime (--engine namespace)',
        engine_api_version: null,
      });
      const report = readFileSync(path.join(out, dir!, 'report.md'), 'utf8');
      expect(report).toContain('| runtime | namespace runtime (--engine namespace) |');
      expect(report).toMatch(/\| engine \| none: the namespace runtime \(unshare, util-linux [\w.]+\), cgroup v[12] \|/);
      expect(report).not.toContain('(API');
      expect(report).toMatch(/^\| image \| no image: the namespace runtime runs /m);
      expect(report).not.toContain('| base image |');
      // docker-init has no meaning without an engine: left out of the run, not a failed row.
      expect(r.all).toMatch(/^reapbench: docker-init left out, it does not apply here: it is the engine's own init/m);
      expect(r.all).not.toMatch(/^run \d+\/\d+ docker-init /m);
      const rows = readFileSync(path.join(out, dir!, 'summary.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1);
      expect(rows.map((l) => l.split(',')[0])).toEqual(['none', 'tini']);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  // No engine answers: a mount namespace with an empty /run hides Docker's and Podman's sockets
  // (/var/run is /run) from the CLI alone, without stopping the engines others may be using.
  const withoutEngines = (argv: string[], user: string | null): string[] => [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount -t tmpfs none /run && exec ${user ? `setpriv --reuid=${user} --regid=nogroup --clear-groups ` : ''}"$@"`,
    'sh',
    ...argv,
  ];

  it('--engine auto with no engine answering falls back to the namespace runtime as root, and says why', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-ns-auto-'));
    try {
      const [cmd, ...args] = withoutEngines(
        [
          process.execPath,
          cli,
          'run',
          '--inits',
          'tini',
          '--limits',
          '64',
          '--rates',
          '100',
          '--duration-s',
          '1',
          '--repetitions',
          '1',
          '--no-warmup',
          '--out',
          out,
          '--no-progress',
        ],
        null,
      );
      const r = await execa(cmd!, args, { reject: false, all: true, env: { DOCKER_HOST: '', CONTAINER_HOST: '' } });
      expect(r.exitCode, r.all).toBe(0);
      expect(r.all).toMatch(/^reapbench: runtime: namespace runtime \(--engine auto: no container engine answers .*; running as root\)$/m);
      const [dir] = readdirSync(out).filter((n) => /^\d{4}-/.test(n));
      const env = JSON.parse(readFileSync(path.join(out, dir!, 'env.json'), 'utf8')) as { engine_name: string; engine_choice: string };
      expect(env.engine_name).toBe('namespace');
      expect(env.engine_choice).toMatch(/^namespace runtime \(--engine auto: /);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  // `nobody` must be able to read the build; a checkout under a private home (/root) is not.
  const nobodyReads =
    execaSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'test', '-r', cli], { reject: false }).exitCode === 0;
  it.skipIf(!nobodyReads)(
    '--engine auto with no engine and no root: one line with the three ways out, exit 1 (skipped where nobody cannot read the build)',
    async () => {
      const [cmd, ...args] = withoutEngines(
        [process.execPath, cli, 'run', '--inits', 'tini', '--out', path.join(tmpdir(), 'reapbench-ns-nobody')],
        'nobody',
      );
      const r = await execa(cmd!, args, { reject: false, all: true, env: { DOCKER_HOST: '', CONTAINER_HOST: '' } });
      expect(r.exitCode, r.all).toBe(1);
      expect(r.all).not.toMatch(/\n\s+at /);
      expect(r.all).toMatch(
        /^reapbench: no container engine answers at .* and the namespace runtime cannot run \(.*\): start Docker .*, start Podman .*, or run as root .*$/m,
      );
    },
  );

  it('leaves no process and no cgroup when it gets SIGINT mid-run', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-ns-int-'));
    try {
      const child = execa(
        process.execPath,
        [
          cli,
          'run',
          '--engine',
          'namespace',
          '--inits',
          'none',
          '--repetitions',
          '1',
          '--no-warmup',
          '--duration-s',
          '60',
          '--rates',
          '50',
          '--limits',
          '4096',
          '--instrument',
          'pidfd',
          '--out',
          out,
          '--no-progress',
        ],
        { reject: false, all: true },
      );
      let runId = '';
      child.all!.on('data', (b: Buffer) => (runId ||= /reapbench: run ([0-9a-f]{12})/.exec(b.toString())?.[1] ?? ''));
      await waitFor(() => (runId !== '' && processesOf(runId).length > 0) || undefined, { what: 'the namespace run to start' });
      child.kill('SIGINT');
      const res = await child;
      expect(res.exitCode, res.all).toBe(130);
      expect(processesOf(runId)).toEqual([]);
      expect(cgroupsOf(runId)).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
