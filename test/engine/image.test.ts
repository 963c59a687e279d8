/**
 * `reapbench run --image` end to end against the real engine and the kernel instrument, on two
 * images built offline from this host (test/support/image-fixtures.ts): the Python program that
 * double-forks as PID 1, and a busybox shell loop (no libc in that image: dumb-init and
 * ts-reaper run there on the host's loader and libraries). Skipped with its reason where the
 * kernel instrument cannot load.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { runContainer } from '../../src/runtime/container.js';
import { engineInfo } from '../../src/runtime/engine.js';
import { tracerAvailability } from '../../src/tracer/index.js';
import { docker } from '../support/engine.js';
import { waitFor } from '../support/wait.js';
import { busyboxImage, foreignArchImage, PY_ORPHANS, pythonImage } from '../support/image-fixtures.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
const tracer = tracerAvailability();

let python = '';
let busybox = '';
/** The engine is Podman (its messages differ where noted). */
let podman = false;
beforeAll(async () => {
  if (!tracer.available) return;
  const d = await docker();
  podman = (await engineInfo(d)).name === 'podman';
  python = await pythonImage(d);
  busybox = await busyboxImage(d);
}, 120_000);

interface Verdict {
  init: string;
  verdict: string;
  leaked: number | null;
  leaked_proc: number | null;
  exit_code: number | null;
}

/**
 * Run the CLI on an image in --ci mode, with a temporary folder of its own (TMPDIR); its JSON line
 * (when it printed one), exit code, stderr, image.csv rows, report.md, and what it left in that
 * temporary folder (names).
 */
