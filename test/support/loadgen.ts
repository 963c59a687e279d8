/**
 * Test support for the load generator: a real pids cgroup (v1 or v2) and a real PID namespace
 * (`unshare --pid --fork --mount-proc`) in which either the load generator itself (no init) or
 * an init (tini, dumb-init, catatonit, the calibration reaper) is PID 1. Needs root.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadgenEvent, LoadgenSummary } from '../../src/loadgen/types.js';
import { waitFor } from './wait.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const loadgenBundle = path.join(root, 'dist/loadgen.mjs');
export const orphanageBin = path.join(root, 'dist/orphanage');

/** Throw a helpful error when the bundles are missing. */
export function requireBuild(): void {
  for (const f of [loadgenBundle, orphanageBin, path.join(root, 'dist/loadgen-watch-worker.mjs')]) {
    if (!existsSync(f)) throw new Error(`${f} missing: run npm run build first`);
  }
}

let seq = 0;

/** A pids cgroup made for one test; `remove()` waits until it is empty (60 s at most), then deletes it. */
export interface TestCgroup {
  dir: string;
  /** cgroup.procs to write a pid into */
  procs: string;
  remove(): Promise<void>;
}

/** Make a pids cgroup with `pids.max` = `max` (null: unlimited), v1 or v2 as the host has. */
export function makePidsCgroup(max: number | null): TestCgroup {
  const name = `reapbench-test-${process.pid}-${++seq}`;
  let dir: string;
  if (existsSync('/sys/fs/cgroup/pids/cgroup.procs')) {
    dir = path.join('/sys/fs/cgroup/pids', name);
  } else {
    const ctl = '/sys/fs/cgroup/cgroup.subtree_control';
    if (!readFileSync(ctl, 'utf8').includes('pids')) writeFileSync(ctl, '+pids');
    dir = path.join('/sys/fs/cgroup', name);
  }
  mkdirSync(dir);
  if (max !== null) writeFileSync(path.join(dir, 'pids.max'), String(max));
  return {
    dir,
    procs: path.join(dir, 'cgroup.procs'),
    remove: async () => {
      // A task leaves the cgroup when it is reaped, which may follow the test's end.
      const current = (): number => Number(readFileSync(path.join(dir, 'pids.current'), 'utf8'));
      await waitFor(() => current() === 0, { what: `${dir} to be empty`, detail: () => `pids.current ${current()}` });
      rmdirSync(dir);
    },
  };
}

/** PID 1 choices for {@link runInNamespace}. */
export type Init = 'none' | 'tini' | 'dumb-init' | 'catatonit' | { calibrationDelayMs: number } | { argv: string[] };

function initArgv(init: Init): string[] {
  if (init === 'none') return [];
  if (init === 'tini') return ['tini', '--'];
  if (init === 'dumb-init') return ['dumb-init'];
  if (init === 'catatonit') return ['catatonit', '--'];
  if ('argv' in init) return init.argv;
  return [orphanageBin, 'reap', String(Math.round(init.calibrationDelayMs * 1000))];
}

/** Outcome of one load-generator run. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Parsed stdout summary, when there was one. */
  summary: LoadgenSummary | null;
  /** Lines of the results file (final name), or null when it does not exist. */
  events: LoadgenEvent[] | null;
  out: string;
}

/** A fresh results path under the OS temp dir. */
export function tmpOut(tag: string): string {
  const d = path.join(os.tmpdir(), 'reapbench-loadgen-tests');
  mkdirSync(d, { recursive: true });
  return path.join(d, `${tag}-${process.pid}-${++seq}.ndjson`);
}

/**
 * Run `node dist/loadgen.mjs <args> --out <out>` in a new PID namespace whose PID 1 is `init`
 * (or the load generator itself), inside cgroup `cg` (or none). Kills the whole tree after
 * `timeoutMs`.
 */
export function runInNamespace(
  init: Init,
  args: string[],
  cg: TestCgroup | null,
  timeoutMs = 90_000,
  onSpawn?: (unsharePid: number) => void,
): Promise<RunResult> {
  const out = tmpOut(typeof init === 'string' ? init : 'calib');
  return runShell(nsScript(init, [process.execPath, loadgenBundle, ...args, '--out', out], cg), out, timeoutMs, onSpawn);
}

/**
 * Run `argv` in a new PID namespace whose PID 1 is `init` (or `argv[0]` itself), inside cgroup
 * `cg` (or none); kills the whole tree after `timeoutMs`. For programs other than the load
 * generator (e.g. `orphanage solo`).
 */
export function runCommandInNamespace(
  init: Init,
  argv: string[],
  cg: TestCgroup | null,
  timeoutMs = 60_000,
  onSpawn?: (unsharePid: number) => void,
): Promise<Pick<RunResult, 'code' | 'stdout' | 'stderr'>> {
  return runShell(nsScript(init, argv, cg), tmpOut('cmd'), timeoutMs, onSpawn);
}

/** The shell line that joins `cg` and runs `argv` under `init` in a new PID namespace with its own /proc. */
function nsScript(init: Init, argv: string[], cg: TestCgroup | null): string {
  const cmd = ['unshare', '--pid', '--fork', '--mount-proc', ...initArgv(init), ...argv];
  const quoted = cmd.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return cg ? `echo $$ > ${cg.procs} && exec ${quoted}` : `exec ${quoted}`;
}

/** Run the load generator directly (no namespace) with `args` (`--out` included by caller). */
export function runDirect(args: string[], timeoutMs = 60_000): Promise<Omit<RunResult, 'out' | 'events'>> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [loadgenBundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr, summary: parseSummary(stdout) });
    });
  });
}

function parseSummary(stdout: string): LoadgenSummary | null {
  const line = stdout.trim().split('\n').pop();
  try {
    const v = JSON.parse(line ?? '') as LoadgenSummary;
    return v.type === 'summary' ? v : null;
  } catch {
    return null;
  }
}

function runShell(script: string, out: string, timeoutMs: number, onSpawn?: (pid: number) => void): Promise<RunResult> {
  return new Promise((resolve) => {
    const p = spawn('sh', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    onSpawn?.(p.pid!);
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => {
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      const events = existsSync(out)
        ? (readFileSync(out, 'utf8')
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l)) as LoadgenEvent[])
        : null;
      resolve({ code, stdout, stderr, summary: parseSummary(stdout), events, out });
    });
  });
}
