/** The pure parts of `reapbench run --image`: argv resolution, init detection, injection, ELF check, verdicts and the gate. */
import { describe, expect, it } from 'vitest';
import {
  existingInit,
  injectionFor,
  isStaticElf,
  parseArgv,
  resolveArgv,
  checkArchitecture,
  type ImageInfo,
} from '../../src/run/image-target.js';
import { failOnLine, imageVerdicts } from '../../src/export/image-md.js';
import { parseExec, parseFailOn } from '../../src/run/image-bench.js';
import { skippedFacts } from '../../src/run/image-run.js';
import type { ImageFacts } from '../../src/model/image.js';

const info: ImageInfo = { ref: 'x', id: 'sha256:1', architecture: 'amd64', entrypoint: ['/entry.sh'], cmd: ['serve', '-v'] };

describe('image target', () => {
  it('composes argv as docker run does', () => {
    expect(resolveArgv(info, {})).toEqual(['/entry.sh', 'serve', '-v']);
    expect(resolveArgv(info, { cmd: ['x'] })).toEqual(['/entry.sh', 'x']);
    expect(resolveArgv(info, { entrypoint: ['/bin/sh'] })).toEqual(['/bin/sh']);
    expect(() => resolveArgv({ ...info, entrypoint: [], cmd: [] }, {})).toThrow(/neither an entrypoint nor a cmd/);
  });
  it('parses JSON and plain argv, rejects the rest', () => {
    expect(parseArgv('cmd', '["a b","c"]')).toEqual(['a b', 'c']);
    expect(parseArgv('cmd', 'sleep  10')).toEqual(['sleep', '10']);
    expect(() => parseArgv('cmd', '[1]')).toThrow(/--cmd/);
    expect(() => parseArgv('cmd', '[')).toThrow(/JSON array/);
  });
  it('detects an init already in the entrypoint', () => {
    expect(existingInit(['/sbin/tini', '--', 'app'])).toBe('tini');
    expect(existingInit(['/usr/bin/dumb-init', 'app'])).toBe('dumb-init');
    expect(existingInit(['python3'])).toBeNull();
  });
  it('rejects another architecture in one line', () => {
    expect(() => checkArchitecture({ ...info, architecture: 'arm64' }, 'amd64')).toThrow(
      'image x is built for arm64; this host runs amd64',
    );
  });
  it('injects static binaries read-only and skips the rest with a reason', () => {
    const bins = {
      tini: { path: process.execPath, pkg: 'tini', args: ['--'] },
      'dumb-init': { path: process.execPath, pkg: 'dumb-init', args: [] },
    };
    const tini = injectionFor('tini', ['app'], bins, () => true);
    expect(tini).toMatchObject({ argv: ['/.reapbench/tini', '--', 'app'], mounts: [{ container: '/.reapbench/tini', readOnly: true }] });
    expect(injectionFor('dumb-init', ['app'], bins, () => false)).toEqual({
      init: 'dumb-init',
      skipped: `not injectable into this image: ${process.execPath} is dynamically linked`,
    });
    expect(injectionFor('ts-reaper', ['app'])).toMatchObject({ skipped: 'not injectable into this image: needs a Node runtime' });
    expect(injectionFor('docker-init', ['app'])).toMatchObject({ engineInit: true, argv: ['app'], mounts: [] });
  });
  it('reads PT_INTERP: node is dynamic, a non-ELF file is null', () => {
    expect(isStaticElf(process.execPath)).toBe(false);
    expect(isStaticElf('/etc/hostname')).toBeNull();
  });
});

const ran = (over: Partial<ImageFacts>): ImageFacts => ({
  ...skippedFacts({ init: 'none', pids_limit: 64, repetition: 0 }, ''),
  status: 'ran',
  reason: null,
  ...over,
});

describe('image verdicts', () => {
  it('words each init as the scenario table does and gates on --fail-on', () => {
    const v = imageVerdicts(
      [
        ran({ init: 'none', zombies_at_stop: 3, zombies_at_stop_proc: 3, held_by: 'python3', exit_code: 137, stop_latency_ms: 10_150 }),
        ran({ init: 'tini', zombies_at_stop: 0, exit_code: 143, stop_latency_ms: 120 }),
        ran({
          init: 'catatonit',
          zombies_at_stop: 0,
          fork_failure_s: 1.234,
          fork_failure_comm: 'sh',
          exit_code: 143,
          stop_latency_ms: 100,
        }),
        skippedFacts(
          { init: 'dumb-init', pids_limit: 64, repetition: 0 },
          'not injectable into this image: /usr/bin/dumb-init is dynamically linked',
        ),
      ],
      'already has tini',
    );
    expect(v.map((x) => [x.init, x.verdict])).toEqual([
      ['none', 'leaks 3 zombies (held by python3); stop took 10.2 s (SIGKILL, 137)'],
      ['tini', 'ok'],
      ['dumb-init', 'skipped: not injectable into this image: /usr/bin/dumb-init is dynamically linked'],
      ['catatonit', 'fork failed at 1.23 s (EAGAIN, sh)'],
    ]);
    expect(v[0]!.note).toBe('already has tini');
    expect(failOnLine(v, ['leak'])).toBe('--fail-on leak: none: leaks 3 zombies (held by python3); stop took 10.2 s (SIGKILL, 137)');
    expect(
      failOnLine(
        v.filter((x) => x.init === 'tini'),
        ['leak', 'slow-stop'],
      ),
    ).toBeNull();
  });
  it('validates --fail-on and --exec-every', () => {
    expect(parseFailOn('leak,slow-stop')).toEqual(['leak', 'slow-stop']);
    expect(() => parseFailOn('leaks')).toThrow(/--fail-on/);
    expect(parseExec({ execEvery: '2s', execTimeout: '0.5' }, ['sh', '-c', 'x'])).toEqual({
      argv: ['sh', '-c', 'x'],
      everyS: 2,
      timeoutS: 0.5,
    });
    expect(() => parseExec({}, ['sh'])).toThrow(/--exec-every/);
    expect(() => parseExec({ execEvery: '1' }, [])).toThrow(/after `--`/);
  });
});
