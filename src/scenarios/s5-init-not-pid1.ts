/**
 * S5 init-not-pid1: the init under test is not PID 1. PID 1 is a stub that never reaps (a Node
 * process that waits only for the child it started, as a wrapper entrypoint or a shared PID
 * namespace gives you), and the init is its child. The workload double-forks grandchildren that
 * exit after 1 s: they are adopted by the nearest child subreaper above them, else by the stub.
 *
 * Expected: only an init registered as child subreaper reaps them (tini -s; catatonit and
 * ts-reaper register by themselves when not PID 1); tini without -s leaks; dumb-init has no
 * subreaper mode and cannot help. The engine's init (`docker-init`) is always PID 1, so it cannot
 * be placed below a stub: not applicable. The observer reports who adopted each orphan.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InitName } from '../model/inits.js';
import { judgeReaping, NODE, traitsOf, variant, WORKLOAD, workloadArgv, type ScenarioDef } from './def.js';
import { bg, nap, rec, WorkloadContext } from './inside.js';
import type { Expectation, ScenarioParams, VariantSpec } from './types.js';

const NAME = 'init-not-pid1';

async function workload(p: ScenarioParams): Promise<void> {
  // Our parent is the init under test unless it is PID 1 itself (no init: the stub is the parent).
  const init = process.ppid === 1 ? null : process.ppid;
  const ctx = new WorkloadContext(NAME, p, init);
  ctx.startSampling(p.sample_ms!);
  const script = `${bg('grandchild', `${nap('grandchild', p.grandchild_ms!)}; ${rec('grandchild')}`, '>/dev/null')}; exit 0`;
  for (let k = 1; k <= p.runs!; k++) {
    await ctx.run(script, 'double-fork');
    await sleep(p.interval_ms!);
    ctx.cycleDone(k);
  }
  await sleep(p.grandchild_ms! + p.settle_ms!);
  ctx.finish(p.runs!);
}

/**
 * The never-reaping PID 1 stub: `node scenario.mjs stub <argv…>` starts argv, waits for it only
 * (libuv reaps only its own children), and exits with its status.
 */
export function stub(argv: string[]): void {
  if (argv.length === 0) {
    process.stderr.write('scenario stub: expected a command\n');
    process.exit(2);
  }
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  child.on('error', (err) => {
    process.stderr.write(`scenario stub: ${err.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? signalNumber(signal) : 0)));
}

function signalNumber(sig: NodeJS.Signals): number {
  const n = ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig];
  return n ?? 0;
}

function expect(init: InitName, flags: string[]): Expectation {
  const t = traitsOf(init, flags);
  if (init === 'none') return { outcome: 'leaks', reason: 'the stub is PID 1 and never reaps adopted orphans' };
  if (!t.canNest) return { outcome: 'not-applicable', reason: 'the engine init is always PID 1; it cannot run below a stub' };
  if (t.subreaperWhenNotPid1)
    return { outcome: 'reaped', reason: `${init} registers as child subreaper when not PID 1, so the orphans come to it` };
  if (init === 'dumb-init')
    return { outcome: 'leaks', reason: 'dumb-init has no subreaper mode', cannotHelp: 'not PID 1, no subreaper mode' };
  if (init === 'tini' || init === 'ts-reaper')
    return { outcome: 'leaks', reason: `${init} without -s is not a subreaper: orphans go to the stub` };
  return {
    outcome: 'leaks',
    reason: `${init} below the stub is not a subreaper: orphans go to the stub`,
    cannotHelp: 'not PID 1, no subreaper mode',
  };
}

function variants(init: InitName): VariantSpec[] {
  if (init === 'tini') return [variant('tini'), variant('tini', '-s')];
  if (init === 'ts-reaper') return [variant('ts-reaper'), variant('ts-reaper', '-s')];
  return [variant(init)];
}

/** S5 init-not-pid1: its workload, variants, expectation per init and judge (see the module comment). */
export const s5: ScenarioDef = {
  id: 'S5',
  name: NAME,
  title: 'the init is not PID 1 (a never-reaping stub is); grandchildren double-forked',
  defaults: { runs: 3, interval_ms: 300, grandchild_ms: 1000, settle_ms: 1000, sample_ms: 100 },
  pidsLimit: 64,
  cases: [null],
  variants,
  command: (prefix, engineInit, params) => {
    if (engineInit) {
      return {
        cmd: ['true'],
        engineInit,
        outDir: null,
        stopAfterMs: null,
        stopGraceS: null,
        notApplicable: 'the engine init (HostConfig.Init) is always PID 1',
      };
    }
    return {
      cmd: [NODE, WORKLOAD, 'stub', ...prefix, ...workloadArgv(NAME, params)],
      engineInit,
      outDir: null,
      stopAfterMs: null,
      stopGraceS: null,
      notApplicable: null,
    };
  },
  expect,
  judge: ({ obs }) => judgeReaping(obs, 'run'),
  timeoutMs: (p) => 30_000 + p.runs! * (p.interval_ms! + 1_000) + p.grandchild_ms!,
  workload,
};
