// ts-reaper as a real process (dist/ts-reaper.cjs), not PID 1: it is then a child subreaper.
// Real processes and signals. Every wait is for an event (a line of output, a state in /proc),
// with a generous deadline (test/support/wait.ts): the machine has 2 shared cores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { getThreadSlice } from '../../src/ffi/sched.js';
import { readStat } from '../../src/procfs/stat.js';
import { signalledOrGone, zombieChildrenOf } from '../support/proc.js';
import { BUNDLE, READY, ROOT, pidsWithMarker, run, start, stateOf, type RunResult } from '../support/reaper.js';
import { waitFor } from '../support/wait.js';

/** A token unique to this test run, put in `sleep` arguments to find leftovers in /proc. */
const TOKEN = String(900000 + Math.floor(Math.random() * 99999));
/** `sleep` with a marker: `sleep 1000.<token><n>` sleeps ~1000 s and is findable. */
const marked = (n: number): string => `1000.${TOKEN}${n}`;

function killMarked(): void {
  for (const pid of pidsWithMarker(TOKEN)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

beforeAll(() => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run npm run build first`);
});
afterAll(killMarked);

/** Wait until every marked sleep `n` of `ns` has exec'd (its argv is `sleep 1000.<token><n>`); returns their pids. */
function execed(...ns: number[]): Promise<number[]> {
  return waitFor(
    () => {
      const pids = ns.map((n) => pidsWithMarker(`${TOKEN}${n}`));
      return pids.every((p) => p.length === 1) ? pids.map((p) => p[0]!) : null;
    },
    {
      what: `sleep ${ns.map(marked).join(', ')} to exec`,
      detail: () => ns.map((n) => `${n}: ${pidsWithMarker(`${TOKEN}${n}`).join(',') || 'none'}`).join('; '),
    },
  );
}

/** Number of orphans ts-reaper logged as reaped (by its wait thread). */
const reapedOrphans = (out: string): number => (out.match(/reaped pid \d+ \(exited 0\)/g) ?? []).length;

/** The pid of the main child, from the verbose "started … as pid N" line. */
async function childPidOf(r: ReturnType<typeof start>): Promise<number> {
  await r.waitFor(/started \S+ as pid \d+/);
  return Number(/started \S+ as pid (\d+)/.exec(r.output())![1]);
}

describe('ts-reaper: exit status', () => {
  it.each([0, 1, 2, 127, 128, 255])('exits with the child exit code %i', async (code) => {
    const r = await run(['--', 'sh', '-c', `exit ${code}`]);
    expect(r.code).toBe(code);
    expect(r.stderr).toBe('');
  });

  it.each([
    ['TERM', 15],
    ['INT', 2],
    ['HUP', 1],
    ['USR1', 10],
    ['USR2', 12],
    ['KILL', 9],
  ])('exits with 128+n when the child dies of SIG%s', async (name, n) => {
    // The child kills itself: its dispositions are the defaults (posix_spawn SETSIGDEF).
    const r = await run(['--', 'sh', '-c', `kill -${name} $$; sleep 5`]);
    expect(r.code).toBe(128 + n);
  });

  it('passes stdin/stdout/stderr to the child (Node marks them close-on-exec)', async () => {
    const r = await run(['--', 'sh', '-c', 'echo out; echo err >&2']);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('remaps chosen exit codes to 0 (-e, TS_REAPER_REMAP_EXIT)', async () => {
    expect((await run(['-e', '3', '--', 'sh', '-c', 'exit 3'])).code).toBe(0);
    expect((await run(['-e', '3', '--', 'sh', '-c', 'exit 4'])).code).toBe(4);
    expect((await run(['-e', '143', '--', 'sh', '-c', 'kill -TERM $$'])).code).toBe(0);
    expect((await run(['--', 'sh', '-c', 'exit 5'], { env: { ...process.env, TS_REAPER_REMAP_EXIT: '5' } })).code).toBe(0);
  });

  it('reports a missing command with 127 and one line', async () => {
    const r = await run(['--', '/nonexistent/cmd']);
    expect(r.code).toBe(127);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('not found');
  });

  it('reports a non-executable command with 126', async () => {
    const r = await run(['--', '/etc/hostname']);
    expect(r.code).toBe(126);
  });
});

describe('ts-reaper: bad options', () => {
  it.each([
    [['--bogus', 'true']],
    [[]],
    [['-r', 'FOO:BAR', 'true']],
    [['-r', '40:15', 'true']],
    [['-r', 'TERM:32', 'true']],
    [['-e', '999', 'true']],
    [['--shutdown', 'maybe', 'true']],
    [['--grace-ms', 'x', 'true']],
  ])('%j → exit 2 with one line on stderr, no stack', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ts-reaper: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad environment variable is also a usage error', async () => {
    const r = await run(['true'], { env: { ...process.env, TS_REAPER_SHUTDOWN: 'later' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/TS_REAPER_SHUTDOWN/);
  });

  it('--version and -V print `ts-reaper <package.json version>` and exit 0, through the launcher too', async () => {
    const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const launcher of [false, true])
      for (const flag of ['--version', '-V']) {
        const r = await run([flag], { launcher });
        expect(r).toMatchObject({ code: 0, stdout: `ts-reaper ${version}\n`, stderr: '' });
      }
  });

  it('--help prints usage and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: ts-reaper');
    expect(r.stdout).toContain('TS_REAPER_VERBOSE');
  });
});

describe('ts-reaper: signals', () => {
  it.each([
    ['SIGTERM', 15],
    ['SIGINT', 2],
    ['SIGHUP', 1],
    ['SIGUSR1', 10],
    ['SIGUSR2', 12],
    ['SIGQUIT', 3],
    ['SIGWINCH', 0],
  ] as const)('forwards %s to the child', async (sig, n) => {
    const r = start(['-v', '--', 'sh', '-c', `trap 'echo got-${sig}; exit 7' ${sig.slice(3)}; echo ready; while :; do sleep 0.05; done`]);
    await r.waitFor(READY);
    r.proc.kill(sig);
    await r.waitFor(`got-${sig}`);
    const res = await r.done;
    expect(res.code).toBe(7);
    expect(n).toBeGreaterThanOrEqual(0);
    // SIGUSR1 must not have started Node's inspector in ts-reaper.
    expect(res.stderr).not.toContain('Debugger listening');
  });

  it('catches SIGTTIN/SIGTTOU and drops them (as tini ignores them), unless rewritten', async () => {
    // SIGUSR1, forwarded after both drops, is the barrier: a SIGTTOU/SIGTTIN forwarded earlier
    // would reach the shell before it, and the shell runs every pending trap before it tests
    // the loop condition again, so its got-TT line would come before the exit.
    const r = start([
      '-v',
      '--',
      'sh',
      '-c',
      `trap 'echo got-TTOU' TTOU; trap 'echo got-TTIN' TTIN; trap 'echo got-USR1; stop=1' USR1; echo ready; while [ -z "$stop" ]; do sleep 0.05; done; exit 4`,
    ]);
    await r.waitFor(READY);
    r.proc.kill('SIGTTOU');
    r.proc.kill('SIGTTIN');
    await r.waitFor(/dropped SIGTTIN \(terminal job control\)/);
    await r.waitFor(/dropped SIGTTOU \(terminal job control\)/);
    r.proc.kill('SIGUSR1');
    expect((await r.done).code).toBe(4);
    expect(r.output()).toContain('got-USR1');
    expect(r.output()).not.toMatch(/got-TT(OU|IN)/);

    const w = start([
      '-v',
      '-r',
      'TTOU:USR1',
      '--',
      'sh',
      '-c',
      `trap 'echo got-USR1; exit 4' USR1; echo ready; while :; do sleep 0.05; done`,
    ]);
    await w.waitFor(READY);
    w.proc.kill('SIGTTOU');
    expect((await w.done).code).toBe(4);
    expect(w.output()).toContain('forwarded SIGTTOU as SIGUSR1');
  });

  it('forwards SIGTERM to a plain child: exit 143', async () => {
    const r = start(['-v', '--', 'sleep', marked(1)]);
    await childPidOf(r);
    r.proc.kill('SIGTERM');
    expect((await r.done).code).toBe(143);
  });

  it('exits 137 when the child is killed by SIGKILL from outside', async () => {
    const r = start(['-v', '--', 'sleep', marked(2)]);
    const pid = await childPidOf(r);
    process.kill(pid, 'SIGKILL');
    expect((await r.done).code).toBe(137);
  });

  it('rewrites a signal (-r TERM:USR1) before forwarding', async () => {
    const r = start([
      '-r',
      'TERM:USR1',
      '--',
      'sh',
      '-c',
      `trap 'exit 11' USR1; trap 'exit 12' TERM; echo ready; while :; do sleep 0.05; done`,
    ]);
    await r.waitFor(READY);
    r.proc.kill('SIGTERM');
    expect((await r.done).code).toBe(11);
  });

  it('drops a signal rewritten to 0 (-r TERM:0), still forwards others', async () => {
    const r = start(['-v', '-r', 'TERM:0', '--', 'sleep', marked(3)]);
    const child = await childPidOf(r);
    r.proc.kill('SIGTERM');
    await r.waitFor('dropped SIGTERM');
    // The drop is decided and logged in one synchronous handler: had SIGTERM been sent on, it
    // would be pending in the child (or have killed it) by now.
    expect(signalledOrGone(child)).toBeNull();
    expect(r.proc.exitCode).toBeNull();
    r.proc.kill('SIGINT');
    // The kernel records the first fatal signal as the exit status when it is sent: 130, not 143.
    expect((await r.done).code).toBe(130);
  });

  it('rewrites from TS_REAPER_REWRITE', async () => {
    const r = start(['--', 'sh', '-c', `trap 'exit 21' HUP; echo ready; while :; do sleep 0.05; done`], {
      env: { ...process.env, TS_REAPER_REWRITE: 'INT:HUP' },
    });
    await r.waitFor(READY);
    r.proc.kill('SIGINT');
    expect((await r.done).code).toBe(21);
  });

  it('with -g signals the whole process group of the child', async () => {
    const r = start(['-v', '-g', '--', 'sh', '-c', `sleep ${marked(4)} & sleep ${marked(5)} & echo ready; wait`]);
    await r.waitFor(READY);
    const pid = await childPidOf(r);
    const sleeps = await execed(4, 5); // in the child's group
    r.proc.kill('SIGTERM');
    const res = await r.done;
    expect(res.code).toBe(143);
    // Both background sleeps were in the group and got SIGTERM too: they die (or they would
    // sleep 1000 s, past the deadline).
    await waitFor(() => pidsWithMarker(`${TOKEN}4`).length + pidsWithMarker(`${TOKEN}5`).length === 0, {
      what: 'the background sleeps of the group to die of SIGTERM',
      detail: () => sleeps.map((p) => `${p}: ${signalledOrGone(p) ?? 'alive, no signal pending'}`).join('; '),
    });
    expect(pid).toBeGreaterThan(0);
  });

  it('without -g only the child gets the signal (its background jobs survive)', async () => {
    const r = start(['--', 'sh', '-c', `sleep ${marked(6)} >/dev/null 2>&1 & echo ready; wait`]);
    await r.waitFor(READY);
    const [job] = await execed(6);
    r.proc.kill('SIGTERM');
    expect((await r.done).code).toBe(143);
    // ts-reaper has exited, so whatever it sent has arrived: the job is alive, nothing pending.
    expect(signalledOrGone(job!)).toBeNull();
    killMarked();
  });
});

// On a terminal (process groups, Ctrl-C, the foreground): reaper.terminal.test.ts.

describe('ts-reaper: reaping as a subreaper', () => {
  it('registers as a subreaper: orphans of the command are re-parented to ts-reaper', async () => {
    // The orphan's parent exits; the kernel re-parents the orphan before the parent becomes a
    // zombie, so once the outer shell has reaped it (`parent-gone`) the new parent is final.
    const r = start([
      '--',
      'sh',
      '-c',
      `sh -c 'sleep ${marked(7)} >/dev/null 2>&1 & echo orphan=$!'; echo parent-gone; exec sleep ${marked(8)}`,
    ]);
    await r.waitFor('parent-gone');
    const orphan = Number(/orphan=(\d+)/.exec(r.output())![1]);
    expect(readStat(orphan)?.ppid).toBe(r.proc.pid);
    r.proc.kill('SIGTERM');
    await r.done;
    killMarked();
  });

  it('warns in one line when it is neither PID 1 nor a subreaper (--no-subreaper)', async () => {
    const r = await run(['--no-subreaper', '--', 'true']);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/warning: not PID 1 and not a subreaper/);
    // The verbose log says what ts-reaper is, as the kernel reports it, not what it usually is.
    const v = await run(['-v', '--', 'true'], { env: { ...process.env, TS_REAPER_SUBREAPER: '0' } });
    expect(v.stderr).toMatch(/started true as pid \d+ .* as neither PID 1 nor a subreaper/);
    expect((await run(['-v', '--', 'true'])).stderr).toMatch(/started true as pid \d+ .* as subreaper/);
  });

  it('prints nothing on stderr by default when it can be a subreaper', async () => {
    expect((await run(['--', 'true'])).stderr).toBe('');
  });

  it('reaps 150 orphans and leaves no zombie behind', async () => {
    const script = `i=0; while [ $i -lt 150 ]; do sh -c 'sleep 0.2 &'; i=$((i+1)); done; echo made; exec sleep ${marked(19)}`;
    const r = start(['-v', '--', 'sh', '-c', script]);
    await r.waitFor('made');
    // Each reap is logged; an init that leaves zombies never logs all 150.
    await waitFor(() => reapedOrphans(r.output()) >= 150, {
      what: '150 orphans to be reaped',
      detail: () => `${reapedOrphans(r.output())} reaped`,
    });
    expect(zombieChildrenOf(r.proc.pid!)).toEqual([]);
    r.proc.kill('SIGTERM');
    expect((await r.done).code).toBe(143);
  });

  it('logs each reap with status and zombie time in verbose mode', async () => {
    // The orphans are made once the wait thread has said how it runs (it then reaps).
    const w = start(['-v', '--', 'sh', '-c', `read go; sh -c 'sleep 0.1 &'; sh -c 'sleep 0.1 &'; read go; exit 9`], { stdin: true });
    await w.waitFor(/wait thread \d+: nice/);
    w.send('go');
    await waitFor(() => reapedOrphans(w.output()) >= 2, { what: 'both orphans to be reaped', detail: w.output });
    w.send('go');
    const r = await w.done;
    expect(r.code).toBe(9);
    expect(r.stderr).toMatch(/reaped pid \d+ \(exited 0\), zombie \d+\.\d us seen-to-reaped/);
    expect(r.stderr).toMatch(/reaped main child \d+ \(exited 9\)/);
    expect(r.stderr).toMatch(/exiting with 9 after reaping \d+ processes/);
  });

  it('keeps its own child status under an orphan storm (30 runs)', async () => {
    // 200 orphans that all exit at about the moment the main child exits with 37.
    const script = `i=0; while [ $i -lt 200 ]; do sh -c 'sleep 0.3 &' & i=$((i+1)); done; sleep 0.3; exit 37`;
    for (let run_ = 0; run_ < 30; run_++) {
      const r = await run(['--', 'sh', '-c', script]);
      expect(r.code, `run ${run_}: ${r.stderr}`).toBe(37);
    }
  }, 1_200_000); // a deadline: ~1 s a run when idle, ~4 s on the loaded 2-core machine (10× 120 s)

  it('starts the child only once the wait thread has booted, and logs when (verbose log)', async () => {
    // How soon is a figure for `npm run bench:startup`, not a test bound; the order is the design.
    const r = start(['-v', '--', 'sleep', marked(9)]);
    await r.waitFor(/started sleep as pid/);
    const m = /started sleep as pid \d+ ([\d.]+) ms after process start \(([\d.]+) ms after Node was ready\)/.exec(r.output());
    expect(m, r.output()).not.toBeNull();
    const [sinceStart, sinceReady] = [Number(m![1]), Number(m![2])];
    expect(sinceReady).toBeGreaterThanOrEqual(0);
    expect(sinceReady).toBeLessThanOrEqual(sinceStart);
    const booted = Number(/wait thread booted ([\d.]+) ms after process start/.exec(r.output())![1]);
    expect(booted).toBeLessThanOrEqual(sinceStart);
    r.proc.kill('SIGTERM');
    expect((await r.done).code).toBe(143);
  });
});

describe('ts-reaper: wait thread', () => {
  it("reaps the orphans of the child's first milliseconds with the wait thread, already waiting", async () => {
    // 20 orphans exit within milliseconds of the child's start. Once all 20 are logged as reaped
    // (each line is the wait thread's: it alone reaps), the child looks for zombies left with
    // ts-reaper. The log says the thread booted before the child started.
    const script = `for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do sh -c 'true &'; done; read go; grep -l '^State:.Z' /proc/[0-9]*/status 2>/dev/null | while read f; do d=\${f%/status}; grep -q "^PPid:.$PPID\$" $d/status && echo zombie; done; exit 7`;
    for (let n = 0; n < 3; n++) {
      const w = start(['-v', '--', 'sh', '-c', script], { stdin: true });
      await waitFor(() => reapedOrphans(w.output()) >= 20, { what: '20 orphans to be reaped', detail: w.output });
      w.send('go');
      const r = await w.done;
      expect(r.code, r.stderr).toBe(7);
      expect(r.stdout).not.toContain('zombie');
      expect(r.stderr.indexOf('wait thread booted')).toBeGreaterThanOrEqual(0);
      expect(r.stderr.indexOf('wait thread booted')).toBeLessThan(r.stderr.indexOf('started sh as pid'));
    }
  });

  it('starts no libuv pool thread, whatever UV_THREADPOOL_SIZE says (fewer tasks in the pids budget), and leaves the child env as it was', async () => {
    const tasksWith = async (env: NodeJS.ProcessEnv): Promise<{ tasks: number; childSaw: string }> => {
      const r = start(['-v', '--', 'sh', '-c', `echo "uv=\${UV_THREADPOOL_SIZE-unset}"; exec sleep ${marked(30)}`], { env });
      await r.waitFor(/wait thread \d+: nice/);
      await r.waitFor(/uv=\S+/);
      const tasks = readdirSync(`/proc/${r.proc.pid}/task`).length;
      const childSaw = /uv=(\S+)/.exec(r.output())![1]!;
      r.proc.kill('SIGTERM');
      await r.done;
      return { tasks, childSaw };
    };
    const base = { ...process.env };
    delete base.UV_THREADPOOL_SIZE;
    const small = await tasksWith(base);
    const four = await tasksWith({ ...base, UV_THREADPOOL_SIZE: '4' });
    expect(small.childSaw).toBe('unset');
    expect(four.childSaw).toBe('4');
    // A pool, once started, has UV_THREADPOOL_SIZE threads (ts-reaper asks for 1 unless told):
    // the same count with 4 means that none started.
    expect(four.tasks).toBe(small.tasks);
  });

  it('--wait-nice sets the nice value of the wait thread only', async () => {
    const r = start(['-v', '--wait-nice', '7', '--', 'sleep', marked(20)]);
    await childPidOf(r);
    // The wait thread logs its nice value as read back after setting it.
    await r.waitFor(/wait thread \d+: nice 7,/);
    const nices = readdirSync(`/proc/${r.proc.pid}/task`).map((tid) => readStat(Number(tid))!.nice);
    expect(nices.filter((n) => n === 7)).toHaveLength(1);
    expect(nices.filter((n) => n === 0).length).toBeGreaterThan(1);
    r.proc.kill('SIGTERM');
    expect((await r.done).code).toBe(143);
  });
  // The slice is per thread and shows in /proc/<pid>/task/<tid>/sched as se.slice (ns).
  const slicesOf = (pid: number): number[] =>
    readdirSync(`/proc/${pid}/task`).map((tid) => {
      const m = /se\.slice\s+:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/task/${tid}/sched`, 'latin1'));
      return m ? Number(m[1]) : NaN;
    });
  // Linux ≥ 6.12 reports (and honours) a slice for ordinary threads; older kernels report 0.
  const sliceSupported = ((): boolean => {
    try {
      return getThreadSlice(0).ns > 0 && /se\.slice/.test(readFileSync('/proc/self/sched', 'latin1'));
    } catch {
      return false;
    }
  })();

  it.skipIf(!sliceSupported)('gives the wait thread alone a 100 µs EEVDF slice by default, and what --wait-slice-us asks', async () => {
    for (const [args, want] of [
      [[], 100_000],
      [['--wait-slice-us', '500'], 500_000],
    ] as const) {
      const r = start(['-v', ...args, '--', 'sleep', marked(20)]);
      await childPidOf(r);
      // The wait thread logs its slice as read back from the kernel after setting it.
      await r.waitFor(`time slice ${want / 1000} us`);
      const slices = slicesOf(r.proc.pid!);
      expect(
        slices.filter((n) => n === want),
        `slices ${slices.join(',')}`,
      ).toHaveLength(1);
      expect(slices.filter((n) => n !== want).length).toBeGreaterThan(1);
      r.proc.kill('SIGTERM');
      expect((await r.done).code).toBe(143);
    }
  });

  it.skipIf(!sliceSupported)('--wait-slice-us 0 leaves every thread at the kernel default', async () => {
    const r = start(['-v', '--wait-slice-us', '0', '--', 'sleep', marked(20)]);
    await childPidOf(r);
    await r.waitFor(/wait thread \d+: nice/);
    const slices = slicesOf(r.proc.pid!);
    expect(new Set(slices).size, `slices ${slices.join(',')}`).toBe(1);
    expect(slices[0]).not.toBe(100_000);
    r.proc.kill('SIGTERM');
    expect((await r.done).code).toBe(143);
  });
});

