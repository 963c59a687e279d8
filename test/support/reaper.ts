// Helpers for the ts-reaper tests: run the built bundle (dist/ts-reaper.cjs) as a real process,
// collect its output and status, and look at the process table through /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { readStat } from '../../src/procfs/stat.js';
import { waitFor } from './wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUNDLE = path.join(ROOT, 'dist', 'ts-reaper.cjs');
/** The package's `ts-reaper` command: the launcher that reads the inherited signal state, then runs node on {@link BUNDLE}. */
export const LAUNCHER = path.join(ROOT, 'dist', 'bin', 'ts-reaper');

/**
 * The environment for a run through {@link LAUNCHER}: the launcher finds `node` in PATH, so the
 * directory of the node running the tests comes first.
 */
export function launcherEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, PATH: `${path.dirname(process.execPath)}:${env.PATH ?? '/usr/bin:/bin'}` };
}

/** `args` quoted for a POSIX shell command line. */
export function shellQuote(args: readonly string[]): string {
  return args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
}

/**
 * The line `ready` that test commands print once they are set up (`echo ready`), as a whole
 * line: the verbose log's "… after Node was ready" must not pass for it (a signal sent then
 * could reach the command before its trap).
 */
export const READY = /^ready\r?$/m;

/** Whether util-linux `script` is here, to give a run a pty of its own. */
export const HAS_SCRIPT = existsSync('/usr/bin/script');

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
  /** Resolves when `stderr`+`stdout` contain `text`; rejects at the deadline with the output so far. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  output(): string;
  /**
   * Write one line to the command's stdin (started with `stdin: true`): a script that runs
   * `read go` waits there until the test has seen what it needs, then goes on.
   */
  send(line: string): void;
}

/** How {@link start} runs ts-reaper. */
export interface StartOptions {
  /** Wrap it in `unshare --pid --fork --mount-proc`: it is then PID 1 of a new namespace. */
  pid1?: boolean;
  /** Run it through the package's launcher ({@link LAUNCHER}) instead of `node` {@link BUNDLE}. */
  launcher?: boolean;
  /** Words put before ts-reaper's command line (`nohup`, `sh -c 'trap "" HUP; exec "$@"' sh`). */
  prefix?: string[];
  /** Working directory (default: the tests'). */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** A pipe on stdin for {@link Running.send} (default: /dev/null). */
  stdin?: boolean;
}

/**
 * How long {@link Running.done} waits for the output pipes to close after ts-reaper exited,
 * ms. They close at once unless a descendant left running on purpose holds them: scripts send
 * such descendants' output to /dev/null, so this only bounds a test that forgot to. What
 * ts-reaper wrote before it exited is already in the pipe and is read long before.
 */
const CLOSE_DEADLINE_MS = 5_000;

/**
 * The result of `proc` once it exited: at its 'close' (the pipes drained), or
 * {@link CLOSE_DEADLINE_MS} after its 'exit' when a descendant left running keeps the pipes open.
 * `result` is called once, then.
 */
function settleOnExit(proc: ChildProcess, result: (code: number | null, signal: NodeJS.Signals | null) => RunResult): Promise<RunResult> {
  return new Promise<RunResult>((resolve) => {
    proc.on('exit', (code, signal) => {
      let settled = false;
      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result(code, signal));
      };
      const timer = setTimeout(finish, CLOSE_DEADLINE_MS);
      proc.on('close', finish);
    });
  });
}

/** Start ts-reaper with `args`. */
export function start(args: string[], opts: StartOptions = {}): Running {
  const reaper = opts.launcher ? [LAUNCHER, ...args] : [process.execPath, BUNDLE, ...args];
  const argv = [...(opts.prefix ?? []), ...(opts.pid1 ? ['unshare', '--pid', '--fork', '--mount-proc'] : []), ...reaper];
  const env = opts.launcher ? launcherEnv(opts.env) : (opts.env ?? process.env);
  const proc = spawn(argv[0]!, argv.slice(1), {
    env,
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdin?.on('error', () => undefined); // EPIPE when the command has already exited
  // On exit, not on close alone: a descendant left running can keep the pipes open.
  const done = settleOnExit(proc, (code, signal) => ({ code, signal, stdout, stderr }));
  const output = (): string => stdout + stderr;
  return {
    proc,
    done,
    output,
    waitFor: async (text, timeoutMs) => {
      const seen = (): boolean => (typeof text === 'string' ? output().includes(text) : text.test(output()));
      await waitFor(seen, {
        what: `ts-reaper's output to show ${String(text)}`,
        ...(timeoutMs ? { timeoutMs } : {}),
        detail: () => `output so far:\n${output()}`,
      });
    },
    send: (line) => {
      if (!proc.stdin) throw new Error('send() needs start(…, { stdin: true })');
      proc.stdin.write(`${line}\n`);
    },
  };
}

/** Run ts-reaper to completion. */
export function run(args: string[], opts: Omit<StartOptions, 'stdin'> = {}): Promise<RunResult> {
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

/** A shell command line running on a pty of its own (util-linux `script`), typed at through script's stdin. */
export interface OnPty {
  proc: ChildProcess;
  /** Resolves once `script` (which exits with its command, `-e`) has exited and its output is read. */
  done: Promise<RunResult>;
  /** Everything the pty printed so far (the command's stdout and stderr, `\r\n` line ends, echoed input). */
  output(): string;
  /** Resolves when the output contains `text`; rejects at the deadline with the output so far. */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Type `bytes` at the terminal: `\x03` is Ctrl-C (the line discipline sends SIGINT to the foreground group). */
  type(bytes: string): void;
}

/**
 * Run `command` (a shell command line) as the session leader of a new pty, the way a terminal
 * runs a shell's command: `script -qfec command /dev/null` (`-f` flushes each output at once).
 * The pty is script's: typed bytes go through its line discipline, so Ctrl-C sends SIGINT to the
 * pty's foreground process group.
 */
export function startOnPty(command: string, env: NodeJS.ProcessEnv = process.env): OnPty {
  const proc = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stdin!.on('error', () => undefined); // EPIPE once script has exited
  const done = settleOnExit(proc, (code, signal) => {
    proc.stdin!.destroy();
    return { code, signal, stdout: out, stderr: '' };
  });
  return {
    proc,
    done,
    output: () => out,
    waitFor: async (text, timeoutMs) => {
      const seen = (): boolean => (typeof text === 'string' ? out.includes(text) : text.test(out));
      await waitFor(seen, {
        what: `the pty to show ${String(text)}`,
        ...(timeoutMs ? { timeoutMs } : {}),
        detail: () => `pty output so far:\n${out}`,
      });
    },
    type: (bytes) => {
      proc.stdin!.write(bytes);
    },
  };
}
