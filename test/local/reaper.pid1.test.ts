// ts-reaper as PID 1 of a real PID namespace (`unshare --pid --fork --mount-proc`), the way it
// runs in a container. Container tests (docker stop → 143) live with the runtime tests.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { CAN_UNSHARE, run, sleep, start, zombieChildrenOf, type Running } from '../support/reaper.js';

/** Host pid of the namespace's PID 1 (the child of `unshare`). */
async function initPid(r: Running): Promise<number> {
  for (let i = 0; i < 200; i++) {
    try {
      const kids = readFileSync(`/proc/${r.proc.pid}/task/${r.proc.pid}/children`, 'latin1').trim();
      if (kids !== '') return Number(kids.split(/\s+/)[0]);
    } catch {
      // not yet
    }
    await sleep(25);
  }
  throw new Error('PID 1 of the namespace not found');
}

const marker = `/tmp/ts-reaper-pid1-${process.pid}`;
afterAll(() => rmSync(marker, { force: true }));

describe.skipIf(!CAN_UNSHARE)('ts-reaper as PID 1 (unshare --pid)', () => {
  it('knows it is PID 1, prints no subreaper warning, passes the exit code', async () => {
    const r = await run(['-v', '--', 'sh', '-c', 'echo mypid=$$; exit 3'], { pid1: true });
    expect(r.code).toBe(3);
    // Node's own threads (V8 platform, libuv pool, the wait thread) take the pids after 1.
    expect(Number(/mypid=(\d+)/.exec(r.stdout)![1])).toBeGreaterThan(1);
    expect(r.stderr).toContain('as PID 1');
    expect(r.stderr).not.toContain('warning');
  });

  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
    ['SIGHUP', 129],
  ] as const)('answers %s (Node ignores it as PID 1 without a listener): exit %i, fast', async (sig, code) => {
    const r = start(['--', 'sleep', '1000'], { pid1: true });
    const pid = await initPid(r);
    // Wait until the child runs, then signal PID 1 from outside, as `docker stop` does.
    for (let i = 0; i < 200 && !readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim(); i++) await sleep(25);
    const t0 = performance.now();
    process.kill(pid, sig);
    const res = await r.done;
    expect(res.code).toBe(code);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('reaps 150 orphans as PID 1 with no zombie left', async () => {
    const script = `i=0; while [ $i -lt 150 ]; do sh -c 'sleep 0.2 &'; i=$((i+1)); done; sleep 1.5; echo checkpoint; sleep 30`;
    const r = start(['-v', '--', 'sh', '-c', script], { pid1: true });
    const pid = await initPid(r);
    await r.waitFor('checkpoint', 60_000);
    expect(zombieChildrenOf(pid)).toEqual([]);
    expect((r.output().match(/reaped pid \d+ \(exited 0\)/g) ?? []).length).toBeGreaterThanOrEqual(150);
    process.kill(pid, 'SIGTERM');
    expect((await r.done).code).toBe(143);
  });

  it('keeps its own child status under an orphan storm as PID 1 (10 runs)', async () => {
    const script = `i=0; while [ $i -lt 200 ]; do sh -c 'sleep 0.3 &' & i=$((i+1)); done; sleep 0.3; exit 37`;
    for (let n = 0; n < 10; n++) {
      const r = await run(['--', 'sh', '-c', script], { pid1: true });
      expect(r.code, `run ${n}: ${r.stderr}`).toBe(37);
    }
  }, 300_000);

  it('--shutdown all as PID 1: SIGTERM to every process (kill -1) lets them exit gracefully', async () => {
    rmSync(marker, { force: true });
    // One process exits cleanly on SIGTERM (writes the marker file), one ignores it.
    const script = `(trap 'echo graceful > ${marker}; exit 0' TERM; while :; do sleep 0.05; done) & (trap '' TERM; exec sleep 1000) & sleep 0.3; exit 4`;
    const r = await run(['-v', '--shutdown', 'all', '--grace-ms', '500', '--', 'sh', '-c', script], { pid1: true });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('sent SIGTERM to all processes (kill -1)');
    expect(r.stderr).toContain('SIGKILL');
    expect(r.stderr).toMatch(/shutdown: done/);
    expect(existsSync(marker) && readFileSync(marker, 'utf8').trim()).toBe('graceful');
  });

  it('without --shutdown, PID 1 exits at once and the kernel kills the rest (no graceful exit)', async () => {
    rmSync(marker, { force: true });
    const script = `(trap 'echo graceful > ${marker}; exit 0' TERM; while :; do sleep 0.05; done) & sleep 0.3; exit 4`;
    const r = await run(['--', 'sh', '-c', script], { pid1: true });
    expect(r.code).toBe(4);
    await sleep(200);
    expect(existsSync(marker)).toBe(false);
  });
});
