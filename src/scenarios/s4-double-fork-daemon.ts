/**
 * S4 double-fork-daemon: each request runs a tool that forks D; D calls `setsid()`, forks the
 * daemon E and exits at once; E lives ~2 s, then exits (the pattern of agent daemons such as key
 * agents). The tool reaps D; E, orphaned, is adopted by PID 1.
 *
 * Reproduction: the tool is a shell running `setsid sh d.sh` (busybox `setsid` calls setsid()
 * and execs, so D keeps its pid); `d.sh` forks E as a subshell and exits. The observer reports
 * E's session and process group (D's pid: E is in D's session but is not its leader).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InitName } from '../model/inits.js';
import { baseVariant, expectReapingAsPid1, judgeReaping, plainPlan, type ScenarioDef } from './def.js';
import { bg, nap, rec, WorkloadContext } from './inside.js';
import type { ScenarioParams } from './types.js';

const NAME = 'double-fork-daemon';

async function workload(p: ScenarioParams): Promise<void> {
  const ctx = new WorkloadContext(NAME, p);
  ctx.startSampling(p.sample_ms!);
  const d = ctx.script('d.sh', `${bg('daemon', `${nap('daemon', p.daemon_ms!)}; ${rec('daemon')}`, '>/dev/null')}\nexit 0\n`);
  const tool = `setsid sh ${d} || echo "rb-forkfail level=setsid" >&2; exit 0`;
  for (let k = 1; k <= p.requests!; k++) {
    await ctx.run(tool, 'tool');
    await sleep(p.interval_ms!);
    ctx.cycleDone(k);
  }
  await sleep(p.daemon_ms! + p.settle_ms!);
  ctx.finish(p.requests!);
}

/** S4 double-fork-daemon: its workload, variants, expectation per init and judge (see the module comment). */
export const s4: ScenarioDef = {
  id: 'S4',
  name: NAME,
  title: 'a tool double-forks a setsid daemon that exits after ~2 s',
  defaults: { requests: 5, interval_ms: 300, daemon_ms: 2000, settle_ms: 800, sample_ms: 100 },
  pidsLimit: 64,
  cases: [null],
  variants: baseVariant,
  command: (prefix, engineInit, params) => plainPlan(prefix, engineInit, NAME, params),
  expect: (init: InitName) => expectReapingAsPid1(init, 'one zombie per request'),
  judge: ({ obs }) => judgeReaping(obs, 'request'),
  timeoutMs: (p) => 30_000 + p.requests! * (p.interval_ms! + 1_000) + p.daemon_ms!,
  workload,
};
