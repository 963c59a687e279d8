// What ts-reaper's command inherits from ts-reaper's own start: the signals it was started with
// ignored stay ignored, its signal mask, nothing else ignored or blocked (tini's child is the
// reference, run the same way when tini is installed), its environment and working directory.
// Runs go through the launcher (dist/bin/ts-reaper, the package's command), which reads the
// signal state before Node resets it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { signalledOrGone } from '../support/proc.js';
import { BUNDLE, CAN_UNSHARE, LAUNCHER, READY, launcherEnv, start } from '../support/reaper.js';

const HAS_TINI = existsSync('/usr/bin/tini');
const HAS_PERL = existsSync('/usr/bin/perl');
const PID1 = ['unshare', '--pid', '--fork', '--mount-proc'];

beforeAll(() => {
  for (const f of [BUNDLE, LAUNCHER]) if (!existsSync(f)) throw new Error(`${f} missing: run npm run build first`);
});

/** The command every run starts: it prints its own SigIgn and SigBlk lines (proc(5)). */
const SHOW = ['grep', '-E', '^Sig(Ign|Blk)', '/proc/self/status'];

/** The ignored and blocked sets a run of {@link SHOW} printed, as the 16 hex digits of /proc. */
function shown(out: string): { ignored: string; blocked: string } {
  const ign = /^SigIgn:\s*([0-9a-f]{16})$/m.exec(out);
  const blk = /^SigBlk:\s*([0-9a-f]{16})$/m.exec(out);
  if (!ign || !blk) throw new Error(`no SigIgn/SigBlk lines in:\n${out}`);
  return { ignored: ign[1]!, blocked: blk[1]! };
}

/** 16 hex digits of the set of `signals` (bit n−1 for signal n). */
const hex = (...signals: number[]): string =>
  signals
    .reduce((set, n) => set | (1n << BigInt(n - 1)), 0n)
    .toString(16)
    .padStart(16, '0');

/** Run `argv` to completion (a deadline only for a hang); stdout and stderr together. */
function runArgv(argv: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(argv[0]!, argv.slice(1), { env: launcherEnv(), timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, out: stdout + stderr });
    });
  });
}

/**
 * Starting states: the words put before the init, and what its command must inherit. The
 * perl one ignores SIGQUIT and the real-time signal 40, and blocks SIGUSR1 and signal 41;
 * the test runner's own children start with nothing ignored or blocked (libuv's spawn).
 */
const PERL = [
  'perl',
  '-MPOSIX',
  '-e',
  'sigprocmask(SIG_BLOCK, POSIX::SigSet->new(10, 41)) or die "mask: $!"; $SIG{QUIT} = "IGNORE"; ' +
    'sigaction(40, POSIX::SigAction->new("IGNORE")) or die "40: $!"; exec @ARGV or exit 127',
];
const STATES: { name: string; prefix: string[]; ignored: string; blocked: string }[] = [
  { name: 'nothing ignored or blocked', prefix: [], ignored: hex(), blocked: hex() },
  { name: "trap '' HUP INT", prefix: ['sh', '-c', `trap '' HUP INT; exec "$@"`, 'sh'], ignored: hex(1, 2), blocked: hex() },
  { name: 'nohup', prefix: ['nohup'], ignored: hex(1), blocked: hex() },
  ...(HAS_PERL
    ? [{ name: 'QUIT and 40 ignored, USR1 and 41 blocked (perl)', prefix: PERL, ignored: hex(3, 40), blocked: hex(10, 41) }]
    : []),
];

