/**
 * Integration tests against the real Docker engine (no mocks): images build offline and are
 * cached, the pids limit is enforced, each init from the image runs as PID 1 and reaps, and
 * containers are removed on timeout and on interrupt.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type Docker from 'dockerode';
import type { DockerRuntime } from '../../src/runtime/docker.js';
import { execa } from 'execa';
import { getEventListeners } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runContainer } from '../../src/runtime/container.js';
import { engineInfo } from '../../src/runtime/engine.js';
import { ensureImages, type ImageSet } from '../../src/images/build.js';
import { RUN_ID, RUN_LABEL } from '../../src/runtime/cleanup.js';
import type { PidsFigures } from '../../src/runtime/host-cgroup.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import {
  COUNT_ZOMBIES_SH,
  docker,
  runtime,
  ORPHANS_GONE_SH,
  ownedCgroupsOf,
  shWaitFor,
  SLEEPS_EXITED_SH,
  testImages,
} from '../support/engine.js';
import { waitForFile } from '../support/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let d: Docker;
let rt: DockerRuntime;
let images: ImageSet;
/** The engine is Podman (some figures differ by design: see the tests that read it). */
let podman = false;

beforeAll(async () => {
  d = await docker();
  rt = await runtime();
  images = await testImages();
  podman = (await engineInfo(d)).name === 'podman';
});

/** Burst of 40 orphans: each subshell forks `sleep 0.2` and exits, so the sleep is re-parented to PID 1. */
const FORK_40 = 'i=0; while [ $i -lt 40 ]; do (sleep 0.2 &); i=$((i+1)); done';
/** Under a reaping init: the burst, then wait until every orphan exited and was reaped, then count. */
const BURST_REAPED = `${FORK_40}; ${ORPHANS_GONE_SH}; ${shWaitFor('orphans_gone', 'the orphans to be reaped')}; ${COUNT_ZOMBIES_SH}`;
/** Under a PID 1 that does not reap: the burst, then wait until every orphan exited, then count. */
const BURST_EXITED = `${FORK_40}; ${SLEEPS_EXITED_SH}; ${shWaitFor('sleeps_exited', 'the orphans to exit')}; ${COUNT_ZOMBIES_SH}`;

