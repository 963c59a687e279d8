/**
 * The opt-in PID 1 rows against the real engine: each really is PID 1 with the workload as its
 * child (an app or a shell entrypoint) or its service (a supervisor), ends a run with the exit
 * status its manual gives, reaps adopted orphans or not as the harness's S2 verdict reports,
 * and answers `docker stop` as S6 reports. What a shell does is asserted as observed here, with
 * the reason in the test's name.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRuntime } from '../../src/runtime/runtime.js';
import { launchFor } from '../../src/runtime/init-launch.js';
import { runScenario, type ScenarioResult } from '../../src/scenarios/index.js';
import type { InitName } from '../../src/model/inits.js';
import { runtime, testImages } from '../support/engine.js';

let rt: ContainerRuntime;
let image: string;

beforeAll(async () => {
  rt = await runtime();
  image = (await testImages()).app;
});

/**
 * The workload of the first test: reads PID 1's comm, its parent's comm and its own pid with
 * shell builtins only (no child of its own), then exits 7 so that the container's exit status
 * says whether the row passes the workload's status on.
 */
const WHO = 'read c < /proc/1/comm; read p < /proc/$PPID/comm; echo "pid1=$c parent=$p self=$$"; exit 7';

/** Per row: PID 1's comm, the workload's parent's comm, and the container's exit status when the workload exits 7. */
const ROWS: Array<[InitName, string, string, number, string]> = [
  ['none:python', 'python3', 'python3', 7, 'subprocess.call returns the status and the app exits with it'],
  ['none:bash', 'bash', 'bash', 7, '"$@"; exit $? passes the status on'],
  ['none:sh', 'sh', 'sh', 7, '"$@"; exit $? passes the status on'],
  ['supervisord', 'supervisord', 'supervisord', 0, 'supervisord exits 0 when the listener stops it, whatever its program returned'],
  ['s6-svscan', 's6-svscan', 's6-supervise', 7, ".s6-svscan/finish exits with the status the service's finish kept"],
  ['runit', 'runsvdir', 'runsv', 111, 'runsvdir exits 111 on the SIGHUP that ends the run'],
];

describe('PID 1 of each row', () => {
  it.each(ROWS)('%s: PID 1 is %s, the workload runs under %s (not as PID 1), exit status %i: %s', async (init, pid1, parent, status) => {
    const launch = launchFor(init);
    const r = await rt.run({ image, cmd: [...launch.prefix, 'sh', '-c', WHO], init: launch.engineInit, timeoutMs: 60_000 });
    const line = /pid1=(\S+) parent=(\S+) self=(\d+)/.exec(r.stdout);
    expect(line, `stdout: ${r.stdout} stderr: ${r.stderr}`).not.toBeNull();
    expect([line![1], line![2]]).toEqual([pid1, parent]);
    // Had the row exec'd the workload instead of running it as a child, the workload would be PID 1.
    expect(Number(line![3])).toBeGreaterThan(1);
    expect(r.exitCode).toBe(status);
  });
});

/** Fail with the verdict and figures in the message, so a red test says what was seen. */
function expectMatch(r: ScenarioResult): void {
  expect.soft(r.state, `${r.verdict} ${r.failureReason ?? ''}`).toBe('completed');
  expect(r.matches, `${r.scenario} ${r.variant}: ${r.verdict} (expected ${r.expected.outcome}) ${JSON.stringify(r.figures)}`).toBe(true);
}

const s2 = (init: InitName): Promise<ScenarioResult> => runScenario(rt, image, 'tool-leaves-helper', init, { label: init, flags: [] }, {});

describe('S2 tool-leaves-helper: who reaps adopted orphans', () => {
  it('none:python leaves exactly its orphans as zombies: subprocess waits for its own child only', async () => {
    const r = await s2('none:python');
    expectMatch(r);
    // One helper orphaned per run, every one adopted by PID 1 and never reaped; nothing else.
    expect(r.figures.zombies_end).toBe(r.figures.cycles);
    expect(r.figures.zombies_pid1).toBe(r.figures.cycles);
    expect(r.verdict).toMatch(/^leaks 1 zombie\/run, \d+ held by PID 1 \(python3\)/);
  });

  it.each<[InitName, string]>([
    ['none:bash', 'bash waits for its foreground job with waitpid(-1), which reaps adopted orphans too'],
    ['none:sh', 'the POSIX shell waits for its foreground job with waitpid(-1), which reaps adopted orphans too'],
    ['s6-svscan', 's6-svscan reaps any child'],
  ])('%s leaves none: %s', async (init) => {
    const r = await s2(init);
    expectMatch(r);
    expect(r.figures.zombies_end).toBe(0);
    expect(r.figures.cycles).toBeGreaterThan(0);
  });

  it('supervisord reaps any child with waitpid(-1, WNOHANG), but once per turn of its loop (up to 1 s): the orphans of all but the last runs are gone at the end', async () => {
    const r = await s2('supervisord');
    expectMatch(r);
    expect(r.figures.adopters).toBe(`pid1:supervisord=${r.figures.cycles}`);
    expect(r.figures.zombies_end).toBe(r.figures.zombies_pid1);
    expect(r.figures.zombies_end as number).toBeLessThan(r.figures.cycles as number);
  });

  it('runit: every orphan goes to runsvdir, which reaps on its own timer rather than on SIGCHLD, so S2 counts anywhere from none to all of them at its end', async () => {
    const r = await s2('runit');
    expectMatch(r);
    expect(r.figures.adopters).toBe(`pid1:runsvdir=${r.figures.cycles}`);
    expect(r.figures.zombies_end).toBe(r.figures.zombies_pid1);
    expect(r.figures.zombies_end as number).toBeLessThanOrEqual(r.figures.cycles as number);
  });
});

describe('S6 stop-latency, the sleep case: docker stop against each row', () => {
  const stop = (init: InitName, params: Record<string, number> = {}): Promise<ScenarioResult> =>
    runScenario(rt, image, 'stop-latency', init, { label: init, flags: [] }, { grace_s: 3, ...params }, { caseName: 'sleep' });

  it.each<[InitName]>([['none:python'], ['none:bash'], ['none:sh']])(
    '%s has no SIGTERM handler as PID 1: the kernel drops the signal, SIGKILL (137) after the grace',
    async (init) => {
      const r = await stop(init);
      expectMatch(r);
      expect(r.figures.exit_code).toBe(137);
    },
  );

  // 6 s after the start, not S6's 1.5 s: supervisord (Python) installs its signal handlers only
  // once it has loaded, which took over 1.5 s here with the CPUs busy; a SIGTERM before that is
  // dropped like any to a PID 1 without a handler (the report's S6 row shows that race).

  it.each<[InitName, number]>([
    ['supervisord', 0],
    ['s6-svscan', 143],
    ['runit', 0],
  ])('%s, once started, stops before the grace on SIGTERM, exit status %i as observed here', async (init, status) => {
    const r = await stop(init, { stop_after_ms: 6_000, grace_s: 10 });
    expectMatch(r);
    expect(r.figures.exit_code).toBe(status);
    expect(r.figures.stop_latency_s as number).toBeLessThan(9.5);
  });
});
