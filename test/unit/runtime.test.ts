import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOptions, validateSpec, type ContainerSpec } from '../../src/runtime/container.js';
import { mapEngineError, socketPath } from '../../src/runtime/engine.js';
import { findPidsCgroup } from '../../src/runtime/host-cgroup.js';
import { hashContext, type ContextFile } from '../../src/images/build.js';
import { ReapbenchError, formatError } from '../../src/errors.js';
import { RUN_ID, RUN_LABEL } from '../../src/runtime/cleanup.js';

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
    expect(() => validateSpec({ ...base, pidsLimit: 32, cpusetCpus: '0-1', memoryBytes: 1 << 28, stopAfterMs: 0, stopGraceS: 10 })).not.toThrow();
  });
});

describe('create options', () => {
  it('maps the spec onto HostConfig with no network and the run label', () => {
    const o = createOptions({ ...base, init: true, pidsLimit: 64, cpusetCpus: '1', memoryBytes: 256, env: { A: 'b' }, mounts: [{ host: '/h', container: '/c', readOnly: true }] });
    expect(o.HostConfig).toMatchObject({ NetworkMode: 'none', Init: true, PidsLimit: 64, CpusetCpus: '1', Memory: 256, Binds: ['/h:/c:ro'] });
    expect(o.Env).toEqual(['A=b']);
    expect(o.Labels).toMatchObject({ [RUN_LABEL]: RUN_ID });
  });

  it('leaves PidsLimit unset when no limit is asked for', () => {
    expect(createOptions(base).HostConfig).not.toHaveProperty('PidsLimit');
  });
});

describe('engine error mapping', () => {
  it('says how to start an engine when the socket is missing', () => {
    const e = mapEngineError(Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' }), 'ping', '/var/run/docker.sock');
    expect(e.message).toMatch(/no Docker engine answers on \/var\/run\/docker.sock: start one .*scripts\/engine.sh/);
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

  it('reads DOCKER_HOST for unix sockets only', () => {
    expect(socketPath({ DOCKER_HOST: 'unix:///tmp/d.sock' })).toBe('/tmp/d.sock');
    expect(socketPath({ DOCKER_HOST: 'tcp://1.2.3.4:2375' })).toBe('/var/run/docker.sock');
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
