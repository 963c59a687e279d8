/**
 * S7 limit-exhaustion: under a pids limit, spawn live processes until `EAGAIN`; then the same
 * with zombies (the workload's own children, never waited for) instead of live processes. Both
 * fail at the same count: a zombie is charged to the pids cgroup until it is reaped, like a live
 * task, and threads count too. The zombies' parent (the workload) is alive, so no init may reap
 * them: every init "cannot help" here, by design.
 *
 * Reproduction: `posix_spawn` through koffi (src/ffi/spawn.ts), which returns the errno of the
 * failed clone directly; `sleep 1000` for live children, `true` for zombies. After each phase the
 * downstream error a normal program would see is recorded (`child_process.spawnSync('sh')`).
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InitName } from '../model/inits.js';
import { errnoName } from '../ffi/errno.js';
import { baseVariant, num, plainPlan, type JudgeInput, type Judgement, type ScenarioDef } from './def.js';
import { WorkloadContext } from './inside.js';
import { containerPids } from './observer.js';
import type { ScenarioParams } from './types.js';

const NAME = 'limit-exhaustion';

interface Phase {
  count: number;
  fail_s: number | null;
  errno: string | null;
  pidsAtFailure: number | null;
  downstream: string;
}

async function phase(ctx: WorkloadContext, kind: 'live' | 'zombie', max: number): Promise<{ phase: Phase; pids: number[] }> {
  const { spawnDetached } = await import('../ffi/spawn.js');
  const argv = kind === 'live' ? ['sleep', '1000'] : ['true'];
  const pids: number[] = [];
  const t0 = performance.now();
  let fail: Phase = { count: 0, fail_s: null, errno: null, pidsAtFailure: null, downstream: '' };
  for (let i = 0; i < max; i++) {
    const r = spawnDetached(argv, { env: ['PATH=/usr/local/bin:/usr/bin:/bin', `RB_ROLE=${kind}`] });
    if (r.ret < 0) {
      const errno = errnoName(r.errno);
      fail = { count: pids.length, fail_s: (performance.now() - t0) / 1000, errno, pidsAtFailure: containerPids().current, downstream: '' };
      ctx.recordFailure(`${kind}-spawn`, errno, `posix_spawn ${argv[0]}: ${errno}`);
      break;
    }
    pids.push(r.ret);
    if (kind === 'zombie' && i % 16 === 15) await sleep(1); // let the `true`s exit: zombies, not live
  }
  if (fail.fail_s === null) fail = { ...fail, count: pids.length };
  const ds = spawnSync('sh', ['-c', 'true']);
  fail.downstream = ds.error
    ? `spawnSync sh: ${(ds.error as NodeJS.ErrnoException).code ?? ds.error.message}`
    : `spawnSync sh: ok (${ds.status})`;
  return { phase: fail, pids };
}

async function release(pids: number[], kill: boolean): Promise<void> {
  const [proc, wait] = await Promise.all([import('../ffi/process.js'), import('../ffi/wait.js')]);
  const status = new Int32Array(1);
  for (const pid of pids) {
    if (kill) proc.kill(pid, 9);
    wait.waitpid(pid, status, 0);
  }
}

async function workload(p: ScenarioParams): Promise<void> {
  const ctx = new WorkloadContext(NAME, p);
  const baseline = containerPids().current;
  const live = await phase(ctx, 'live', p.max_procs!);
  await release(live.pids, true);
  await sleep(p.settle_ms!);
  const between = containerPids().current;
  const zombie = await phase(ctx, 'zombie', p.max_procs!);
  const zombiesHeld = ctx.finish(2, {
    baseline_tasks: baseline,
    live_count: live.phase.count,
    live_fail_s: live.phase.fail_s,
    live_errno: live.phase.errno,
    live_pids_at_failure: live.phase.pidsAtFailure,
    live_downstream: live.phase.downstream,
    tasks_between_phases: between,
    zombie_count: zombie.phase.count,
    zombie_fail_s: zombie.phase.fail_s,
    zombie_errno: zombie.phase.errno,
    zombie_pids_at_failure: zombie.phase.pidsAtFailure,
    zombie_downstream: zombie.phase.downstream,
  });
  void zombiesHeld;
  await release(zombie.pids, false);
}

function judge({ obs, params }: JudgeInput): Judgement {
  if (!obs) return { outcome: 'error', verdict: 'error: the workload printed no result', figures: {} };
  const e = obs.extra;
  const figures: Judgement['figures'] = {
    ...e,
    zombies_end: obs.zombies.total,
    zombies_app: obs.zombies.byParent.app,
    app_threads: obs.appThreads,
    pids_max: obs.pids.max,
  };
  const live = Number(e.live_count);
  const zombie = Number(e.zombie_count);
  if (e.live_fail_s === null || e.zombie_fail_s === null) {
    return {
      outcome: 'unequal-counts',
      verdict: `no fork failure within ${params.max_procs} spawns (live ${live}, zombie ${zombie})`,
      figures,
    };
  }
  const equal = Math.abs(live - zombie) <= params.tolerance!;
  const at = `fork failed at ${Number(e.live_fail_s).toFixed(2)} s (${e.live_errno})`;
  return {
    outcome: equal ? 'equal-counts' : 'unequal-counts',
    verdict: `${at}: ${live} live ${equal ? '=' : '≠'} ${zombie} zombies of ${typeof obs.pids.max === 'number' ? num(obs.pids.max) : (obs.pids.max ?? '?')}`,
    figures,
  };
}

/** S7 limit-exhaustion: its workload, variants, expectation per init and judge (see the module comment). */
export const s7: ScenarioDef = {
  id: 'S7',
  name: NAME,
  title: 'spawn until EAGAIN: live processes, then zombies',
  defaults: { max_procs: 4000, tolerance: 2, settle_ms: 300 },
  pidsLimit: 64,
  cases: [null],
  variants: baseVariant,
  command: (prefix, engineInit, params) => plainPlan(prefix, engineInit, NAME, params),
  expect: (init: InitName) => ({
    outcome: 'equal-counts',
    reason: 'a zombie is charged like a live task until reaped; its parent (the app) is alive, so no init may reap it',
    ...(init === 'none' ? {} : { cannotHelp: 'parent alive' }),
  }),
  judge,
  timeoutMs: () => 60_000,
  workload,
};
