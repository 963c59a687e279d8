/**
 * Ctrl-C in the middle of `reapbench run`, on the fake runtime: the run in progress is aborted,
 * the command asks the runtime to remove everything of the run, the matrix stops, and the report
 * is kept, marked PARTIAL, with exit 130. Its own file: an interrupt is process-wide and sticky
 * (the handler's state stays "interrupted" for the rest of the process).
 */
import { parse } from 'csv-parse/sync';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, expect, it, vi } from 'vitest';
import { runBench } from '../../src/run/bench.js';
import { onInterrupt } from '../../src/run/interrupt.js';
import { fakeRunOptions, FakeRuntime } from '../support/fake-runtime.js';
import { requireBuild } from '../support/loadgen.js';
import { scratchDirs } from '../support/scratch.js';

const scratch = scratchDirs('reapbench-run-fake-int-');

beforeAll(() => requireBuild());

it('a SIGINT during the second run aborts it, removes what the runtime made, stops the matrix and keeps a PARTIAL report (exit 130)', async () => {
  // With no callback left registered, the handler exits the process once the removal is done:
  // this one keeps the test's process alive whatever the order in which runBench returns.
  const keep = onInterrupt(() => undefined);
  const out = await scratch();
  const rt = new FakeRuntime({
    outcome: (_spec, n) => {
      // The warm-up is container 0, the first recorded run 1: interrupt the second one.
      if (n !== 2) return { kind: 'loadgen' };
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
  let code: number;
  try {
    code = await runBench(fakeRunOptions(out, { inits: 'none,tini,catatonit' }), { connect: async () => rt });
  } finally {
    stderr.mockRestore();
    stdout.mockRestore();
    keep();
  }
  expect(code, lines.join('')).toBe(130);
  // The hanging run was the last one started, and the runtime was asked once to remove the run's containers.
  expect(rt.containers).toHaveLength(3);
  expect(rt.live).toBe(0);
  expect(rt.removeRunCalls).toBe(1);
  const dir = path.join(
    out,
    readdirSync(out).find((d) => d !== 'latest')!,
  );
  const rows = parse(readFileSync(path.join(dir, 'runs.csv'), 'utf8'), { columns: true }) as Array<Record<string, string>>;
  expect(rows.map((r) => [r.state, r.failure_reason])).toEqual([
    ['completed', ''],
    ['aborted', 'interrupted'],
  ]);
  expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toMatch(/PARTIAL/);
  expect(lines.join('')).toMatch(/^reapbench: interrupted; partial report in /m);
});
