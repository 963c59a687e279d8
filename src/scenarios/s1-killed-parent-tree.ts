/**
 * S1 killed-parent-tree: a long-running app (PID 1 with no init) repeatedly starts a helper B;
 * B starts 2 workers, each of which starts 1 grandchild, all four blocking on a pipe that only B
 * holds open for writing. The app sends SIGTERM to B and waits for B alone. The four see end of
 * file, exit about 0.5 s later, and — their parents gone — are adopted by PID 1.
 *
 * Reproduction: B is a busybox shell that makes a FIFO, opens it read-write (fd 3, the writer it
 * keeps) and read-only (fd 4); workers and grandchildren are subshells that close fd 3 and block
 * in the `read` builtin on fd 4. When B dies the last writer is gone and every `read` returns.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InitName } from '../model/inits.js';
import { baseVariant, expectReapingAsPid1, judgeReaping, plainPlan, type ScenarioDef } from './def.js';
import { bg, nap, rec, WorkloadContext } from './inside.js';
import type { ScenarioParams } from './types.js';

const NAME = 'killed-parent-tree';

/** The helper B (see module doc). Prints `ready` once both workers are forked. */
function helperScript(p: ScenarioParams): string {
  const grandchild = bg('grandchild', `read x <&4; ${nap('grandchild', p.grandchild_ms!)}; ${rec('grandchild')}`, '>/dev/null');
  const worker = `${grandchild}; read x <&4; ${nap('worker', p.worker_ms!)}; ${rec('worker')}`;
  return [
    'f=/tmp/rb/fifo.$$',
    'mkfifo "$f" || { echo "rb-forkfail level=helper" >&2; exit 3; }',
    'exec 3<>"$f" 4<"$f"',
    'rm -f "$f" || echo "rb-forkfail level=helper" >&2',
    bg('worker', worker, '3>&- >/dev/null'),
    bg('worker', worker, '3>&- >/dev/null'),
    'echo ready',
    'read x <&3',
  ].join('\n');
}

async function workload(p: ScenarioParams): Promise<void> {
  const ctx = new WorkloadContext(NAME, p);
  ctx.startSampling(p.sample_ms!);
  const script = helperScript(p);
  let done = 0;
  for (let k = 1; k <= p.cycles!; k++) {
    const { child, exited } = ctx.shell(script, 'helper', 'pipe');
    const ready = new Promise<void>((resolve) => {
      let buf = '';
      child.stdout?.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('ready')) resolve();
      });
      void exited.then(() => resolve());
      setTimeout(resolve, 3_000);
    });
    await ready;
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(3_000)]);
    child.stdout?.destroy();
    done = k;
    await sleep(p.interval_ms!);
    ctx.cycleDone(k);
  }
  await sleep(p.settle_ms!);
  ctx.finish(done);
}

/** S1 killed-parent-tree: its workload, variants, expectation per init and judge (see the module comment). */
export const s1: ScenarioDef = {
  id: 'S1',
  name: NAME,
  title: 'app kills helper B; its workers and grandchildren are orphaned',
  defaults: { cycles: 8, interval_ms: 700, worker_ms: 400, grandchild_ms: 500, settle_ms: 1000, sample_ms: 100 },
  pidsLimit: 40,
  cases: [null],
  variants: baseVariant,
  command: (prefix, engineInit, params) => plainPlan(prefix, engineInit, NAME, params),
  expect: (init: InitName) => expectReapingAsPid1(init, '4 zombies per cycle, growing until forks fail'),
  judge: ({ obs }) => judgeReaping(obs, 'cycle'),
  timeoutMs: (p) => 30_000 + p.cycles! * (p.interval_ms! + 3_500),
  workload,
};
