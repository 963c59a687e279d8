// Helpers for the ts-reaper tests: run the built bundle (dist/ts-reaper.cjs) as a real process,
// collect its output and status, and look at the process table through /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { allStats, readStat } from '../../src/procfs/stat.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE = path.join(ROOT, 'dist', 'ts-reaper.cjs');

/** Whether `unshare --pid --fork --mount-proc` works here (root, util-linux). */
export const CAN_UNSHARE: boolean = (() => {
  try {
    return existsSync('/usr/bin/unshare') && process.getuid?.() === 0;
  } catch {
    return false;
  }
})();

/** A finished run. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A started run: the process, plus a promise of its result. */
export interface Running {
  proc: ChildProcess;
  done: Promise<RunResult>;
  /** Resolves when `stderr`+`stdout` contain `text`. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  output(): string;
}

/** Start ts-reaper with `args`; `pid1` wraps it in `unshare --pid --fork --mount-proc`. */
export function start(args: string[], opts: { pid1?: boolean; env?: NodeJS.ProcessEnv } = {}): Running {
  const argv = opts.pid1 ? ['unshare', '--pid', '--fork', '--mount-proc', process.execPath, BUNDLE, ...args] : [process.execPath, BUNDLE, ...args];
  const proc = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  proc.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (const l of listeners) l();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const l of listeners) l();
  });
  // On exit, not on close: descendants left running (on purpose, in some tests) keep the pipes
  // open. Output still in flight is collected until close or for 300 ms.
  const done = new Promise<RunResult>((resolve) => {
    proc.on('exit', (code, signal) => {
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        resolve({ code, signal, stdout, stderr });
      };
      proc.on('close', finish);
      setTimeout(finish, 300);
    });
  });
  return {
    proc,
    done,
    output: () => stdout + stderr,
    waitFor(text, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const all = stdout + stderr;
          if (typeof text === 'string' ? all.includes(text) : text.test(all)) {
            listeners.delete(l);
            clearTimeout(t);
            resolve();
            return true;
          }
          return false;
        };
        const l = (): void => void check();
        const t = setTimeout(() => {
          listeners.delete(l);
          reject(new Error(`timed out waiting for ${String(text)}; output so far:\n${stdout}${stderr}`));
        }, timeoutMs);
        listeners.add(l);
        check();
      });
    },
  };
}

/** Run ts-reaper to completion. */
export function run(args: string[], opts: { pid1?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return start(args, opts).done;
}

/** Pids of live `sleep` processes whose arguments contain `marker` (leftovers of a test). */
export function pidsWithMarker(marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, 'latin1').split('\0');
      if (argv[0] === 'sleep' && argv[1]?.includes(marker) && stateOf(Number(e)) !== 'Z') out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** State letter of `pid` from /proc (R, S, Z…), or null when it does not exist. */
export function stateOf(pid: number): string | null {
  return readStat(pid)?.state ?? null;
}

/** Zombie children of `pid` (state Z and ppid = pid). */
export function zombieChildrenOf(pid: number): number[] {
  return allStats()
    .filter((s) => s.state === 'Z' && s.ppid === pid)
    .map((s) => s.pid);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