describe('ts-reaper: shutdown of leftovers', () => {
  // The child starts its background processes, then waits on stdin (`read go`) until the test
  // has seen each of them exec (and so hold its SIGTERM disposition), then exits: the shutdown
  // finds exactly the processes the test names. Their output goes to /dev/null, so that the
  // ones left running do not hold ts-reaper's pipes.
  const bg = (n: number): string => `sleep ${marked(n)} >/dev/null 2>&1 &`;
  /** A sleeper that ignores SIGTERM (it needs SIGKILL): the ignored disposition survives exec. */
  const stubborn = (n: number): string => `(trap '' TERM; exec sleep ${marked(n)} >/dev/null 2>&1) &`;
  const runOnce = async (args: string[], jobs: string, marks: number[], code: number): Promise<RunResult> => {
    const r = start([...args, '--', 'sh', '-c', `${jobs} read go; exit ${code}`], { stdin: true });
    await execed(...marks);
    r.send('go');
    return r.done;
  };

  it('--shutdown none (default) leaves descendants running, like tini', async () => {
    const r = await runOnce([], `${bg(10)} ${stubborn(11)}`, [10, 11], 5);
    expect(r.code).toBe(5);
    // ts-reaper has exited, so whatever it sent has arrived: the sleeper is alive, nothing pending.
    const [left] = pidsWithMarker(`${TOKEN}10`);
    expect(left).toBeDefined();
    expect(signalledOrGone(left!)).toBeNull();
    killMarked();
  });

  it('--shutdown all: SIGTERM, grace, SIGKILL, reap everything, exit with the child status', async () => {
    const r = await runOnce(['-v', '--shutdown', 'all', '--grace-ms', '300'], `${bg(12)} ${stubborn(13)}`, [12, 13], 5);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain('shutdown: sent SIGTERM to all descendants');
    expect(r.stderr).toContain('SIGKILL');
    expect(r.stderr).toMatch(/shutdown: done/);
    expect(pidsWithMarker(`${TOKEN}12`)).toEqual([]);
    expect(pidsWithMarker(`${TOKEN}13`)).toEqual([]);
  });

  it('--shutdown all without stubborn processes needs no SIGKILL', async () => {
    const r = await runOnce(['-v', '--shutdown', 'all', '--grace-ms', '10000'], bg(14), [14], 6);
    expect(r.code).toBe(6);
    expect(r.stderr).not.toContain('SIGKILL');
    expect(pidsWithMarker(`${TOKEN}14`)).toEqual([]);
  });

  it('--shutdown group: kills the process group, leaves other descendants alone', async () => {
    // setsid moves one sleeper out of the group: it must survive.
    const jobs = `${bg(15)} ${stubborn(16)} setsid sleep ${marked(17)} >/dev/null 2>&1 &`;
    const r = await runOnce(['-v', '--shutdown', 'group', '--grace-ms', '300'], jobs, [15, 16, 17], 8);
    expect(r.code).toBe(8);
    expect(r.stderr).toContain('process group');
    expect(pidsWithMarker(`${TOKEN}15`)).toEqual([]);
    expect(pidsWithMarker(`${TOKEN}16`)).toEqual([]);
    const [outside] = pidsWithMarker(`${TOKEN}17`);
    expect(outside).toBeDefined();
    expect(signalledOrGone(outside!)).toBeNull();
    killMarked();
  });

  it('after a shutdown, nothing it adopted is left as a zombie or alive', async () => {
    const r = start([
      '-v',
      '--shutdown',
      'all',
      '--grace-ms',
      '200',
      '--',
      'sh',
      '-c',
      `i=0; while [ $i -lt 50 ]; do sh -c 'sleep ${marked(18)} &'; i=$((i+1)); done; exit 0`,
    ]);
    const res = await r.done;
    expect(res.code).toBe(0);
    expect(pidsWithMarker(`${TOKEN}18`)).toEqual([]);
    expect(stateOf(r.proc.pid!)).toBeNull();
  });
});
