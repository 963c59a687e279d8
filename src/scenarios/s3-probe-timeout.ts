/**
 * S3 probe-timeout: a health probe runs `sh -c '<something slower than the probe timeout>'`; on
 * timeout the runtime kills the shell but not its slow child, which is re-parented to PID 1 and
 * exits later (Docker `HEALTHCHECK --timeout 1s CMD sh -c 'sleep 3'`).
 *
 * Reproduction (choice: the real mechanism, not an in-container imitation): the harness is the
 * runtime. It runs each probe with the Engine API's exec (`POST /containers/{id}/exec`), exactly
 * as Docker's health checker does, so the probe shell's parent is outside the container's PID
 * namespace; after the probe timeout it kills the shell with `SIGKILL` (a second exec running the
 * `kill` builtin, so the harness needs no access to the host's PID namespace). The shell's
 * foreground child, a subshell that sleeps past the timeout, is then orphaned; the kernel hands it
 * to the namespace's PID 1 (a subreaper outside the namespace, such as containerd-shim, is never
 * chosen across namespaces). The workload in the container is an idle app that samples and reports.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { InitName } from '../model/inits.js';
import { baseVariant, expectReapingAsPid1, judgeReaping, plainPlan, type HostHelper, type ScenarioDef } from './def.js';
import { rec, WorkloadContext, WORK_DIR } from './inside.js';
import { readdirSync, readFileSync } from 'node:fs';
import type { ScenarioParams } from './types.js';

const NAME = 'probe-timeout';

/** The longest the in-container app stays up: all probes, the last slow child at its cap, a settle time. */
function appDurationMs(p: ScenarioParams): number {
  return p.start_ms! + p.probes! * p.interval_ms! + p.slow_ms! + p.settle_ms!;
}

/** Slow children that have exited so far (their `exit role=probe-child` lines in the adoption log). */
function childrenExited(ctx: WorkloadContext): number {
  try {
    return (readFileSync(ctx.adoptLog, 'utf8').match(/^exit role=probe-child /gm) ?? []).length;
  } catch {
    return 0;
  }
}

async function workload(p: ScenarioParams): Promise<void> {
  const ctx = new WorkloadContext(NAME, p);
  ctx.startSampling(p.sample_ms!);
  await sleep(p.start_ms! + p.probes! * p.interval_ms!);
  // Then wait for the event, not for a time: every probe's slow child has exited (each exits
  // once its probe was killed), up to the cap; then the init has `settle_ms` to reap the last.
  const deadline = Date.now() + p.slow_ms!;
  while (childrenExited(ctx) < p.probes! && Date.now() < deadline) await sleep(50);
  await sleep(p.settle_ms!);
  const probes = readdirSync(WORK_DIR).filter((f) => /^probe\.\d+\.pid$/.test(f)).length;
  ctx.finish(probes);
}

/**
 * The probe: records its pid for the killer, then waits for a child slower than the timeout.
 * The child outlives the probe shell by construction, not by a race: it waits until the shell
 * (`$$`, the probe's pid in a subshell too) is gone, i.e. was killed on timeout and reaped by the
 * runtime, then exits as an orphan. A fixed sleep instead would need the runtime's kill, an
 * engine exec of 75–190 ms under load, to land before it ends. `slow_ms` caps the wait, in case
 * no kill comes.
 */
function probeScript(i: number, p: ScenarioParams): string {
  const polls = Math.ceil(p.slow_ms! / 50);
  return `echo $$ >${WORK_DIR}/probe.${i}.pid; ( n=0; while kill -0 $$ 2>/dev/null && [ $n -lt ${polls} ]; do sleep 0.05; n=$((n+1)); done; ${rec('probe-child')} ); :`;
}

/** The runtime's side: run `probes` probes every `interval_ms`, killing each after `timeout_ms`. */
const probeLoop: HostHelper = async (runtime, id, p, signal) => {
  let run = 0;
  let killed = 0;
  let errors = 0;
  await sleep(p.start_ms!);
  for (let i = 0; i < p.probes! && !signal.aborted; i++) {
    const t0 = Date.now();
    try {
      await runtime.exec(id, {
        argv: ['sh', '-c', probeScript(i, p)],
        env: [`RB_LOG=${WORK_DIR}/adopt.log`, 'RB_ROLE=probe'],
        detach: true,
      });
      run++;
      await sleep(p.timeout_ms!);
      await runtime.exec(id, { argv: ['sh', '-c', `read p <${WORK_DIR}/probe.${i}.pid && kill -KILL $p`], detach: true });
      killed++;
    } catch {
      errors++;
    }
    await sleep(Math.max(0, p.interval_ms! - (Date.now() - t0)));
  }
  return { probes_run: run, probes_killed: killed, probe_errors: errors };
};

/** S3 probe-timeout: its workload, variants, expectation per init and judge (see the module comment). */
export const s3: ScenarioDef = {
  id: 'S3',
  name: NAME,
  title: 'a timed-out health probe (engine exec) leaves its slow child',
  defaults: { probes: 4, interval_ms: 1000, timeout_ms: 500, slow_ms: 10_000, start_ms: 800, settle_ms: 800, sample_ms: 100 },
  pidsLimit: 64,
  cases: [null],
  variants: baseVariant,
  command: (prefix, engineInit, params) => plainPlan(prefix, engineInit, NAME, params),
  expect: (init: InitName) => expectReapingAsPid1(init, 'about one zombie per probe'),
  judge: ({ obs, host }) => {
    const j = judgeReaping(obs, 'probe');
    return { ...j, figures: { ...j.figures, ...host } };
  },
  timeoutMs: (p) => 30_000 + appDurationMs(p),
  host: probeLoop,
  workload,
};
