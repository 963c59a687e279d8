/**
 * Ctrl-C while the engine hangs, on the fake runtime: the interrupted run does not end with the
 * abort but fails as a hung engine's watch makes it fail (the engine lost). The interrupt came
 * first, so it stays the reason and the exit status: a PARTIAL report "interrupted by SIGINT",
 * exit 130, and the engine's failure said on a line of its own. Its own file: an interrupt is
 * process-wide and sticky (the handler's state stays "interrupted" for the rest of the process).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it, vi } from 'vitest';
import { runBench } from '../../src/run/bench.js';
import { onInterrupt } from '../../src/run/interrupt.js';
import { fakeRunOptions, FakeRuntime } from '../support/fake-runtime.js';
import { requireBuild } from '../support/loadgen.js';
import { scratchDirs } from '../support/scratch.js';

const scratch = scratchDirs('reapbench-run-fake-lost-');

beforeAll(() => requireBuild());

it('a SIGINT, then the engine lost while the run is torn down: exit 130 and a report PARTIAL by the interrupt, the engine named on a line', async () => {
  const keep = onInterrupt(() => undefined);
  const out = await scratch();
  const rt = new FakeRuntime({
    outcome: (_spec, n) => {
      // The warm-up is container 0, the first recorded run 1: interrupt the second one.
      if (n !== 2) return { kind: 'loadgen' };
      setImmediate(() => process.emit('SIGINT', 'SIGINT'));
      return { kind: 'hang-then-engine-lost' };
    },
  });
  const lines: string[] = [];
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  let code: number;
  try {
    code = await runBench(fakeRunOptions(out, { inits: 'none,tini,catatonit' }), { connect: async () => rt });
  } finally {
    stderr.mockRestore();
    stdout.mockRestore();
    keep();
  }
  const text = lines.join('');
  expect(code, text).toBe(130);
  expect(text).toMatch(/^reapbench: the Docker engine stopped answering during a container run \(no answer to a ping within 2 s\)$/m);
  expect(text).toMatch(/^reapbench: interrupted; partial report in /m);
  const dir = path.join(
    out,
    readdirSync(out).find((d) => d !== 'latest')!,
  );
  const report = readFileSync(path.join(dir, 'report.md'), 'utf8');
  expect(report).toMatch(/\*\*PARTIAL\*\*: this run did not finish \(interrupted by SIGINT/);
  expect(report).not.toMatch(/stopped answering/);
});
