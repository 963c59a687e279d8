/**
 * `reapbench run` end to end against the real engine: a short run writes every report file,
 * and Ctrl-C in the middle of a run keeps a partial report with the cut run marked aborted,
 * exits 130 and leaves no container behind.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { RUN_LABEL } from '../../src/runtime/cleanup.js';
import { tracerAvailability } from '../../src/tracer/index.js';
import { docker, testImages } from '../support/engine.js';
import { waitFor } from '../support/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');

beforeAll(async () => {
  await testImages(); // build once here, so the runs below do not time the image build
});

describe('reapbench run (engine)', () => {
  it('writes the whole report for a short run and exits 0', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-e2e-'));
    try {
      // `none` must fill its budget (~50 orphans) inside the run: at 500/s that took 0.10 s of
      // the 2 s, idle and on 2 loaded cores (at 100/s it took 0.50–0.52 s of 1 s).
      const stepSummary = path.join(out, 'step-summary.md');
      const r = await execa(
        process.execPath,
        [
          cli,
          'run',
          '--inits',
          'none,tini',
          '--repetitions',
          '1',
          '--no-warmup',
          '--duration-s',
          '2',
          '--limits',
          '64',
          '--rates',
          '500',
          '--out',
          out,
          '--ci',
        ],
        { reject: false, env: { CI: 'true', GITHUB_STEP_SUMMARY: stepSummary }, timeout: 180_000 },
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.exitCode).toBe(0);
      const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
        results: string;
        partial: boolean;
        summary: Array<{ init: string; survived_runs: number; first_fork_failure_s: number | null; unreaped: number }>;
      };
      expect(json.partial).toBe(false);
      const none = json.summary.find((s) => s.init === 'none')!;
      const tini = json.summary.find((s) => s.init === 'tini')!;
      expect(none.first_fork_failure_s).not.toBeNull();
      expect(none.unreaped).toBeGreaterThan(40);
      expect([tini.survived_runs, tini.first_fork_failure_s, tini.unreaped]).toEqual([1, null, 0]);
      const files = await readdir(json.results);
      for (const f of ['runs.csv', 'summary.csv', 'env.json', 'report.md', 'events.ndjson', 'charts']) expect(files).toContain(f);
      expect(files).not.toContain('raw');
      expect(await readdir(out)).toContain('latest');
      // The CI step summary holds report.md's sections (the charts are named, not shown).
      const report = await readFile(path.join(json.results, 'report.md'), 'utf8');
      const step = await readFile(stepSummary, 'utf8');
      expect(step.startsWith(report.slice(0, report.indexOf('## Charts')))).toBe(true);
      expect(step).toMatch(/^Charts: charts\/.*\.svg/m);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('measures with the kernel instrument: exact counts, the container holding the workload alone', async () => {
    const availability = tracerAvailability();
    expect(availability, 'the kernel instrument must load here (bash scripts/tracer-deps.sh)').toEqual({ available: true });
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-ebpf-'));
    try {
      const limit = 48;
      const args = ['--repetitions', '1', '--no-warmup', '--duration-s', '2', '--limits', String(limit), '--rates', '200', '--ci'];
      const r = await execa(process.execPath, [cli, 'run', '--inits', 'none,tini', '--instrument', 'ebpf', ...args, '--out', out], {
        reject: false,
        timeout: 180_000,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      const dir = (JSON.parse(r.stdout.trim().split('\n').pop()!) as { results: string }).results;
      const runs = parse(await readFile(path.join(dir, 'runs.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
      const none = runs.find((x) => x.init === 'none')!;
      const tini = runs.find((x) => x.init === 'tini')!;
      for (const x of [none, tini]) {
        expect([x.state, x.latency_method, x.instrument_tasks, x.lost_events]).toEqual(['completed', 'ebpf', '0', '0']);
      }
      // No init: solo is PID 1 and waits only for its intermediates, so its orphans stay zombies.
      // The limit's slots: PID 1, one intermediate, and L − 2 orphans; nothing of the instrument.
      expect(Number(none.orphans_before_failure)).toBe(limit - 2);
      expect([none.first_failure_errno, none.first_failure_comm, none.unreaped]).toEqual(['EAGAIN', 'orphanage', String(limit - 2)]);
      // tini reaps every adopted orphan: each one seen exiting was seen reaped, none lost.
      expect(Number(tini.fork_failures)).toBe(0);
      expect(Number(tini.orphans_made)).toBeGreaterThan(300);
      expect(tini.orphans_reaped).toBe(tini.orphans_exited);
      expect(Number(tini.orphans_exited) + Number(tini.missed)).toBe(Number(tini.orphans_made));
      expect(Number(tini.reap_latency_p50_us)).toBeGreaterThan(0);
      // Who held them, from the kernel's events: with no init, solo as PID 1 (its orphans and its
      // intermediates, the orphans never reaped); with tini, tini, every zombie reaped.
      expect(none.zombies_held_by).toMatch(new RegExp(`^orphanage \\(PID 1\\) \\d+, peak \\d+, ${limit - 2} at end$`));
      expect(tini.zombies_held_by).toMatch(/^tini \(PID 1\) \d+, peak \d+(;|$)/);
      expect(tini.zombies_held_by).not.toMatch(/at end/);
      expect(await readFile(path.join(dir, 'report.md'), 'utf8')).toMatch(
        /## Who held the zombies\n[^]*\| `tini` \| 1 \| `tini` \(PID 1\) \|/,
      );
      const env = JSON.parse(await readFile(path.join(dir, 'env.json'), 'utf8')) as { instrument: unknown };
      expect(env.instrument).toEqual({ requested: 'ebpf', used: 'ebpf', reason: null });

      // both: the kernel's latency in the record, the watcher's beside it.
      const b = await execa(process.execPath, [cli, 'run', '--inits', 'tini', '--instrument', 'both', ...args, '--out', out], {
        reject: false,
        timeout: 180_000,
      });
      expect(b.exitCode, b.stderr).toBe(0);
      const bdir = (JSON.parse(b.stdout.trim().split('\n').pop()!) as { results: string }).results;
      const [both] = parse(await readFile(path.join(bdir, 'runs.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
      expect(both!.latency_method).toBe('ebpf');
      expect(Number(both!.reap_latency_p50_us)).toBeGreaterThan(0);
      expect(Number(both!.pidfd_latency_p50_us)).toBeGreaterThanOrEqual(0);
      expect(both!.pidfd_latency_p50_us).not.toBe('');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('Ctrl-C mid-run: exit 130, partial report, the cut run marked aborted, no container left', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-int-'));
    try {
      const child = execa(
        process.execPath,
        [
          cli,
          'run',
          '--inits',
          'tini',
          '--repetitions',
          '3',
          '--no-warmup',
          '--duration-s',
          '4',
          '--limits',
          '64',
          '--rates',
          '50',
          // The load generator's .partial file (below) is the in-container watcher's.
          '--instrument',
          'pidfd',
          '--out',
          out,
        ],
        { reject: false, all: true, timeout: 180_000 },
      );
      const d = await docker();
      // Interrupt a run after the first has been recorded (a run cut short is not kept, so an
      // interrupt in the first leaves no report at all): once runs.csv has a row, and a later
      // run's container runs and its load generator has created its results file in the run's
      // folder, bound from under `out`. Matching on that folder finds this CLI's container, not
      // one of another reapbench on the same engine.
      const runsCsv = () => {
        const ts = existsSync(out) ? readdirSync(out).find((n) => n !== 'latest') : undefined;
        const f = ts ? path.join(out, ts, 'runs.csv') : '';
        return f && existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n').slice(1) : [];
      };
      await waitFor(() => (runsCsv().length >= 1 ? true : null), { what: 'the first run recorded', intervalMs: 100 });
      const runId = await waitFor(
        async () => {
          for (const c of await d.listContainers({ filters: { label: [RUN_LABEL] } })) {
            const raw = c.Mounts.find((m) => m.Source.startsWith(out))?.Source;
            if (c.State === 'running' && raw && readdirSync(raw).some((f) => f.endsWith('.partial'))) return c.Labels[RUN_LABEL]!;
          }
          return null;
        },
        { what: 'a later run of the matrix to be producing', intervalMs: 100 },
      );
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode, r.all).toBe(130);
      expect(r.all).not.toMatch(/could not remove container/);
      const dir = path.join(out, 'latest');
      const rows = (await readFile(path.join(dir, 'runs.csv'), 'utf8')).trim().split('\n').slice(1);
      // Every run before the cut completed; the cut one, the last, is recorded aborted.
      expect(rows.length).toBeGreaterThanOrEqual(2);
      expect(rows.at(-1)).toMatch(/,aborted,/);
      expect(rows.slice(0, -1).every((l) => /,completed,/.test(l))).toBe(true);
      expect(await readFile(path.join(dir, 'report.md'), 'utf8')).toMatch(
        /\*\*PARTIAL\*\*: this run did not finish \(interrupted by SIGINT/,
      );
      const left = await d.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } });
      expect(left).toEqual([]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
  it('--ci --baseline that matches no configuration: one warning, exit 1, and an empty regressions array', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-e2e-'));
    try {
      const baseline = path.join(out, 'baseline.csv');
      // A configuration this run does not measure (pids limit 999).
      await writeFile(
        baseline,
        'init,scenario,pids_limit,rate_per_s,lifetime_ms,duration_s,first_fork_failure_s,reap_latency_p50_us\ntini,orphans,999,100,5,1,,20\n',
      );
      const args = ['run', '--inits', 'tini', '--repetitions', '1', '--no-warmup', '--duration-s', '1', '--limits', '64', '--rates', '100'];
      const r = await execa(process.execPath, [cli, ...args, '--out', out, '--ci', '--baseline', baseline], {
        reject: false,
        env: { CI: 'true', GITHUB_STEP_SUMMARY: '' },
        timeout: 180_000,
      });
      expect(r.exitCode).toBe(1);
      const json = JSON.parse(r.stdout.trim().split('\n').pop()!) as { warnings: string[]; regressions: unknown[] };
      expect(json.regressions).toEqual([]);
      const nothing = json.warnings.filter((w) => w.includes('nothing was compared'));
      expect(nothing).toHaveLength(1);
      expect(r.stderr.split('\n').filter((l) => l.includes('nothing was compared'))).toHaveLength(1);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
