/**
 * Ctrl-C during the first recorded run (after the warm-up), on the fake runtime: that run is
 * recorded as aborted, which measures nothing, so the command says so in one line, exits 130
 * and leaves no results folder. Its own file: an interrupt is process-wide and sticky.
 */
import { readdirSync } from 'node:fs';
import { beforeAll, expect, it, vi } from 'vitest';
import { ReapbenchError } from '../../src/errors.js';
import { runBench } from '../../src/run/bench.js';
import { onInterrupt } from '../../src/run/interrupt.js';
import { fakeRunOptions, FakeRuntime } from '../support/fake-runtime.js';
import { requireBuild } from '../support/loadgen.js';
import { scratchDirs } from '../support/scratch.js';

const scratch = scratchDirs('reapbench-run-fake-int-first-');

beforeAll(() => requireBuild());

it('a SIGINT during the first recorded run: "nothing was measured", exit 130, no results folder', async () => {
  // With no callback left registered, the handler exits the process once the removal is done,
  // which here ends after runBench has thrown: this one stays registered for the file's process.
  onInterrupt(() => undefined);
  const out = await scratch();
  const rt = new FakeRuntime({
    outcome: (_spec, n) => {
      // The warm-up is container 0: interrupt the first recorded run.
      if (n !== 1) return { kind: 'loadgen' };
      setImmediate(() => process.emit('SIGINT', 'SIGINT'));
      return { kind: 'hang' };
    },
  });
  const lines: string[] = [];
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  let err: unknown;
  try {
    await runBench(fakeRunOptions(out, { inits: 'none,tini' }), { connect: async () => rt });
  } catch (e) {
    err = e;
  } finally {
    stderr.mockRestore();
    stdout.mockRestore();
  }
  expect(err, lines.join('')).toBeInstanceOf(ReapbenchError);
  expect((err as ReapbenchError).message).toBe('interrupted before the first run ended; nothing was measured');
  expect((err as ReapbenchError).exitCode).toBe(130);
  // The warm-up and the cut run were started, and nothing of the run is left.
  expect(rt.containers).toHaveLength(2);
  expect(rt.live).toBe(0);
  // Not even a `latest` link to it.
  expect(readdirSync(out)).toEqual([]);
  expect(lines.join('')).not.toMatch(/partial report in/);
});
