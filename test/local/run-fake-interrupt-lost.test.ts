/**
 * Ctrl-C while the engine hangs, on the fake runtime: the interrupted run does not end with the
 * abort but fails as a hung engine's watch makes it fail (the engine lost). The interrupt came
 * first, so it stays the reason and the exit status: a PARTIAL report "interrupted by SIGINT",
 * exit 130, and the engine's failure said on a line of its own. Its own file: an interrupt is
 * process-wide and sticky (the handler's state stays "interrupted" for the rest of the process).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { onInterrupt } from '../../src/run/interrupt.js';
import { FakeRuntime, interruptAt, runOnFake } from '../support/fake-runtime.js';
import { requireBuild } from '../support/loadgen.js';
import { scratchDirs } from '../support/scratch.js';

const scratch = scratchDirs('reapbench-run-fake-lost-');

beforeAll(() => requireBuild());

it('a SIGINT, then the engine lost while the run is torn down: exit 130 and a report PARTIAL by the interrupt, the engine named on a line', async () => {
  const keep = onInterrupt(() => undefined);
  // The warm-up is container 0, the first recorded run 1: interrupt the second one.
  const rt = new FakeRuntime({ outcome: interruptAt(2, { kind: 'hang-then-engine-lost' }) });
  let r: Awaited<ReturnType<typeof runOnFake>>;
  try {
    r = await runOnFake(await scratch(), rt, { inits: 'none,tini,catatonit' });
  } finally {
    keep();
  }
  expect(r.code, r.stderr).toBe(130);
  expect(r.stderr).toMatch(/^reapbench: the Docker engine stopped answering during a container run \(no answer to a ping within 2 s\)$/m);
  expect(r.stderr).toMatch(/^reapbench: interrupted; partial report in /m);
  expect(r.dir).not.toBeNull();
  const report = readFileSync(path.join(r.dir!, 'report.md'), 'utf8');
  expect(report).toMatch(/\*\*PARTIAL\*\*: this run did not finish \(interrupted by SIGINT/);
  expect(report).not.toMatch(/stopped answering/);
});
