/**
 * S2 tool-leaves-helper: PID 1 is an app that only waits for its own children. Repeatedly it
 * runs a short-lived tool that forks a helper (alive ~0.5 s) and exits with status 1 without
 * waiting for it; the helper is adopted by PID 1.
 *
 * Reproduction: the tool is `sh -c '( sleep 0.5; … ) & exit 1'`, run by the Node workload, which
 * waits for the tool only (libuv reaps only the children it spawned).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InitName } from '../model/inits.js';
import { baseVariant, expectReapingAsPid1, judgeReaping, plainPlan, type ScenarioDef } from './def.js';
import { bg, nap, rec, WorkloadContext } from './inside.js';
import type { ScenarioParams } from './types.js';

const NAME = 'tool-leaves-helper';

async function workload(p: ScenarioParams): Promise<void> {
  const ctx = new WorkloadContext(NAME, p);
  ctx.startSampling(p.sample_ms!);
  const tool = `${bg('helper', `${nap('helper', p.helper_ms!)}; ${rec('helper')}`, '>/dev/null')}; exit 1`;
  let statusOne = 0;
  for (let k = 1; k <= p.runs!; k++) {
    const r = await ctx.run(tool, 'tool');
    if (r.code === 1) statusOne++;
    await sleep(p.interval_ms!);
    ctx.cycleDone(k);
  }
  await sleep(p.settle_ms!);
  ctx.finish(p.runs!, { tool_exit_1: statusOne });
}

/** S2 tool-leaves-helper: its workload, variants, expectation per init and judge (see the module comment). */
export const s2: ScenarioDef = {
  id: 'S2',
  name: NAME,
  title: 'a tool exits 1 without waiting for the helper it forked',
  defaults: { runs: 6, interval_ms: 250, helper_ms: 500, settle_ms: 1000, sample_ms: 100 },
  pidsLimit: 64,
  cases: [null],
  variants: baseVariant,
  command: (prefix, engineInit, params) => plainPlan(prefix, engineInit, NAME, params),
  expect: (init: InitName) => expectReapingAsPid1(init, 'one zombie per run'),
  judge: ({ obs }) => judgeReaping(obs, 'run'),
  timeoutMs: (p) => 30_000 + p.runs! * (p.interval_ms! + 1_000),
  workload,
};
