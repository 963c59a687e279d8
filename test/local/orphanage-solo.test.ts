/**
 * `orphanage solo`: the workload that runs alone in a container when the kernel tracer measures
 * from outside. Checked in bare PID namespaces with a real pids cgroup (root, no engine): as PID 1
 * it leaves adopted orphans alone (so they stay zombies and the limit is reached after exactly
 * L − 3 orphans: `unshare`, which waits outside the namespace, PID 1 and one intermediate hold the
 * other three slots), it stops producing after
 * the grace period that follows the first failed fork, and under an init that reaps it never
 * fails a fork at a rate that fits.
 */
import { describe, expect, it } from 'vitest';
import { parseHelperLine, type HelperReport } from '../../src/loadgen/helper.js';
import { makePidsCgroup, orphanageBin, requireBuild, runCommandInNamespace } from '../support/loadgen.js';

/** solo's stdout through the load generator's own parser of the helper's lines. */
function parseSolo(stdout: string): HelperReport[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const r = parseHelperLine(l);
      if (!r) throw new Error(`unparsable line from orphanage solo: ${l}`);
      return r;
    });
}

const solo = (rate: number, lifetimeUs: number, durationMs: number, graceMs: number, drainMs: number): string[] => [
  orphanageBin,
  'solo',
  String(rate),
  String(lifetimeUs),
  '1',
  '0',
  String(durationMs),
  '1',
  String(graceMs),
  String(drainMs),
];

describe('orphanage solo (the workload alone in the container)', () => {
  requireBuild();

  it('as PID 1 it reaps only its own intermediates: L − 3 orphans fit, then EAGAIN, then it stops after the grace period', async () => {
    const limit = 40;
    const cg = makePidsCgroup(limit);
    try {
      // 30 s of production is the upper bound; the grace stop must end it long before.
      const r = await runCommandInNamespace('none', solo(500, 2000, 30_000, 200, 100), cg);
      expect(r.code, r.stderr).toBe(0);
      const lines = parseSolo(r.stdout);
      const start = lines.find((l) => l.kind === 'started');
      const failures = lines.filter((l) => l.kind === 'failure');
      const done = lines.find((l) => l.kind === 'done');
      expect(lines.filter((l) => l.kind === 'orphan')).toEqual([]); // no line per orphan
      expect(lines.find((l) => l.kind === 'counts')).toEqual({ kind: 'counts', made: limit - 3, madeBeforeFailure: limit - 3 });
      expect(failures.length).toBeGreaterThan(0);
      expect(failures[0]!.errno).toBe(11); // EAGAIN: the pids cgroup refused the fork
      expect(start && done).toBeTruthy();
      expect((done!.tNs - failures[0]!.tNs) / 1e6).toBeLessThan(10_000);
      expect((done!.tNs - start!.tNs) / 1e6).toBeLessThan(30_000);
    } finally {
      await cg.remove();
    }
  });

  it('under tini, at a rate that fits the limit, no fork fails and it stops at its duration', async () => {
    const cg = makePidsCgroup(40);
    try {
      const r = await runCommandInNamespace('tini', solo(200, 2000, 1000, 200, 100), cg);
      expect(r.code, r.stderr).toBe(0);
      const lines = parseSolo(r.stdout);
      const counts = lines.find((l) => l.kind === 'counts');
      expect(lines.filter((l) => l.kind === 'failure')).toEqual([]);
      expect(counts).toMatchObject({ madeBeforeFailure: null });
      expect(counts && 'made' in counts && counts.made).toBeGreaterThan(100);
      expect(lines.find((l) => l.kind === 'done')).toMatchObject({ attempted: counts && 'made' in counts ? counts.made : -1 });
    } finally {
      await cg.remove();
    }
  });

  it('rejects bad arguments with a one-line usage message and exit 2', async () => {
    const r = await runCommandInNamespace('none', [orphanageBin, 'solo', '-1', '2000', '1', '0', '1000', '1', '0', '0'], null);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('orphanage: solo: invalid argument');
  });
});
