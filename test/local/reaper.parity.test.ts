// What tini and dumb-init do that users rely on, kept as ts-reaper's own tests (written here
// from the behaviour, no peer code): every exit code passes through, every signal that kills
// gives 128+n, every signal ts-reaper catches reaches the command, and -s works when not PID 1.
// The rest of the peers' behaviour is tested next door: -g, -r rewrite/drop and the subreaper's
// orphans in reaper.test.ts, the terminal in reaper.terminal.test.ts, PID 1 in reaper.pid1.test.ts.
// Many short runs: they go a few at a time (the machine has 2 shared cores), each a cheap `sh`.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { FORWARDED_SIGNALS, JOB_CONTROL_DROPPED, signalNumber } from '../../src/reaper/signals.js';
import { BUNDLE, READY, run, start } from '../support/reaper.js';

beforeAll(() => {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} missing: run npm run build first`);
});

/** Runs at a time: enough to overlap Node's boot with the next, few enough for 2 cores. */
const PARALLEL = 4;

/** `f` over `items`, {@link PARALLEL} at a time; results in `items`' order. */
async function pooled<T, R>(items: readonly T[], f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return out;
}

/**
 * Signals 1–64 whose default action ends the process (signal(7): Term or Core), without glibc's
 * own 32 and 33 (every glibc program, the shell included, installs handlers for them: they never
 * kill it).
 */
const KILLING: number[] = (() => {
  const notKilling = new Set(['SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGWINCH'].map(signalNumber));
  const out: number[] = [];
  for (let n = 1; n <= 64; n++) if (!notKilling.has(n) && n !== 32 && n !== 33) out.push(n);
  return out;
})();

describe('ts-reaper behaves as tini and dumb-init on exit statuses', () => {
  it('passes every exit code 0–255 through', async () => {
    const codes = Array.from({ length: 256 }, (_, i) => i);
    const got = await pooled(codes, async (code) => (await run(['--', 'sh', '-c', `exit ${code}`])).code);
    // Compared as a whole, so that a failure lists every code that went wrong.
    expect(got).toEqual(codes);
  }, 300_000); // a deadline for 256 runs on a loaded machine, not a goal (~15 s idle here)

  it('exits 128+n for every signal n that kills the command (1–64, but 32 and 33)', async () => {
    expect(KILLING).toHaveLength(23 + 31); // 1–31 without the 8 that stop or are ignored; 34–64
    // The command kills itself (its dispositions are the defaults); `ulimit -c 0`: the core
    // signals must not write core files in the test's directory. 99: it was not killed.
    const got = await pooled(KILLING, async (n) => (await run(['--', 'sh', '-c', `ulimit -c 0; kill -${n} $$; exit 99`])).code);
    expect(got).toEqual(KILLING.map((n) => 128 + n));
  }, 120_000);
});

describe('ts-reaper forwards every signal it can catch', () => {
  it('the command gets each of them, in one run (SIGTTIN and SIGTTOU are dropped: reaper.test.ts)', async () => {
    const dropped = new Set(JOB_CONTROL_DROPPED.map(signalNumber));
    const sent = FORWARDED_SIGNALS.map(signalNumber).filter((n) => !dropped.has(n));
    // Everything Node lets a process listen to but the few it reserves (signals.ts).
    expect(sent.length).toBeGreaterThanOrEqual(20); // 22 on Linux: 31 less the 7 it cannot forward, less TTIN and TTOU
    const traps = sent.map((n) => `trap 'echo got-${n}' ${n};`).join(' ');
    const r = start(['-v', '--', 'sh', '-c', `${traps} echo ready; while :; do sleep 0.05; done`]);
    await r.waitFor(READY);
    for (const n of sent) {
      r.proc.kill(n);
      // One at a time: the kernel keeps one pending instance of each signal, so the next waits
      // for this one's trap.
      await r.waitFor(new RegExp(`^got-${n}$`, 'm'));
    }
    const child = Number(/started sh as pid (\d+)/.exec(r.output())![1]);
    process.kill(child, 'SIGKILL');
    const res = await r.done;
    expect(res.code).toBe(137);
    const names = Object.entries(constants.signals as Record<string, number>);
    for (const n of sent)
      expect(res.stderr).toContain(`forwarded ${names.find(([name, v]) => v === n && name !== 'SIGIOT' && name !== 'SIGPOLL')![0]}`);
  }, 120_000);
});

describe('ts-reaper -s when not PID 1', () => {
  it('registers as a subreaper and runs the command (tini -s)', async () => {
    const r = await run(['-s', '-v', '--', 'sh', '-c', 'exit 6']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/started sh as pid \d+ .* as subreaper/);
    expect(r.stderr).not.toContain('warning');
  });
});
