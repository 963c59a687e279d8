/**
 * Ctrl-C in the middle of `reapbench run`, on the fake runtime: the run in progress is aborted,
 * the command asks the runtime to remove everything of the run, the matrix stops, and the report
 * is kept, marked PARTIAL, with exit 130. Its own file: an interrupt is process-wide and sticky
 * (the handler's state stays "interrupted" for the rest of the process).
 */
import { parse } from 'csv-parse/sync';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { onInterrupt } from '../../src/run/interrupt.js';
import { FakeRuntime, interruptAt, runOnFake } from '../support/fake-runtime.js';
import { requireBuild } from '../support/loadgen.js';
import { scratchDirs } from '../support/scratch.js';

const scratch = scratchDirs('reapbench-run-fake-int-');

beforeAll(() => requireBuild());

it('a SIGINT during the second run aborts it, removes what the runtime made, stops the matrix and keeps a PARTIAL report (exit 130)', async () => {
  // With no callback left registered, the handler exits the process once the removal is done:
  // this one keeps the test's process alive whatever the order in which runBench returns.
  const keep = onInterrupt(() => undefined);
  // The warm-up is container 0, the first recorded run 1: interrupt the second one.
  const rt = new FakeRuntime({ outcome: interruptAt(2) });
  let r: Awaited<ReturnType<typeof runOnFake>>;
  try {
    r = await runOnFake(await scratch(), rt, { inits: 'none,tini,catatonit' });
  } finally {
    keep();
  }
  expect(r.code, r.stderr).toBe(130);
  // The hanging run was the last one started, and the runtime was asked once to remove the run's containers.
  expect(rt.containers).toHaveLength(3);
  expect(rt.live).toBe(0);
  expect(rt.removeRunCalls).toBe(1);
  expect(r.dir).not.toBeNull();
  const rows = parse(readFileSync(path.join(r.dir!, 'runs.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
  expect(rows.map((x) => [x.state, x.failure_reason])).toEqual([
    ['completed', ''],
    ['aborted', 'interrupted'],
  ]);
  expect(readFileSync(path.join(r.dir!, 'report.md'), 'utf8')).toMatch(/PARTIAL/);
  expect(r.stderr).toMatch(/^reapbench: interrupted; partial report in /m);
});
