// ts-reaper on a terminal: a pty of its own from util-linux `script`, typed at through script's
// stdin. The terminal sends its signals (Ctrl-C: SIGINT) to its foreground process group, so the
// command must be alone in that group: if ts-reaper shares it, one Ctrl-C reaches the command
// twice, from the terminal and forwarded. Fields 5 and 8 of /proc/self/stat are pgrp and tpgid,
// the terminal's foreground group (proc(5)).
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { BUNDLE, CAN_UNSHARE, HAS_SCRIPT, LAUNCHER, READY, launcherEnv, shellQuote, startOnPty } from '../support/reaper.js';

beforeAll(() => {
  for (const f of [BUNDLE, LAUNCHER]) if (!existsSync(f)) throw new Error(`${f} missing: run npm run build first`);
});

const PID1 = ['unshare', '--pid', '--fork', '--mount-proc'];
const STAT = 'read -r pid comm state ppid pgrp sess tty tpgid rest < /proc/self/stat; echo "pid=$pid pgrp=$pgrp tpgid=$tpgid"';
/** pid, pgrp and tpgid of the command that ran {@link STAT}. */
function statOf(out: string): { pid: string; pgrp: string; tpgid: string } {
  const m = /pid=(\d+) pgrp=(\d+) tpgid=(\d+)/.exec(out);
  if (!m) throw new Error(`no pid/pgrp/tpgid line in:\n${out}`);
  return { pid: m[1]!, pgrp: m[2]!, tpgid: m[3]! };
}

/**
 * A command that counts SIGINTs: perl's own C handler counts every delivery and the Perl
 * handler then runs once per count, printing `got-INT <n>`; on a `quit` line it prints
 * `count=<n>` and exits 0.
 */
const COUNTER = [
  'perl',
  '-e',
  '$| = 1; my $n = 0; $SIG{INT} = sub { $n++; print "got-INT $n\\n" }; print "ready\\n"; ' +
    'while (defined(my $l = <STDIN>)) { if ($l =~ /quit/) { print "count=$n\\n"; exit 0 } }',
];

const MODES: [string, string[], boolean][] = [
  ['default', [], false],
  ['-g', ['-g'], false],
  ['default, as PID 1', [], true],
  ['-g, as PID 1', ['-g'], true],
];

describe.skipIf(!HAS_SCRIPT)('ts-reaper on a terminal', () => {
  for (const [mode, flags, pid1] of MODES)
    it.skipIf(pid1 && !CAN_UNSHARE)(
      `${mode}: one Ctrl-C reaches the command once, from the terminal; ts-reaper forwards none`,
      async () => {
        const t = startOnPty(shellQuote([...(pid1 ? PID1 : []), LAUNCHER, '-v', ...flags, '--', ...COUNTER]), launcherEnv());
        await t.waitFor("terminal given to the command's process group");
        await t.waitFor(READY);
        t.type('\x03');
        await t.waitFor('got-INT 1');
        t.type('quit\n');
        await t.waitFor(/exiting with \d+/);
        const r = await t.done;
        expect(r.code, r.stdout).toBe(0);
        expect(r.stdout).toContain('count=1');
        // The exact witness: ts-reaper logs every signal it receives (forwarded or dropped), and it
        // has exited, so its log is complete. Out of the foreground group, it received no SIGINT.
        // (The command's count alone could miss a second SIGINT that arrived while the first was
        // still pending: the kernel keeps one of each.)
        expect(r.stdout).not.toMatch(/(forwarded|dropped) SIGINT/);
      },
    );

  it.each([
    ['default', []],
    ['-g', ['-g']],
  ])('%s: the command leads its own group, which holds the terminal from its first instruction', async (_mode, flags) => {
    // glibc ≥ 2.35 (this project's machines and images): the child takes the terminal itself.
    for (let i = 0; i < 3; i++) {
      const t = startOnPty(shellQuote([process.execPath, BUNDLE, '-v', ...flags, '--', 'sh', '-c', STAT]));
      const r = await t.done;
      expect(r.stdout).toContain("terminal given to the command's process group in the child, before exec");
      const s = statOf(r.stdout);
      expect(s.pgrp).toBe(s.pid);
      expect(s.tpgid).toBe(s.pid);
      expect(r.code).toBe(0);
    }
  });

  it('a command that reads the terminal at once is not stopped by SIGTTIN', async () => {
    const t = startOnPty(shellQuote([process.execPath, BUNDLE, '--', 'head', '-n', '1']));
    t.type('typed line\n');
    const r = await t.done;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('typed line');
  });

  it('started as a background job, it leaves the terminal to the foreground job', async () => {
    // bash with job control (set -m) puts the background job in a group of its own that is not
    // the terminal's foreground group: ts-reaper does not hold the terminal and must not take it.
    const job = shellQuote([process.execPath, BUNDLE, '-v', '--', 'sh', '-c', STAT]);
    const t = startOnPty(`bash -c ${shellQuote([`set -m; ${job} & wait $!`])}`);
    const r = await t.done;
    const s = statOf(r.stdout);
    expect(s.pgrp).toBe(s.pid);
    expect(s.tpgid).not.toBe(s.pid);
    expect(r.stdout).not.toContain('terminal given');
    expect(r.code).toBe(0);
  });

  it('writes its -v log from the background under `stty tostop`, and exits with the command status', async () => {
    // Once the command holds the terminal, ts-reaper writes as a background process; with tostop
    // such a write sends SIGTTOU and is restarted, endlessly, unless the writer blocks SIGTTOU.
    // The outer shell stays the parent of ts-reaper, so ts-reaper's group is not orphaned
    // (an orphaned one would get EIO instead).
    const cmd = shellQuote([LAUNCHER, '-v', '--', 'sh', '-c', 'echo ready; read x; exit 4']);
    const t = startOnPty(`stty tostop; ${cmd}; exit $?`, launcherEnv());
    await t.waitFor(READY);
    t.type('go\n');
    await t.waitFor('exiting with 4 after reaping');
    const r = await t.done;
    expect(r.stdout).toMatch(/main child \d+ ended \(exited 4\)/);
    expect(r.code).toBe(4);
  });
});