describe('ts-reaper: the command inherits the signal state ts-reaper started with', () => {
  for (const s of STATES) {
    it(`${s.name}: as tini's command does`, async () => {
      const r = await runArgv([...s.prefix, LAUNCHER, '--', ...SHOW]);
      expect(r.code, r.out).toBe(0);
      expect(shown(r.out)).toEqual({ ignored: s.ignored, blocked: s.blocked });
      if (HAS_TINI) {
        const t = await runArgv([...s.prefix, 'tini', '-s', '--', ...SHOW]);
        expect(shown(r.out)).toEqual(shown(t.out));
      }
    });

    it.skipIf(!CAN_UNSHARE)(`${s.name}: as PID 1 too`, async () => {
      const r = await runArgv([...s.prefix, ...PID1, LAUNCHER, '--', ...SHOW]);
      expect(r.code, r.out).toBe(0);
      expect(shown(r.out)).toEqual({ ignored: s.ignored, blocked: s.blocked });
      if (HAS_TINI) {
        const t = await runArgv([...s.prefix, ...PID1, 'tini', '--', ...SHOW]);
        expect(shown(r.out)).toEqual(shown(t.out));
      }
    });
  }

  it('says in its verbose log what it passes on, and from where', async () => {
    const r = await runArgv(['sh', '-c', `trap '' HUP INT; exec "$@"`, 'sh', LAUNCHER, '-v', '--', 'true']);
    expect(r.out).toContain('command inherits ignored signals: HUP, INT; blocked: none (as the launcher read them)');
  });

  it.skipIf(!HAS_PERL)('started by node directly, passes on what survives Node (signals 32 and 34–64) and says so', async () => {
    // Node resets 1–31 and the mask before any JavaScript runs; real-time signals keep their state.
    const r = await runArgv(['sh', '-c', `trap '' HUP; exec "$@"`, 'sh', ...PERL, process.execPath, BUNDLE, '-v', '--', ...SHOW]);
    expect(shown(r.out)).toEqual({ ignored: hex(40), blocked: hex() });
    expect(r.out).toContain('command inherits ignored signals: 40; blocked: none (started by node directly');
  });

  it('nohup ts-reaper: a SIGHUP to the command, its group, or ts-reaper (forwarded) leaves the command running', async () => {
    const r = start(['-v', '--', 'sh', '-c', 'echo ready; read go; echo survived; exit 0'], {
      launcher: true,
      prefix: ['nohup'],
      stdin: true,
    });
    await r.waitFor(READY);
    await r.waitFor(/started sh as pid \d+/); // ts-reaper may log it after the command's first line
    const child = Number(/started sh as pid (\d+)/.exec(r.output())![1]);
    // Synchronous: when kill returns, a signal the command does not ignore is pending in it
    // (or has stopped it), which signalledOrGone sees; an ignored one was discarded.
    process.kill(child, 'SIGHUP');
    process.kill(-child, 'SIGHUP');
    r.proc.kill('SIGHUP');
    await r.waitFor('forwarded SIGHUP');
    expect(signalledOrGone(child)).toBeNull();
    r.send('go');
    const res = await r.done;
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('survived');
  });

  it('without nohup the same SIGHUP forwarded by ts-reaper ends the command (exit 129)', async () => {
    // The control case: the test above would also pass if no SIGHUP reached the command at all.
    const r = start(['-v', '--', 'sh', '-c', 'echo ready; read go; exit 0'], { launcher: true, stdin: true });
    await r.waitFor(READY);
    r.proc.kill('SIGHUP');
    expect((await r.done).code).toBe(129);
  });
});

describe('ts-reaper: the command inherits the environment and working directory', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('gets exactly the environment ts-reaper got through the launcher (no PWD added, no launcher variable left)', async () => {
    const env = { PATH: '/usr/bin:/bin', ONLY: 'this', 'WITH SPACE': 'a=b c' };
    const r = start(['--', 'env', '-0'], { launcher: true, env });
    const res = await r.done;
    expect(res.code, res.stderr).toBe(0);
    const seen = Object.fromEntries(
      res.stdout
        .split('\0')
        .filter((l) => l !== '')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(seen).toEqual(launcherEnv(env)); // what start() gave it: env, node's directory first in PATH
  });

  it('runs the command in the working directory ts-reaper was started in (no chdir, like tini and dumb-init)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ts-reaper-cwd-'));
    dirs.push(dir);
    for (const launcher of [true, false]) {
      const res = await start(['--', 'pwd', '-P'], { launcher, cwd: dir }).done;
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout.trim()).toBe(realpathSync(dir));
    }
  });
});
