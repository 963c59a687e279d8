import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOptions, validateSpec, type ContainerSpec } from '../../src/runtime/container.js';
import { engineEndpoint, engineEndpoints, mapEngineError, useEngine } from '../../src/runtime/engine.js';
import { runtimeWhy } from '../../src/runtime/connect.js';
import {
  canOwnParent,
  findPidsCgroup,
  OwnedParent,
  ownedParentName,
  parentRunId,
  PidsSampler,
  sweepOwnedParents,
} from '../../src/runtime/host-cgroup.js';
import { hashContext, type ContextFile } from '../../src/images/build.js';
import { ReapbenchError, formatError } from '../../src/errors.js';
import { removeContainer, RUN_ID, RUN_LABEL } from '../../src/runtime/cleanup.js';
import type Docker from 'dockerode';
import { launchArgv, mountTarget, PID1_GATE } from '../../src/runtime/ns-launch.js';
import { parseOwnerDir } from '../../src/runtime/ns-cgroup.js';
import { NamespaceRuntime, pid1Status } from '../../src/runtime/namespace.js';

const base: ContainerSpec = { image: 'x', cmd: ['true'], timeoutMs: 1000 };

describe('container spec validation', () => {
  it.each([
    [{ pidsLimit: 0 }, /`pidsLimit` to be a positive integer, got `0`/],
    [{ pidsLimit: -5 }, /`pidsLimit` to be a positive integer, got `-5`/],
    [{ pidsLimit: 1.5 }, /positive integer/],
    [{ timeoutMs: 0 }, /`timeoutMs` to be a positive number, got `0`/],
    [{ timeoutMs: Number.NaN }, /`timeoutMs`/],
    [{ cmd: [] }, /non-empty argv/],
    [{ cpusetCpus: 'one' }, /`cpusetCpus`/],
    [{ stopGraceS: -1 }, /`stopGraceS`/],
    [{ mounts: [{ host: 'rel', container: '/r' }] }, /absolute/],
  ])('rejects %j with a one-line message and exit code 2', (patch, msg) => {
    let err: unknown;
    try {
      validateSpec({ ...base, ...patch } as ContainerSpec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReapbenchError);
    expect((err as ReapbenchError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain('\n');
  });

  it('accepts a complete spec', () => {
    expect(() =>
      validateSpec({ ...base, pidsLimit: 32, cpusetCpus: '0-1', memoryBytes: 1 << 28, stopAfterMs: 0, stopGraceS: 10 }),
    ).not.toThrow();
  });
});

describe('create options', () => {
  it('maps the spec onto HostConfig with no network and the run label', () => {
    const o = createOptions({
      ...base,
      init: true,
      pidsLimit: 64,
      cpusetCpus: '1',
      memoryBytes: 256,
      env: { A: 'b' },
      mounts: [{ host: '/h', container: '/c', readOnly: true }],
    });
    expect(o.HostConfig).toMatchObject({
      NetworkMode: 'none',
      Init: true,
      PidsLimit: 64,
      CpusetCpus: '1',
      Memory: 256,
      Binds: ['/h:/c:ro'],
    });
    expect(o.Env).toEqual(['A=b']);
    expect(o.Labels).toMatchObject({ [RUN_LABEL]: RUN_ID });
  });

  it('asks for no pids limit explicitly (-1) when none is given, as Podman would otherwise apply its default', () => {
    expect(createOptions(base).HostConfig?.PidsLimit).toBe(-1);
  });
});

describe('engine error mapping', () => {
  it('says how to start an engine when the socket is missing', () => {
    const e = mapEngineError(Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }), 'ping', engineEndpoint({}));
    expect(e.message).toMatch(/no Docker engine answers at \/var\/run\/docker.sock: start one .*scripts\/engine.sh/);
  });

  it('says what to do on permission denied', () => {
    expect(mapEngineError(Object.assign(new Error('x'), { code: 'EACCES' }), 'ping').message).toMatch(/permission denied.*docker group/);
  });

  it('names a missing image and how to build it', () => {
    const e = mapEngineError({ statusCode: 404, json: { message: 'No such image: reapbench:abc' } }, 'create container');
    expect(e.message).toMatch(/create container: image missing \(No such image: reapbench:abc\); run npm run bench/);
  });

  it('keeps the engine message for other API errors, on one line', () => {
    const e = mapEngineError({ statusCode: 500, json: { message: 'boom\nsecond line' } }, 'start');
    expect(e.message).toBe('start: Docker engine error 500: boom');
  });

  it('reads DOCKER_HOST (unix:// and tcp://) and refuses anything else with a usage error', () => {
    expect(engineEndpoint({})).toEqual({ socketPath: '/var/run/docker.sock', label: '/var/run/docker.sock', fromEnv: false });
    expect(engineEndpoint({ DOCKER_HOST: 'unix:///tmp/d.sock' })).toMatchObject({ socketPath: '/tmp/d.sock', fromEnv: true });
    expect(engineEndpoint({ DOCKER_HOST: 'tcp://1.2.3.4:2376' })).toMatchObject({ host: '1.2.3.4', port: 2376 });
    expect(engineEndpoint({ DOCKER_HOST: 'tcp://[::1]' })).toMatchObject({ host: '::1', port: 2375 });
    for (const bad of ['garbage://x', 'unix://', 'tcp://', 'ssh://me@host']) {
      expect(() => engineEndpoint({ DOCKER_HOST: bad })).toThrow(/DOCKER_HOST=.* is not an address reapbench can use/);
    }
  });

  it('--engine: docker and podman each their variable or default socket; auto the variables first, else both sockets', () => {
    const sockets = (env: NodeJS.ProcessEnv, c: Parameters<typeof engineEndpoints>[1]): string[] =>
      engineEndpoints(env, c).map((e) => ('socketPath' in e ? e.socketPath : `${e.host}:${e.port}`));
    expect(sockets({}, 'docker')).toEqual(['/var/run/docker.sock']);
    expect(sockets({}, 'podman')).toEqual(['/run/podman/podman.sock']);
    expect(sockets({}, 'auto')).toEqual(['/var/run/docker.sock', '/run/podman/podman.sock']);
    expect(sockets({ CONTAINER_HOST: 'unix:///tmp/p.sock' }, 'auto')).toEqual(['/tmp/p.sock']);
    expect(sockets({ CONTAINER_HOST: 'unix:///tmp/p.sock', DOCKER_HOST: 'tcp://h:1' }, 'auto')).toEqual(['h:1']);
    expect(sockets({ CONTAINER_HOST: 'unix:///tmp/p.sock', DOCKER_HOST: 'tcp://h:1' }, 'podman')).toEqual(['/tmp/p.sock']);
    expect(() => engineEndpoints({ CONTAINER_HOST: 'ssh://x' }, 'podman')).toThrow(/^CONTAINER_HOST=ssh:\/\/x is not an address/);
    expect(() => useEngine('kubernetes')).toThrow('Expected `--engine` to be one of auto, docker, podman, namespace, got `kubernetes`');
  });

  it('names the address it tried and, for DOCKER_HOST, says to check it', () => {
    const tcp = engineEndpoint({ DOCKER_HOST: 'tcp://127.0.0.1:1' });
    expect(mapEngineError({ code: 'ECONNREFUSED' }, 'ping', tcp).message).toBe(
      'no Docker engine answers at tcp://127.0.0.1:1 (from DOCKER_HOST): check DOCKER_HOST, or unset it to use /var/run/docker.sock',
    );
    expect(mapEngineError({ code: 'ENOENT' }, 'ping', engineEndpoint({})).message).toMatch(
      /^no Docker engine answers at \/var\/run\/docker.sock: start one/,
    );
    // Podman's: its variable, its socket, its script.
    const [viaEnv] = engineEndpoints({ CONTAINER_HOST: 'unix:///nope.sock' }, 'podman');
    expect(mapEngineError({ code: 'ENOENT' }, 'ping', viaEnv).message).toBe(
      'no Podman service answers at unix:///nope.sock (from CONTAINER_HOST): check CONTAINER_HOST, or unset it to use /run/podman/podman.sock',
    );
    const [socket] = engineEndpoints({}, 'podman');
    expect(mapEngineError({ code: 'ECONNREFUSED' }, 'ping', socket).message).toMatch(
      /^no Podman service answers at \/run\/podman\/podman.sock: start one \(as root: bash scripts\/podman.sh;/,
    );
  });
});

describe('the runtime line', () => {
  it('says where an address came from and why its engine was chosen in one parenthesis', () => {
    const [fromEnv] = engineEndpoints({ DOCKER_HOST: 'unix:///var/run/docker.sock' }, 'auto');
    expect(runtimeWhy('docker', fromEnv!.label, '--engine auto: the first engine that answered')).toBe(
      'docker at unix:///var/run/docker.sock (from DOCKER_HOST; --engine auto: the first engine that answered)',
    );
    const [socket] = engineEndpoints({}, 'podman');
    expect(runtimeWhy('podman', socket!.label, '--engine podman')).toBe('podman at /run/podman/podman.sock (--engine podman)');
  });
});

describe('error formatting', () => {
  it('prints one line without --verbose and the causes with it', () => {
    const e = new ReapbenchError('it broke: do X', { cause: new Error('root cause') });
    expect(formatError(e, false)).toBe('reapbench: it broke: do X');
    const v = formatError(e, true);
    expect(v).toContain('root cause');
    expect(v.split('\n').length).toBeGreaterThan(2);
  });
});

describe('image input hashing', () => {
  it('is stable for the same inputs and changes when a file, mode or base changes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'reapbench-hash-'));
    try {
      const f = path.join(dir, 'a.mjs');
      await writeFile(f, 'one');
      const files: ContextFile[] = [{ contextPath: 'app/dist/a.mjs', hostPath: f, mode: 0o755 }];
      const h1 = await hashContext('base:1', files);
      expect(h1).toMatch(/^[0-9a-f]{12}$/);
      expect(await hashContext('base:1', files)).toBe(h1);
      expect(await hashContext('base:2', files)).not.toBe(h1);
      expect(await hashContext('base:1', [{ ...files[0]!, mode: 0o644 }])).not.toBe(h1);
      await writeFile(f, 'two');
      expect(await hashContext('base:1', files)).not.toBe(h1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('host cgroup lookup', () => {
  it('returns null for a container that does not exist', () => {
    expect(findPidsCgroup('0'.repeat(64))).toBeNull();
  });
});

describe('host pids figures on a cgroup tree laid out as the engine does (plain files)', () => {
  const ID = 'c'.repeat(64);
  const write = async (dir: string, files: Record<string, string>): Promise<void> => {
    await mkdir(dir, { recursive: true });
    for (const [f, v] of Object.entries(files)) await writeFile(path.join(dir, f), v);
  };
  const tree = async (): Promise<string> => mkdtemp(path.join(tmpdir(), 'reapbench-cg-'));

  it('owned parent: the peak is the parent pids.peak even when the container was never read', async () => {
    const root = await tree();
    try {
      await mkdir(path.join(root, 'pids'));
      const parent = new OwnedParent('feed', { version: 1, driver: 'cgroupfs', root });
      expect(parent.cgroupParent).toMatch(/^\/reapbench-feed-\d+$/);
      await write(parent.dir, { 'pids.peak': '32\n', 'pids.events': 'max 0\n' });
      const s = new PidsSampler(ID, 50, parent, root);
      const f = await s.finish();
      expect(f).toMatchObject({ peak: 32, max: null, samples: 0, method: 'owned-parent' });
      expect(f.note).toMatch(/removed before a first reading/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('owned parent with readings: max and rejections from the container, rejections flagged as a lower bound on v1', async () => {
    const root = await tree();
    try {
      await mkdir(path.join(root, 'pids'));
      const parent = new OwnedParent('feed', { version: 1, driver: 'cgroupfs', root });
      await write(parent.dir, { 'pids.peak': '32\n', 'pids.events': 'max 0\n' });
      const own = path.join(parent.dir, ID);
      await write(own, { 'pids.current': '31\n', 'pids.max': '32\n', 'pids.peak': '32\n', 'pids.events': 'max 4\n' });
      const s = new PidsSampler(ID, 50, parent, root);
      await s.sample();
      expect(s.snapshot()).toMatchObject({ samples: 1, max: 32, last: 31, eventsMax: 4, path: own });
      await rm(own, { recursive: true });
      const f = await s.finish();
      expect(f).toMatchObject({ peak: 32, max: 32, eventsMax: 4, samples: 1, method: 'owned-parent' });
      expect(f.note).toMatch(/fork rejections .* lower bound/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('owned parent on v2: rejections counted in the parent are exact', async () => {
    const root = await tree();
    try {
      const parent = new OwnedParent('feed', { version: 2, driver: 'cgroupfs', root });
      expect(parent.dir).toBe(path.join(root, parent.name));
      await write(parent.dir, { 'pids.peak': '8\n', 'pids.events': 'max 3\n' });
      await write(path.join(parent.dir, ID), { 'pids.current': '8\n', 'pids.max': 'max\n', 'pids.events': 'max 1\n' });
      const f = await new PidsSampler(ID, 50, parent, root).finish();
      expect(f).toMatchObject({ peak: 8, max: 'max', eventsMax: 3, method: 'owned-parent', note: null });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("sampled (engine's default parent): figures are lower bounds and say so; no cgroup: unavailable", async () => {
    const root = await tree();
    try {
      await write(path.join(root, 'pids/docker', ID), { 'pids.current': '5\n', 'pids.max': '64\n', 'pids.events': 'max 0\n' });
      const f = await new PidsSampler(ID, 50, null, root).finish();
      expect(f).toMatchObject({ peak: 5, max: 64, samples: 1, method: 'sampled' });
      expect(f.note).toMatch(/lower bounds/);
      const none = await new PidsSampler('d'.repeat(64), 50, null, root).finish();
      expect(none).toMatchObject({ peak: null, max: null, samples: 0, method: 'unavailable' });
      expect(none.note).toMatch(/no pids cgroup/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('removes an owned parent from every hierarchy, and sweeps leftovers of other runs only', async () => {
    const root = await tree();
    try {
      const layout = { version: 1 as const, driver: 'cgroupfs', root };
      const mine = new OwnedParent('aaaa', layout);
      for (const c of ['pids', 'cpu', 'memory']) await mkdir(path.join(root, c, mine.name, ID), { recursive: true });
      expect(await mine.remove(1_000)).toBeNull();
      expect(await readdir(path.join(root, 'cpu'))).toEqual([]);
      await mkdir(path.join(root, 'pids', 'reapbench-dead-1'), { recursive: true });
      await mkdir(path.join(root, 'cpu', 'reapbench-dead-1'), { recursive: true });
      await mkdir(path.join(root, 'pids', 'reapbench-live-1'), { recursive: true });
      await mkdir(path.join(root, 'pids', 'docker'), { recursive: true });
      expect(await sweepOwnedParents(root, { keepRunId: 'live', minAgeMs: 0 })).toBe(1);
      expect((await readdir(path.join(root, 'pids'))).sort()).toEqual(['docker', 'reapbench-live-1']);
      expect(await readdir(path.join(root, 'cpu'))).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('owns a parent only under the cgroupfs driver with a pids hierarchy', async () => {
    const root = await tree();
    try {
      expect(canOwnParent({ version: 1, driver: 'cgroupfs', root })).toBe(false);
      await mkdir(path.join(root, 'pids'));
      expect(canOwnParent({ version: 1, driver: 'cgroupfs', root })).toBe(true);
      expect(canOwnParent({ version: 1, driver: 'systemd', root })).toBe(false);
      expect(canOwnParent({ version: 2, driver: 'cgroupfs', root })).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('passes the owned parent to the engine as CgroupParent', () => {
    expect(createOptions({ image: 'x', cmd: ['true'], timeoutMs: 1 }, '/reapbench-x-1').HostConfig?.CgroupParent).toBe('/reapbench-x-1');
    expect(createOptions({ image: 'x', cmd: ['true'], timeoutMs: 1 }).HostConfig).not.toHaveProperty('CgroupParent');
  });

  it('reads the run id back from every owned parent name it makes, and from nothing else', () => {
    // The round trip that clean's sweep (cleanup.ts) and a parent's removal message rely on.
    for (const runId of [RUN_ID, '0123456789ab', 'feed'])
      for (const seq of [1, 2, 10, 4096]) {
        expect(parentRunId(ownedParentName(runId, seq))).toBe(runId);
        expect(parentRunId(new OwnedParent(runId, { version: 2, driver: 'cgroupfs', root: '/nonexistent' }).name)).toBe(runId);
      }
    // Another program's cgroups, and names of a shape the parents never have.
    for (const other of [
      'docker',
      'system.slice',
      'reapbench.ns',
      'reapbench-ns.abc',
      'reapbench-',
      'reapbench-abc',
      'reapbench-abc-',
      'reapbench-abc-x',
      'reapbench--1',
    ])
      expect(parentRunId(other)).toBeNull();
  });
});

describe('removeContainer', () => {
  const httpError = (statusCode: number, message: string): Error => Object.assign(new Error(message), { statusCode });
  /** A container double whose removal answers `removeWith`, and whose inspect answers from `inspects` in turn. */
  const fake = (removeWith: Error | null, inspects: Array<Error | null>) => {
    let n = 0;
    return {
      id: 'f'.repeat(64),
      remove: async () => {
        if (removeWith) throw removeWith;
      },
      inspect: async () => {
        n += 1;
        const r = inspects[Math.min(n, inspects.length) - 1];
        if (r) throw r;
        return {};
      },
      inspections: () => n,
    };
  };

  it('returns once the container is gone, also when another removal was under way (409)', async () => {
    expect(await removeContainer(fake(null, []) as unknown as Docker.Container)).toBeNull();
    expect(await removeContainer(fake(httpError(404, 'no such container'), []) as unknown as Docker.Container)).toBeNull();
    const busy = fake(httpError(409, 'removal in progress'), [null, null, httpError(404, 'gone')]);
    expect(await removeContainer(busy as unknown as Docker.Container)).toBeNull();
    expect(busy.inspections()).toBe(3);
    const podman = fake(httpError(500, 'cannot remove container f as it could not be stopped: container state improper: stopped'), [
      null,
      httpError(404, 'gone'),
    ]);
    expect(await removeContainer(podman as unknown as Docker.Container)).toBeNull();
    expect(podman.inspections()).toBe(2);
  });

  it('says in one line why a container could not be removed, or is still being removed at the deadline', async () => {
    expect(await removeContainer(fake(httpError(500, 'engine broke'), []) as unknown as Docker.Container)).toBe(
      'container ffffffffffff: engine broke',
    );
    const stuck = fake(httpError(409, 'removal in progress'), [null]);
    expect(await removeContainer(stuck as unknown as Docker.Container, 100)).toBe(
      'container ffffffffffff: still being removed after 0.1 s',
    );
  });
});

describe('namespace runtime: facts', () => {
  it('has no Engine API version, and names the util-linux version of its unshare as its version', async () => {
    // The layout is only read, never created, by info().
    const info = await new NamespaceRuntime(null, { version: 2, pidsRoot: '/nonexistent' }).info();
    expect(info).toMatchObject({ name: 'namespace', apiVersion: null, cgroupVersion: 2 });
    expect(info.serverVersion).toMatch(/^\d+\.\d+/);
  });
});

describe('namespace runtime: launch plan', () => {
  const top = ['usr', 'bin', 'tmp', 'work', 'sys'];
  const exists = (p: string): boolean => p === '/work/x';

  it("creates a mount target in the run's tmpfs when its top level is not the host's, or is /tmp; binds onto an existing host path; refuses to create one in the host tree", () => {
    expect(mountTarget({ host: '/h', container: '/results' }, top, exists, true)).toEqual({ way: 'create-dir' });
    expect(mountTarget({ host: '/h', container: '/tmp/a/b' }, top, exists, false)).toEqual({ way: 'create-file' });
    expect(mountTarget({ host: '/h', container: '/work/x' }, top, exists, true)).toEqual({ way: 'existing' });
    expect(mountTarget({ host: '/h', container: '/work/y' }, top, exists, true)).toMatchObject({
      problem: expect.stringContaining('never creates directories in the host'),
    });
    expect(mountTarget({ host: '/h', container: '/proc/x' }, top, exists, true)).toHaveProperty('problem');
  });

  it('quotes every path and argument as one shell word, and makes PID 1 join the cgroup before the workload', () => {
    const argv = launchArgv({
      stage: "/tmp/st'age",
      procsFile: '/sys/fs/cgroup/pids/reapbench.ns/x/cgroup.procs',
      mounts: [{ host: '/h o', container: '/results', way: 'create-dir', readOnly: true }],
      files: [{ path: '/app/bin/f', content: "it's", mode: 0o755 }],
      workdir: '/app',
      cpus: '1',
      argv: ['tini', '--', 'sh', '-c', 'echo $$'],
    });
    expect(argv.slice(0, 5)).toEqual(['unshare', '--mount', '--propagation', 'private', '--']);
    const script = argv[7]!;
    expect(script).toContain(`r='/tmp/st'\\''age'`);
    expect(script).toContain(`mount --bind '/h o' "$r"'/results'`);
    expect(script).toContain(`mount -o remount,bind,ro "$r"'/results'`);
    expect(script).toContain(`printf '%s' 'it'\\''s' > "$r"'/app/bin/f'`);
    expect(script).toMatch(
      /exec taskset -c '1' 'unshare' --pid --fork --net --mount-proc --kill-child --root="\$r" --wd='\/app' -- \/bin\/sh -c /,
    );
    expect(argv.slice(9)).toEqual(['/sys/fs/cgroup/pids/reapbench.ns/x/cgroup.procs', 'tini', '--', 'sh', '-c', 'echo $$']);
    expect(PID1_GATE.indexOf('echo 0 > "$1"')).toBeLessThan(PID1_GATE.indexOf('exec "$@"'));
  });

  it('names owner cgroups by run id, pid and start time, and reads them back', () => {
    expect(parseOwnerDir('0123456789ab.42.777')).toEqual({ runId: '0123456789ab', pid: 42, started: '777' });
    expect(parseOwnerDir('reapbench-0123456789ab-1')).toBeNull();
  });

  it("reads PID 1's exit status past util-linux 2.38's failed re-raise of its killing signal", () => {
    const line = 'unshare: sigprocmask unblock failed: Invalid argument\n';
    expect(pid1Status({ code: 1, signal: null }, `out\n${line}`, true)).toEqual({ exitCode: 137, stderr: 'out\n' });
    expect(pid1Status({ code: 1, signal: null }, line, false)).toEqual({ exitCode: null, stderr: '' });
    expect(pid1Status({ code: 3, signal: null }, 'err\n', false)).toEqual({ exitCode: 3, stderr: 'err\n' });
  });
});
