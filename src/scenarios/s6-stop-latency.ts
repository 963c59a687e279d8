/**
 * S6 stop-latency: `docker stop` (SIGTERM, SIGKILL after a 10 s grace) 1.5 s after the container
 * starts (after the worker is ready, in the cases with a worker) against three shapes:
 *  - `sleep`: the command is `sh -c 'sleep 100000'` (busybox execs the sleep): no SIGTERM handler.
 *  - `launcher`: a launcher shell (package-manager-like: it neither forwards signals nor has a
 *    handler) runs a Node worker whose SIGTERM handler writes a marker, works 0.5 s, writes a
 *    second marker and exits.
 *  - `launcher-setsid`: the same, but the worker is started with `setsid`: it is outside the
 *    process group that a group signal reaches (cannot help, by design).
 * Figures: stop latency, exit status (137: SIGKILL after the grace; 143: SIGTERM honoured) and
 * whether the worker's handler started and finished (markers in a host folder bound at /rb-out).
 *
 * Expected, from the inits' documented behaviour: with no init, PID 1 has no handler and the
 * kernel drops SIGTERM → 137 after the grace. An init forwards SIGTERM to its child only (tini,
 * dumb-init -c, docker-init, catatonit, ts-reaper), so the launcher dies, the init exits, and the
 * kernel kills the worker without its handler; with group signalling (tini -g, dumb-init,
 * catatonit -g, ts-reaper -g) the worker's handler starts but the init exits as soon as its child
 * (the launcher) has, cutting it short — measured here, the kernel's teardown often wins the
 * race before Node even runs the handler, so "never ran" is accepted too (and named beside the
 * expected outcome in scenarios.md); ts-reaper
 * --shutdown group waits for the group (up to its grace), so the handler finishes.
 */
import { writeFileSync } from 'node:fs';
import type { InitName } from '../model/inits.js';
import { NODE, traitsOf, variant, WORKLOAD, type CommandPlan, type JudgeInput, type Judgement, type ScenarioDef } from './def.js';
import type { Expectation, ScenarioParams, VariantSpec } from './types.js';

const NAME = 'stop-latency';
/** Where the host scratch folder is bound in the container. */
export const OUT_DIR = '/rb-out';

/**
 * The worker (`node scenario.mjs stop-worker <handler_ms>`): marks `ready`; on SIGTERM marks
 * `handler-started`, works `handler_ms`, marks `handler-finished`, exits 0.
 */
export function stopWorker(handlerMs: number): void {
  const mark = (name: string): void => writeFileSync(`${OUT_DIR}/${name}`, `${Date.now()}\n`);
  process.on('SIGTERM', () => {
    mark('handler-started');
    setTimeout(() => {
      mark('handler-finished');
      process.exit(0);
    }, handlerMs);
  });
  setInterval(() => undefined, 60_000);
  mark('ready');
}

function command(prefix: string[], engineInit: boolean, p: ScenarioParams, caseName: string | null): CommandPlan {
  const worker = `${NODE} ${WORKLOAD} stop-worker ${p.handler_ms}`;
  const body =
    caseName === 'sleep'
      ? 'sleep 100000'
      : caseName === 'launcher-setsid'
        ? `setsid ${worker}; echo "launcher: worker exited $?"`
        : `${worker}; echo "launcher: worker exited $?"`;
  // With a worker, the stop comes `stop_after_ms` after it is ready: its Node start-up took up to
  // 1.1 s under ts-reaper on 2 loaded cores, so a count from the container's start could stop
  // the container before the worker had a handler.
  const stopAfterMarker = caseName === 'sleep' ? null : 'ready';
  return {
    cmd: [...prefix, 'sh', '-c', body],
    engineInit,
    outDir: OUT_DIR,
    stopAfterMs: p.stop_after_ms!,
    stopAfterMarker,
    stopGraceS: p.grace_s!,
    notApplicable: null,
  };
}

