/**
 * Ctrl-C during the first recorded run (after the warm-up), on the fake runtime: that run is
 * recorded as aborted, which measures nothing, so the command says so in one line, exits 130
 * and leaves no results folder. Its own file: an interrupt is process-wide and sticky.
 */
import { readdirSync } from 'node:fs';
import { beforeAll, expect, it } from 'vitest';
import { ReapbenchError } from '../../src/errors.js';
import { onInterrupt } from '../../src/run/interrupt.js';
import { FakeRuntime, interruptAt, runOnFake } from '../support/fake-runtime.js';
import { requireBuild } from '../support/loadgen.js';
import { scratchDirs } from '../support/scratch.js';

const scratch = scratchDirs('reapbench-run-fake-int-first-');

beforeAll(() => requireBuild());

it('a SIGINT during the first recorded run: "nothing was measured", exit 130, no results folder', async () => {
  // With no callback left registered, the handler exits the process once the removal is done,
  // which here ends after runBench has thrown: this one stays registered for the file's process.
  onInterrupt(() => undefined);
  const out = await scratch();
  // The warm-up is container 0: interrupt the first recorded run.
  const rt = new FakeRuntime({ outcome: interruptAt(1) });
  const r = await runOnFake(out, rt, { inits: 'none,tini' });
  expect(r.code, r.stderr).toBeInstanceOf(ReapbenchError);
  expect((r.code as ReapbenchError).message).toBe('interrupted before the first run ended; nothing was measured');
  expect((r.code as ReapbenchError).exitCode).toBe(130);
  // The warm-up and the cut run were started, and nothing of the run is left.
  expect(rt.containers).toHaveLength(2);
  expect(rt.live).toBe(0);
  // Not even a `latest` link to it.
  expect(readdirSync(out)).toEqual([]);
  expect(r.stderr).not.toMatch(/partial report in/);
});