async function run(args: string[]): Promise<{
  exitCode: number;
  stderr: string;
  json: { results: string; image: { id: string; unchanged: boolean }; verdicts: Verdict[] } | null;
  rows: Array<Record<string, string>>;
  report: string;
  /** env.json's run_id; null without a results folder. */
  runId: string | null;
  tmpLeft: string[];
}> {
  const out = await mkdtemp(path.join(tmpdir(), 'reapbench-image-'));
  const tmp = await mkdtemp(path.join(tmpdir(), 'reapbench-image-tmp-'));
  try {
    const r = await execa(process.execPath, [cli, 'run', '--repetitions', '1', '--limits', '64', '--out', out, '--ci', ...args], {
      reject: false,
      timeout: 240_000,
      env: { TMPDIR: tmp },
    });
    const last = r.stdout.trim().split('\n').pop() ?? '';
    const json = last.startsWith('{') ? (JSON.parse(last) as NonNullable<Awaited<ReturnType<typeof run>>['json']>) : null;
    const rows = json
      ? (parse(await readFile(path.join(json.results, 'image.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>)
      : [];
    const report = json ? await readFile(path.join(json.results, 'report.md'), 'utf8') : '';
    const runId = json ? (JSON.parse(await readFile(path.join(json.results, 'env.json'), 'utf8')) as { run_id: string }).run_id : null;
    return { exitCode: r.exitCode ?? -1, stderr: r.stderr, json, rows, report, runId, tmpLeft: await readdir(tmp) };
  } finally {
    await rm(out, { recursive: true, force: true });
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The comm the report's "who held the zombies" table gives for `init`'s PID 1 (null when it has no row). */
const pid1Comm = (report: string, init: string): string | null =>
  new RegExp(`^\\| \`${init}\` \\| \\d+ \\| \`([^\`]+)\` \\(PID 1\\)`, 'm').exec(report)?.[1] ?? null;

/** Containers of any image run still present (label reapbench.scenario=image is set only by image runs). */
async function imageContainersLeft(): Promise<number> {
  return (await (await docker()).listContainers({ all: true, filters: { label: ['reapbench.scenario=image'] } })).length;
}

const byInit = (vs: Verdict[]): Record<string, Verdict> => Object.fromEntries(vs.map((v) => [v.init, v]));

describe.skipIf(!tracer.available)(
  `reapbench run --image (engine, kernel instrument)${tracer.available ? '' : `: skipped, ${tracer.reason}`}`,
  () => {
    it('Python PID 1: none leaks exactly its orphans (kernel and /proc), every injected init none; --fail-on leak exits 1 naming none; the image is unchanged, nothing left', async () => {
      const idBefore = ((await (await docker()).getImage(python).inspect()) as { Id: string }).Id;
      const r = await run([
        '--image',
        python,
        '--inits',
        'none,tini,dumb-init,catatonit,ts-reaper',
        '--duration-s',
        '2',
        '--stop-grace-s',
        '2',
        '--fail-on',
        'leak',
      ]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/^reapbench: --fail-on leak: none: leaks 3 zombies \(held by python3\)[^\n|]*$/m);
      // The run id that `clean --run` takes, as every run prints it, and the one env.json records.
      const runId = /^reapbench: run ([0-9a-f]{12}): image /m.exec(r.stderr)?.[1];
      expect(runId, r.stderr).toBeDefined();
      expect(r.runId).toBe(runId);
      const v = byInit(r.json!.verdicts);
      expect(v.none).toMatchObject({ leaked: PY_ORPHANS, leaked_proc: PY_ORPHANS, exit_code: 137 });
      expect(v.tini).toMatchObject({ verdict: 'ok', leaked: 0, leaked_proc: 0, exit_code: 143 });
      expect(v.catatonit).toMatchObject({ verdict: 'ok', leaked: 0, leaked_proc: 0, exit_code: 143 });
      // The dynamic ones through the host's loader: dumb-init's comm is the loader's, ts-reaper names itself.
      expect(v['dumb-init']).toMatchObject({ verdict: 'ok', leaked: 0, leaked_proc: 0, exit_code: 143 });
      expect(v['ts-reaper']).toMatchObject({ verdict: 'ok', leaked: 0, leaked_proc: 0, exit_code: 143 });
      expect(r.rows.find((x) => x.init === 'dumb-init')!.pid1_source).toMatch(
        /^the host's \/usr\/bin\/dumb-init .*run by the host's loader .*PID 1's comm reads ld-linux-x86-64 because it runs through its loader\)$/,
      );
      expect(r.rows.find((x) => x.init === 'ts-reaper')!.pid1_source).toMatch(/ts-reaper\.cjs run by the host's node v\d+/);
      expect(pid1Comm(r.report, 'dumb-init')).toBe('ld-linux-x86-64');
      expect(pid1Comm(r.report, 'ts-reaper')).toBe('ts-reaper');
      const none = r.rows.find((x) => x.init === 'none')!;
      expect(Number(none.adopted_orphans)).toBe(PY_ORPHANS);
      expect(r.json!.image).toMatchObject({ id: idBefore, unchanged: true });
      expect(((await (await docker()).getImage(python).inspect()) as { Id: string }).Id).toBe(idBefore);
      expect(await imageContainersLeft()).toBe(0);
      expect(r.tmpLeft).toEqual([]);
    }, 300_000);

    it('--fail-on leak exits 0 when only reaping inits run (docker-init included)', async () => {
      const r = await run([
        '--image',
        python,
        '--inits',
        'tini,docker-init,catatonit',
        '--duration-s',
        '1',
        '--stop-grace-s',
        '2',
        '--fail-on',
        'leak',
      ]);
      expect(r.exitCode).toBe(0);
      expect(r.json!.verdicts.map((v) => v.verdict)).toEqual(['ok', 'ok', 'ok']);
    }, 300_000);

    it('busybox shell loop (no libc in the image): every injected init runs it and reaps, and a timed-out exec leaves zombies only where PID 1 does not reap', async () => {
      const idBefore = ((await (await docker()).getImage(busybox).inspect()) as { Id: string }).Id;
      const loop = await run([
        '--image',
        busybox,
        '--inits',
        'none,tini,dumb-init,catatonit,ts-reaper',
        '--duration-s',
        '1',
        '--stop-grace-s',
        '1',
      ]);
      expect(loop.exitCode).toBe(0);
      expect(loop.rows.map((x) => [x.init, x.status])).toEqual([
        ['none', 'ran'],
        ['tini', 'ran'],
        ['dumb-init', 'ran'],
        ['catatonit', 'ran'],
        ['ts-reaper', 'ran'],
      ]);
      const l = byInit(loop.json!.verdicts);
      for (const init of ['tini', 'dumb-init', 'catatonit', 'ts-reaper'])
        expect(l[init], init).toMatchObject({ leaked: 0, leaked_proc: 0 });
      expect(loop.json!.image).toMatchObject({ id: idBefore, unchanged: true });
      expect(loop.tmpLeft).toEqual([]);
      // The probe-timeout pattern: PID 1 is `sleep` (reaps nothing); each exec's sh is given up
      // after 0.3 s, and its background sleep is adopted by PID 1 when sh ends.
      const probe = await run([
        '--image',
        busybox,
        '--entrypoint',
        '["/bin/sleep","3600"]',
        '--inits',
        'none,tini',
        '--duration-s',
        '3',
        '--stop-grace-s',
        '1',
        '--exec-every',
        '1',
        '--exec-timeout',
        '0.3',
        '--',
        'sh',
        '-c',
        'sleep 0.3 & sleep 0.6',
      ]);
      expect(probe.exitCode).toBe(0);
      const p = byInit(probe.json!.verdicts);
      expect(p.none!.leaked).toBeGreaterThan(0);
      expect(p.none!.leaked_proc).toBe(p.none!.leaked);
      expect(p.tini).toMatchObject({ verdict: 'ok', leaked: 0 });
      expect(Number(probe.rows.find((x) => x.init === 'none')!.exec_timeouts)).toBeGreaterThan(0);
      expect(await imageContainersLeft()).toBe(0);
    }, 300_000);

    it('bad input: one line each, exit ≠ 0, no container left', async () => {
      const missing = await run(['--image', 'reapbench-no-such-image:never']);
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr.trim()).toMatch(
        /^reapbench: image reapbench-no-such-image:never not found in the engine at \S+( \(from DOCKER_HOST\))?; reapbench does not pull: pull or build it with that engine first \(docker pull, podman pull\)$/,
      );

      const foreign = await foreignArchImage(await docker());
      const arch = await run(['--image', foreign.tag, '--inits', 'none,tini']);
      expect(arch.exitCode).toBe(2);
      expect(arch.stderr.trim()).toMatch(
        new RegExp(
          `^reapbench: image ${foreign.tag} is built for ${foreign.architecture}; this host runs (\\w+): build the image for linux/\\1 \\(docker build --platform linux/\\1\\) and pass that one$`,
        ),
      );

      const exits = await run([
        '--image',
        busybox,
        '--entrypoint',
        '["/bin/sh","-c","echo bye; exit 3"]',
        '--inits',
        'none,tini',
        '--duration-s',
        '1',
      ]);
      expect(exits.exitCode).toBe(1);
      expect(exits.stderr).toMatch(
        /^reapbench: every run failed \(first reason: the image's PID 1 exited before the stop \(exit 3\): bye\)/m,
      );
      expect(exits.stderr).not.toMatch(/\n\s+at /);

      const noCmd = await run([
        '--image',
        busybox,
        '--inits',
        'none',
        '--duration-s',
        '2',
        '--exec-every',
        '0.5',
        '--',
        '/bin/nonexistent',
      ]);
      expect(noCmd.exitCode).toBe(2);
      const lines = noCmd.stderr.trim().split('\n');
      expect(lines[lines.length - 1]).toMatch(
        // Docker relays runc's "no such file or directory"; Podman 4.3 only a reset attach stream.
        podman
          ? /^reapbench: --exec-every: `\/bin\/nonexistent` could not be started in \S+: .+$/
          : /^reapbench: --exec-every: `\/bin\/nonexistent` could not be started in .*no such file or directory/,
      );
      expect(await imageContainersLeft()).toBe(0);
    }, 300_000);
  },
);

// The host-only method needs no kernel instrument: it runs wherever the engine does.
describe('reapbench run --image --instrument host (engine, no kernel instrument)', () => {
  let image = '';
  beforeAll(async () => {
    image = await pythonImage(await docker());
  }, 120_000);

  it("the classic demonstration: ps in the container shows the orphans <defunct> under a Python PID 1, and none under the engine's --init", async () => {
    const d = await docker();
    const ps = async (init: boolean): Promise<string[]> => {
      const r = await runContainer(d, {
        image,
        cmd: [String(PY_ORPHANS)], // after the image's entrypoint (python3 … /app.py)
        init,
        pidsLimit: 64,
        timeoutMs: 60_000,
        stopAfterMs: 2_500,
        stopGraceS: 0,
        labels: { 'reapbench.scenario': 'image', 'reapbench.phase': 'test' },
      });
      expect(r.stdout, r.stderr).toMatch(/^forked 3 orphans$/m);
      const lines = r.stdout.split('\n').filter((l) => l.startsWith('ps: '));
      expect(lines.length, r.stdout).toBeGreaterThan(0);
      return lines.filter((l) => l.endsWith(' <defunct>'));
    };
    // Without an init the grandchildren are adopted by python3 (PID 1), which never waits for them.
    expect(await ps(false)).toEqual(Array.from({ length: PY_ORPHANS }, () => expect.stringMatching(/^ps: \d+ Z python3 <defunct>$/)));
    expect(await ps(true)).toEqual([]);
    expect(await imageContainersLeft()).toBe(0);
  }, 120_000);

  it('Ctrl-C during the first run: exit 130, one line, no results folder, no container left', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-image-int-'));
    try {
      const child = execa(
        process.execPath,
        [
          cli,
          'run',
          '--image',
          image,
          '--instrument',
          'host',
          '--inits',
          'none',
          '--repetitions',
          '1',
          '--duration-s',
          '30',
          '--out',
          out,
          '--ci',
        ],
        { reject: false, timeout: 120_000 },
      );
      // The first run is under way once its container runs (image runs carry this label).
      await waitFor(
        async () =>
          (await (await docker()).listContainers({ filters: { label: ['reapbench.scenario=image'], status: ['running'] } })).length > 0,
        { what: 'the image run to start its container' },
      );
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode, r.stderr).toBe(130);
      expect(r.stderr.trim().split('\n').pop()).toBe('reapbench: interrupted before the first run ended; nothing was measured');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await readdir(out)).toEqual([]);
      expect(await imageContainersLeft()).toBe(0);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 180_000);

  it("Python PID 1 read from the host's /proc alone: none leaks exactly its orphans, tini none, and every file says how it was measured", async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-image-host-'));
    try {
      const r = await execa(
        process.execPath,
        [cli, 'run', '--image', image, '--instrument', 'host', '--inits', 'none,tini', '--repetitions', '1', '--limits', '64'].concat([
          '--duration-s',
          '2',
          '--stop-grace-s',
          '2',
          '--fail-on',
          'leak',
          '--out',
          out,
          '--ci',
        ]),
        { reject: false, timeout: 240_000 },
      );
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^reapbench: instrument: host \(the host's \/proc and the container's pids cgroup, read every 100 ms/m);
      expect(r.stderr).toMatch(/^reapbench: --fail-on leak: none: leaks 3 zombies \(held by python3\)[^\n|]*$/m);
      const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as { results: string; verdicts: Verdict[] };
      const v = byInit(json.verdicts);
      expect(v.none).toMatchObject({ leaked: PY_ORPHANS, leaked_proc: PY_ORPHANS, exit_code: 137 });
      expect(v.tini).toMatchObject({ verdict: 'ok', leaked: 0, exit_code: 143 });
      const rows = parse(await readFile(path.join(json.results, 'image.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
      expect(rows.map((x) => [x.init, x.method, x.adopted_orphans])).toEqual([
        ['none', 'host', ''],
        ['tini', 'host', ''],
      ]);
      const runs = parse(await readFile(path.join(json.results, 'runs.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
      const none = runs.find((x) => x.init === 'none')!;
      // Sampled every 100 ms while the orphans (0.3 s each) stay zombies under python3: the peak is theirs.
      expect([none.zombies_peak, none.zombie_sample_hz, none.latency_method]).toEqual([String(PY_ORPHANS), '10', '']);
      const env = JSON.parse(await readFile(path.join(json.results, 'env.json'), 'utf8')) as { instrument: unknown };
      expect(env.instrument).toEqual({ requested: 'host', used: 'host', reason: null });
      expect(await readFile(path.join(json.results, 'report.md'), 'utf8')).toMatch(/measured from the host without the kernel instrument/);
      expect(await imageContainersLeft()).toBe(0);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 300_000);
});
