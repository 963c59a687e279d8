// ts-reaper as PID 1 of a real PID namespace (`unshare --pid --fork --mount-proc`), the way it
// runs in a container. Container tests (docker stop → 143) live with the runtime tests.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { childrenOf, namespaceInitPid, zombieChildrenOf } from '../support/proc.js';
import { CAN_UNSHARE, run, start, type Running } from '../support/reaper.js';
import { waitFor } from '../support/wait.js';

/** Host pid of the namespace's PID 1 (the child of `unshare`). */
function initPid(r: Running): Promise<number> {
  return waitFor(() => namespaceInitPid(r.proc.pid!), { what: 'unshare to fork the PID 1 of the namespace' });
}

/** Number of orphans ts-reaper logged as reaped (by its wait thread). */
const reapedOrphans = (out: string): number => (out.match(/reaped pid \d+ \(exited 0\)/g) ?? []).length;

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
    // ts-reaper listens to signals before it spawns (main.ts): once it has a child, signal PID 1
    // from outside, as `docker stop` does. Before, Node as PID 1 would lose the signal.
    await waitFor(() => childrenOf(pid).length > 0, { what: 'ts-reaper (PID 1) to spawn its child' });
    const t0 = performance.now();
    process.kill(pid, sig);
    const res = await r.done;
    expect(res.code).toBe(code);
    // An answer from none: 17–130 ms here (idle to 2 loaded cores); an ignored signal never ends.
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('reaps 150 orphans as PID 1 with no zombie left', async () => {
    const script = `i=0; while [ $i -lt 150 ]; do sh -c 'sleep 0.2 &'; i=$((i+1)); done; echo made; exec sleep 1000`;
    const r = start(['-v', '--', 'sh', '-c', script], { pid1: true });
    const pid = await initPid(r);
    await r.waitFor('made');
    // Each reap is logged; an init that leaves zombies never logs all 150.
    await waitFor(() => reapedOrphans(r.output()) >= 150, {
      what: '150 orphans to be reaped',
      detail: () => `${reapedOrphans(r.output())} reaped`,
    });
    expect(zombieChildrenOf(pid)).toEqual([]);
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

  // The background processes say when their SIGTERM disposition is set (`trapped`, `ignoring`);
  // the child waits on stdin (`read go`) until the test has seen it, then exits.
  const GRACEFUL = `(trap 'echo graceful > ${marker}; exit 0' TERM; echo trapped; while :; do sleep 0.05; done) &`;

  it('--shutdown all as PID 1: SIGTERM to every process (kill -1) lets them exit gracefully', async () => {
    rmSync(marker, { force: true });
    // One process exits cleanly on SIGTERM (writes the marker file), one ignores it. The grace
    // must outlast the graceful exit: without the stubborn one, the shutdown was done 50–550 ms
    // after the SIGTERM here (idle to 2 loaded cores), so 6 s; the stubborn one makes the test
    // wait for all of it.
    const script = `${GRACEFUL} (trap '' TERM; echo ignoring; exec sleep 1000) & read go; exit 4`;
    const w = start(['-v', '--shutdown', 'all', '--grace-ms', '6000', '--', 'sh', '-c', script], { pid1: true, stdin: true });
    await w.waitFor('trapped');
    await w.waitFor('ignoring');
    w.send('go');
    const r = await w.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('sent SIGTERM to all processes (kill -1)');
    expect(r.stderr).toContain('SIGKILL');
    expect(r.stderr).toMatch(/shutdown: done/);
    expect(existsSync(marker) && readFileSync(marker, 'utf8').trim()).toBe('graceful');
  });

  it('without --shutdown, PID 1 exits at once and the kernel kills the rest (no graceful exit)', async () => {
    rmSync(marker, { force: true });
    const w = start(['--', 'sh', '-c', `${GRACEFUL} read go; exit 4`], { pid1: true, stdin: true });
    await w.waitFor('trapped');
    w.send('go');
    const r = await w.done;
    expect(r.code).toBe(4);
    // No waiting afterwards: when a namespace's PID 1 exits, the kernel SIGKILLs every process
    // left in it and the exit completes only once they are all gone, so nothing in it can
    // write the marker after unshare has seen PID 1 exit.
    expect(existsSync(marker)).toBe(false);
  });
});
