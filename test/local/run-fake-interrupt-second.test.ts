/**
 * A second Ctrl-C while the first one's cleanup is under way, on the fake runtime: the process
 * exits at once (exit 130), after one line naming the partial results and `reapbench clean --run`,
 * and the report.md it leaves says the run was interrupted. Its own file: an interrupt is
 * process-wide and sticky.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it, vi } from 'vitest';
import { runBench } from '../../src/run/bench.js';
import { DUPLICATE_MS, onInterrupt } from '../../src/run/interrupt.js';
import { RUN_ID } from '../../src/runtime/cleanup.js';
import { captureOutput, fakeRunOptions, FakeRuntime, interruptAt } from '../support/fake-runtime.js';
import { requireBuild } from '../support/loadgen.js';
import { scratchDirs } from '../support/scratch.js';
import { waitFor } from '../support/wait.js';

const scratch = scratchDirs('reapbench-run-fake-int-second-');

beforeAll(() => requireBuild());

it('a second SIGINT during the teardown: one line with the results folder and clean --run, exit 130, report.md interrupted', async () => {
  // The handler would exit the process once the removal is done with no callback registered.
  onInterrupt(() => undefined);
  const out = await scratch();
  // The cut run's teardown ends only when the test says so: the second signal finds it under way.
  let endTeardown!: () => void;
  const teardown = new Promise<void>((resolve) => (endTeardown = resolve));
  let firstAt = 0;
  // The warm-up is container 0, the first recorded run 1: interrupt the second one.
  const rt = new FakeRuntime({ outcome: interruptAt(2, { kind: 'hang', teardown }, () => (firstAt = performance.now())) });
  const output = captureOutput();
  const exits: Array<number | string | null | undefined> = [];
  const exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number | string | null) => {
    exits.push(code);
  }) as typeof process.exit);
  let report = '';
  let dir = '';
  const running = runBench(fakeRunOptions(out, { inits: 'none,tini' }), { connect: async () => rt });
  try {
    // The first interrupt's files are on disk, and the same SIGINT again is no longer its duplicate.
    await waitFor(
      () => {
        const d = existsSync(out) ? readdirSync(out).find((n) => n !== 'latest') : undefined;
        if (d === undefined) return false;
        dir = path.join(out, d);
        report = existsSync(path.join(dir, 'report.md')) ? readFileSync(path.join(dir, 'report.md'), 'utf8') : '';
        return /interrupted by SIGINT/.test(report) && firstAt > 0 && performance.now() - firstAt > DUPLICATE_MS;
      },
      { what: 'report.md to say interrupted, and the duplicate window to pass', detail: () => report },
    );
    process.emit('SIGINT', 'SIGINT');
    // What the process leaves when it exits now: the report as it is, the cut run still in teardown.
    expect(exits).toEqual([130]);
    expect(rt.live).toBe(1);
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(
      /this run did not finish \(interrupted by SIGINT after 1 of 4 runs\)/,
    );
    const said = output
      .stderr()
      .split('\n')
      .filter((l) => l.includes('left at once'));
    expect(said).toEqual([
      `reapbench: left at once; partial results in ${dir}; run reapbench clean --run ${RUN_ID} to remove what this run may have left`,
    ]);
  } finally {
    // The exit was not real: let the run finish so nothing of it outlives the test.
    endTeardown();
    await running.catch(() => undefined);
    exit.mockRestore();
    output.restore();
  }
});