function expect(init: InitName, flags: string[], caseName: string | null): Expectation {
  const t = traitsOf(init, flags);
  if (!t.handlesSigterm)
    return { outcome: 'sigkill-after-grace', reason: 'PID 1 has no SIGTERM handler: the kernel drops the signal, SIGKILL after the grace' };
  if (caseName === 'sleep') return { outcome: 'stopped', reason: `${init} forwards SIGTERM to sleep, which dies of it (143)` };
  if (caseName === 'launcher-setsid') {
    return t.signalsGroup
      ? {
          outcome: 'handler-skipped',
          reason: 'the worker called setsid: it is outside the group the init signals',
          cannotHelp: 'worker escaped the group (setsid)',
        }
      : { outcome: 'handler-skipped', reason: `${init} signals its child only; the worker is killed when the init exits` };
  }
  if (t.waitsForGroup) return { outcome: 'graceful', reason: 'signals the group and waits for it after the child exits' };
  if (t.signalsGroup) {
    // A race whose outcome differs from run to run (both measured): the reason names both, so
    // that neither verdict reads as contradicting it.
    return {
      outcome: 'handler-cut-short',
      alsoAccept: ['handler-skipped'],
      reason:
        'signals the group but exits as soon as its child (the launcher) has: the teardown kills the worker before its handler finishes, often before it starts',
    };
  }
  return { outcome: 'handler-skipped', reason: `${init} signals its child (the launcher) only; the worker dies with the container` };
}

function judge(input: JudgeInput): Judgement {
  const { exitCode, stopLatency_s: lat, markers, caseName, params } = input;
  const ready = markers.has('ready');
  const started = markers.has('handler-started');
  const finished = markers.has('handler-finished');
  const figures = {
    exit_code: exitCode,
    stop_latency_s: lat,
    worker_ready: caseName === 'sleep' ? null : ready,
    handler_started: started,
    handler_finished: finished,
  };
  if (lat === null || exitCode === null) return { outcome: 'error', verdict: 'error: the container was not stopped', figures };
  if (caseName !== 'sleep' && !ready) return { outcome: 'error', verdict: 'error: the worker was not ready before the stop', figures };
  const how = exitCode === 137 ? 'SIGKILL, 137' : String(exitCode);
  const handler =
    caseName === 'sleep' ? '' : finished ? ', handler finished' : started ? ', handler started but was cut short' : ', handler never ran';
  if (exitCode === 137 && lat >= params.grace_s! - 0.5)
    return { outcome: 'sigkill-after-grace', verdict: `stop took ${lat.toFixed(1)} s (${how})${handler}`, figures };
  const verdict = `stopped in ${lat.toFixed(1)} s (${how})${handler}`;
  if (caseName === 'sleep') return { outcome: 'stopped', verdict, figures };
  return { outcome: finished ? 'graceful' : started ? 'handler-cut-short' : 'handler-skipped', verdict, figures };
}

function variants(init: InitName): VariantSpec[] {
  switch (init) {
    case 'tini':
      return [variant('tini'), variant('tini', '-g')];
    case 'dumb-init':
      return [variant('dumb-init'), variant('dumb-init', '-c')];
    case 'catatonit':
      return [variant('catatonit'), variant('catatonit', '-g')];
    case 'ts-reaper':
      return [variant('ts-reaper'), variant('ts-reaper', '-g'), variant('ts-reaper', '--shutdown', 'group')];
    default:
      return [variant(init)];
  }
}

/** S6 stop-latency: its workload, variants, expectation per init and judge (see the module comment). */
export const s6: ScenarioDef = {
  id: 'S6',
  name: NAME,
  title: 'docker stop: latency, exit status, and whether the worker handler ran',
  defaults: { grace_s: 10, stop_after_ms: 1500, handler_ms: 500 },
  pidsLimit: 64,
  cases: ['sleep', 'launcher', 'launcher-setsid'],
  variants,
  command,
  expect,
  judge,
  timeoutMs: (p) => 30_000 + p.stop_after_ms! + p.grace_s! * 1000,
};
