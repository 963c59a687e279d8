/** The pure parts of `reapbench run --image`: argv resolution, init detection, injection, ELF check, verdicts and the gate. */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import {
  elfInterpreter,
  existingInit,
  injectionFor,
  isStaticElf,
  parseArgv,
  resolveArgv,
  checkArchitecture,
  tsReaperFiles,
  type ImageInfo,
  type InjectionHost,
  type TsReaperFiles,
} from '../../src/run/image-target.js';
import { failOnLine, imageVerdicts } from '../../src/export/image-md.js';
import { parseExec, parseFailOn } from '../../src/run/image-bench.js';
import { skippedFacts } from '../../src/run/image-run.js';
import type { ImageFacts } from '../../src/model/image.js';

const info: ImageInfo = {
  ref: 'x',
  id: 'sha256:1',
  architecture: 'amd64',
  entrypoint: ['/entry.sh'],
  cmd: ['serve', '-v'],
  user: '',
  env: [],
};

const LOADER = '/lib64/ld-linux-x86-64.so.2';
/** dumb-init's stand-in: a file that exists (only its existence is checked). */
const DUMB = fileURLToPath(import.meta.url);
const LIBC = '/lib/x86_64-linux-gnu/libc.so.6';
const CXX = '/lib/x86_64-linux-gnu/libstdc++.so.6';
const KOFFI_NODE = '/m/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node';
const ts: TsReaperFiles = {
  node: '/opt/node/bin/node',
  nodeVersion: 'v20.19.0',
  dist: '/src/reapbench/dist',
  koffi: '/m/node_modules/koffi',
  addonName: '@koromix/koffi-linux-x64',
  addon: '/m/node_modules/@koromix/koffi-linux-x64',
  addonFiles: ['package.json', 'index.js', 'linux_x64/koffi.node'],
  natives: [KOFFI_NODE],
};
/** A host where tini is static (process.execPath), dumb-init dynamic, and ts-reaper's runtime as above. */
const fakeHost = (over: Partial<InjectionHost> = {}): InjectionHost => ({
  inits: {
    tini: { path: process.execPath, pkg: 'tini', args: ['--'] },
    'dumb-init': { path: DUMB, pkg: 'dumb-init', args: [] },
  },
  interpreter: (file) => (file === process.execPath ? null : LOADER),
  libraries: new Map<string, readonly string[] | string>([
    [DUMB, [LIBC, LOADER]],
    [ts.node, [CXX, LIBC, LOADER]],
    [KOFFI_NODE, [CXX, LIBC, LOADER]],
  ]),
  tsReaper: ts,
  ...over,
});
const ro = (host: string, container: string): { host: string; container: string; readOnly: true } => ({ host, container, readOnly: true });

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
      'image x is built for arm64; this host runs amd64: build the image for linux/amd64 (docker build --platform linux/amd64) and pass that one',
    );
  });
  it('injects a static binary read-only at /.reapbench/<init>', () => {
    expect(injectionFor('tini', ['app'], fakeHost())).toEqual({
      init: 'tini',
      engineInit: false,
      mounts: [ro(process.execPath, '/.reapbench/tini')],
      argv: ['/.reapbench/tini', '--', 'app'],
      source: `the host's static ${process.execPath} (Debian tini), mounted read-only at /.reapbench/tini`,
    });
    expect(injectionFor('docker-init', ['app'], fakeHost())).toMatchObject({ engineInit: true, argv: ['app'], mounts: [] });
  });
  it('runs a dynamic binary through the host loader, with its libraries, and says why the comm is the loader', () => {
    expect(injectionFor('dumb-init', ['app', '-v'], fakeHost())).toEqual({
      init: 'dumb-init',
      engineInit: false,
      mounts: [
        ro(LOADER, '/.reapbench/lib/ld-linux-x86-64.so.2'),
        ro(LIBC, '/.reapbench/lib/libc.so.6'),
        ro(DUMB, '/.reapbench/dumb-init'),
      ],
      argv: ['/.reapbench/lib/ld-linux-x86-64.so.2', '--library-path', '/.reapbench/lib', '/.reapbench/dumb-init', 'app', '-v'],
      source: `the host's ${DUMB} (Debian dumb-init), dynamically linked: run by the host's loader ${LOADER} with its 1 library, all mounted read-only under /.reapbench (PID 1's comm reads ld-linux-x86-64 because it runs through its loader)`,
    });
  });
  it('runs ts-reaper with the host node, koffi and its glibc addon laid out as require() finds them', () => {
    expect(injectionFor('ts-reaper', ['app'], fakeHost())).toEqual({
      init: 'ts-reaper',
      engineInit: false,
      mounts: [
        // node's and the addon's libraries once each
        ro(LOADER, '/.reapbench/lib/ld-linux-x86-64.so.2'),
        ro(CXX, '/.reapbench/lib/libstdc++.so.6'),
        ro(LIBC, '/.reapbench/lib/libc.so.6'),
        ro('/opt/node/bin/node', '/.reapbench/node'),
        ro('/src/reapbench/dist/ts-reaper.cjs', '/.reapbench/app/dist/ts-reaper.cjs'),
        ro('/src/reapbench/dist/ts-reaper-wait-worker.cjs', '/.reapbench/app/dist/ts-reaper-wait-worker.cjs'),
        ro('/m/node_modules/koffi', '/.reapbench/app/node_modules/koffi'),
        ro(`${ts.addon}/package.json`, '/.reapbench/app/node_modules/@koromix/koffi-linux-x64/package.json'),
        ro(`${ts.addon}/index.js`, '/.reapbench/app/node_modules/@koromix/koffi-linux-x64/index.js'),
        ro(KOFFI_NODE, '/.reapbench/app/node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node'),
      ],
      argv: [
        '/.reapbench/lib/ld-linux-x86-64.so.2',
        '--library-path',
        '/.reapbench/lib',
        '/.reapbench/node',
        '--v8-pool-size=1',
        '/.reapbench/app/dist/ts-reaper.cjs',
        '--',
        'app',
      ],
      source: `this checkout's /src/reapbench/dist/ts-reaper.cjs run by the host's node v20.19.0 (/opt/node/bin/node) through its loader ${LOADER}, with koffi and 2 libraries, all mounted read-only under /.reapbench`,
    });
  });
  it('skips with the reason of this host or of this image, never silently', () => {
    const host = fakeHost();
    const why = (init: 'dumb-init' | 'ts-reaper' | 'tini', h: InjectionHost, image = { user: '', env: [] as string[] }): string =>
      (injectionFor(init, ['app'], h, image) as { skipped: string }).skipped;
    expect(why('ts-reaper', fakeHost({ tsReaper: '/r/dist/ts-reaper.cjs not built (npm run build)' }))).toBe(
      'not injectable into this image: /r/dist/ts-reaper.cjs not built (npm run build)',
    );
    expect(why('dumb-init', fakeHost({ libraries: new Map() }))).toMatch(
      /^not injectable into this image: the libraries of .* are unknown$/,
    );
    expect(why('tini', fakeHost({ inits: { tini: { path: '/nonexistent/tini-static', pkg: 'tini', args: [] } } }))).toBe(
      'not injectable into this image: /nonexistent/tini-static not found (Debian package tini)',
    );
    expect(why('dumb-init', host, { user: '', env: ['LD_PRELOAD=/usr/lib/libjemalloc.so.2'] })).toBe(
      "not injectable into this image: its environment sets LD_PRELOAD=/usr/lib/libjemalloc.so.2, which the host's loader would load into dumb-init",
    );
    // A static binary has no loader: LD_PRELOAD does not concern it.
    expect(injectionFor('tini', ['app'], host, { user: '', env: ['LD_PRELOAD=/x.so'] })).not.toHaveProperty('skipped');
    expect(why('ts-reaper', host, { user: '', env: ['NODE_OPTIONS=--require /app/otel.js'] })).toBe(
      "not injectable into this image: its environment sets NODE_OPTIONS=--require /app/otel.js, which the host's node would obey",
    );
    // A user other than root needs the "other" bits; root does not.
    const closed = fakeHost({ usableByOthers: (file, exec) => !(exec && file === LOADER) });
    expect(why('ts-reaper', closed, { user: '1000:1000', env: [] })).toBe(
      `not injectable into this image: its user 1000:1000 could not execute ${LOADER} (not allowed to others)`,
    );
    expect(injectionFor('ts-reaper', ['app'], closed, { user: 'root', env: [] })).not.toHaveProperty('skipped');
    expect(injectionFor('ts-reaper', ['app'], closed, { user: '0:0', env: [] })).not.toHaveProperty('skipped');
  });
  it('finds no ts-reaper runtime in a folder without the build', () => {
    expect(tsReaperFiles('/nonexistent')).toBe('/nonexistent/dist/ts-reaper.cjs not built (npm run build)');
  });
  it('reads PT_INTERP: node is dynamic, a non-ELF file is null', () => {
    expect(isStaticElf(process.execPath)).toBe(false);
    expect(isStaticElf('/etc/hostname')).toBeNull();
    expect(elfInterpreter(process.execPath)).toMatch(/^\/.*ld-linux[^/]*\.so\.\d$|^\/.*ld-musl/);
    expect(elfInterpreter('/etc/hostname')).toBeUndefined();
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