describe('images', () => {
  it('has a base with node, a shell, ps and the three inits', async () => {
    const r = await runContainer(d, {
      image: images.app,
      cmd: ['sh', '-c', 'node --version && command -v tini dumb-init catatonit sleep ps ts-reaper loadgen >/dev/null && echo ok'],
      timeoutMs: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(process.version);
    expect(r.stdout.trim().endsWith('ok')).toBe(true);
    expect(r.exitCode).toBe(0);
  });

  it('is a cache hit the second time', async () => {
    const again = await ensureImages(rt, { pullTimeoutMs: 3_000 });
    expect(again.built).toBe(false);
    expect(again.app).toBe(images.app);
    expect(again.appId).toBe(images.appId);
  });

  it('reports which base was used', () => {
    expect(['offline', 'registry']).toContain(images.baseMode);
    expect(images.baseReason.length).toBeGreaterThan(0);
  });
});

describe('runContainer', () => {
  // busybox sh exits on its first failed background fork, so the fork loop runs in a subshell:
  // PID 1 survives it, reports what the container's own cgroup says, then waits for the test.
  // Only shell builtins after the loop: the table is full of sleeps.
  const FILL_32 = [
    '( i=0; while [ $i -lt 100 ]; do sleep 300 & i=$((i+1)); done )',
    'echo "subshell=$?"',
    'read m < /sys/fs/cgroup/pids/pids.max; echo "max=$m"',
    'while read k v; do echo "events_$k=$v"; done < /sys/fs/cgroup/pids/pids.events',
    ': > /sync/filled',
    // One slot is free again once the subshell is gone: enough for this poll's sleep.
    'while [ ! -e /sync/go ]; do sleep 0.05; done',
  ].join('; ');

  it('enforces PidsLimit: 100 background sleeps under a limit of 32 fail with EAGAIN; the exact peak is 32', async () => {
    const sync = await mkdtemp(path.join(tmpdir(), 'reapbench-sync-'));
    let live: PidsFigures | null = null;
    try {
      const r = await runContainer(d, {
        image: images.app,
        cmd: ['sh', '-c', FILL_32],
        pidsLimit: 32,
        mounts: [{ host: sync, container: '/sync' }],
        timeoutMs: 120_000,
        onStarted: async (_id, c) => {
          await waitForFile(path.join(sync, 'filled'), 60_000);
          // The container is full and waits: this reading happens while it lives.
          live = await c.readPids();
          await writeFile(path.join(sync, 'go'), '');
        },
      });
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).toBe(0);
      // Forks failed with EAGAIN, and the container's own cgroup counted them.
      expect(r.stderr).toMatch(/can't fork: Resource temporarily unavailable/);
      expect(r.stdout).toMatch(/^subshell=2$/m);
      expect(r.stdout).toMatch(/^max=32$/m);
      expect(Number(/^events_max=(\d+)$/m.exec(r.stdout)?.[1])).toBeGreaterThan(0);
      // The host: the peak is exact (an owned parent's pids.peak on this cgroupfs host) and
      // never above the limit; the live reading saw the limit and the rejections.
      // Podman's conmon shares the owned parent: the container's own cgroup's pids.peak is read instead.
      expect(r.pids.method).toBe(podman ? 'sampled' : 'owned-parent');
      expect(r.pids.peak).toBe(32);
      expect(live).toMatchObject({ max: 32 });
      expect(live!.eventsMax).toBeGreaterThan(0);
      expect(r.pids).toMatchObject({ max: 32 });
      expect(r.pids.samples).toBeGreaterThanOrEqual(2);
    } finally {
      await rm(sync, { recursive: true, force: true });
    }
  });

  it('with no pids limit asked for, the container has none (pids.max "max"), also on Podman, whose default is 2048', async () => {
    const r = await rt.run({
      image: images.app,
      // cgroup v2 inside the container: /sys/fs/cgroup/pids.max; v1: the pids hierarchy's.
      cmd: ['sh', '-c', 'cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max'],
      timeoutMs: 30_000,
    });
    expect([r.exitCode, r.stdout.trim()], r.stderr).toEqual([0, 'max']);
  });

  it('reads the exact peak of a container that fails and exits within milliseconds, and says what it could not read', async (ctx) => {
    // Only the owned parent outlives such a container, and under Podman its peak includes conmon
    // and the runc processes conmon starts (host-cgroup.ts), so there is no exact figure to check.
    if (podman) ctx.skip('Podman: conmon shares the owned parent cgroup; a container gone before a first reading has no exact peak');
    // PID 1 itself exits on the first failed fork: the race that used to make the peak flaky.
    const r = await runContainer(d, {
      image: images.app,
      cmd: ['sh', '-c', 'i=0; while [ $i -lt 100 ]; do sleep 300 & i=$((i+1)); done'],
      pidsLimit: 16,
      timeoutMs: 60_000,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/can't fork/);
    expect(r.pids.method).toBe('owned-parent');
    expect(r.pids.peak).toBe(16);
    if (r.pids.samples === 0) expect(r.pids.note).toMatch(/removed before a first reading/);
    else expect(r.pids.max).toBe(16);
  });

  it('leaves no owned parent cgroup behind', async () => {
    await runContainer(d, { image: images.app, cmd: ['true'], timeoutMs: 30_000 });
    expect(ownedCgroupsOf(RUN_ID)).toEqual([]);
  });

  it("with Init: true, PID 1 is the engine's init (docker-init; podman-init on Podman)", async () => {
    const r = await runContainer(d, { image: images.app, cmd: ['cat', '/proc/1/comm'], init: true, timeoutMs: 30_000 });
    expect(r.stdout.trim()).toBe((await engineInfo(await docker())).engineInitComm);
  });

  it('without an init, adopted orphans stay zombies under a Node PID 1 (the control)', async () => {
    const script = `const {spawn}=require('child_process');spawn('sh',['-c',${JSON.stringify(BURST_EXITED)}],{stdio:'inherit'}).on('exit',()=>process.exit(0));`;
    const r = await runContainer(d, { image: images.app, cmd: ['node', '-e', script], timeoutMs: 60_000 });
    const z = Number(/zombies=(\d+)/.exec(r.stdout)?.[1]);
    expect(z).toBe(40);
  });

  it.each([
    ['tini', ['tini', '--']],
    ['dumb-init', ['dumb-init']],
    ['catatonit', ['catatonit', '--']],
  ])('%s from the image runs as PID 1 and reaps a burst of orphans', async (name, prefix) => {
    const r = await runContainer(d, {
      image: images.app,
      cmd: [...prefix, 'sh', '-c', `cat /proc/1/comm; ${BURST_REAPED}`],
      timeoutMs: 60_000,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(name);
    expect(r.stdout).toMatch(/zombies=0\b/);
  });

  it('kills and removes a container that exceeds its timeout', async () => {
    const t0 = Date.now();
    const r = await runContainer(d, {
      image: images.app,
      cmd: ['sleep', '1000'],
      timeoutMs: 1_500,
      labels: { 'reapbench.test': 'timeout' },
    });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(137);
    expect(Date.now() - t0).toBeLessThan(30_000);
    await expect(d.getContainer(r.id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("leaves none of its listeners on the caller's abort signal, which a whole matrix shares", async () => {
    // One left per run passed Node's threshold of 10 mid-matrix (MaxListenersExceededWarning).
    const ac = new AbortController();
    for (let i = 0; i < 2; i++) {
      const r = await runContainer(d, {
        image: images.app,
        cmd: ['true'],
        timeoutMs: 60_000,
        signal: ac.signal,
        labels: { 'reapbench.test': 'listeners' },
      });
      expect(r.exitCode).toBe(0);
    }
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('reports a missing image as a one-line error and leaves no container', async () => {
    const before = await d.listContainers({ all: true, filters: { label: [RUN_LABEL] } });
    await expect(runContainer(d, { image: 'reapbench:does-not-exist', cmd: ['true'], timeoutMs: 5_000 })).rejects.toThrow(/image missing/);
    const after = await d.listContainers({ all: true, filters: { label: [RUN_LABEL] } });
    expect(after.length).toBe(before.length);
  });

  it('captures stdout and stderr separately and the exit status', async () => {
    const r = await runContainer(d, { image: images.app, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeoutMs: 30_000 });
    expect([r.stdout, r.stderr, r.exitCode]).toEqual(['out\n', 'err\n', 3]);
  });

  it('leaves nothing behind when the harness gets SIGINT mid-run', async () => {
    const child = execa(process.execPath, [path.join(root, 'test/support/sigint-fixture.mjs'), images.app], { reject: false, all: true });
    let id = '';
    await new Promise<void>((resolve, reject) => {
      const to = setTimeout(() => reject(new Error('fixture did not start a container')), 60_000);
      child.all!.on('data', (b: Buffer) => {
        const m = /started (\w+)/.exec(b.toString());
        if (m) {
          id = m[1]!;
          clearTimeout(to);
          resolve();
        }
      });
    });
    child.kill('SIGINT');
    const res = await child;
    expect(res.exitCode).toBe(130);
    await expect(d.getContainer(id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});
