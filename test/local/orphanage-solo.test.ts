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
import { makePidsCgroup, orphanageBin, requireBuild, runCommandInNamespace } from '../support/loadgen.js';

interface SoloLines {
  t0Ns: bigint;
  orphans: number;
  failures: { level: string; errno: number; tNs: bigint }[];
  done: { made: number; intermediateFailures: number; tNs: bigint } | null;
}

/** Parse solo's stdout (the line format is documented at the top of orphanage.c). */
function parseSolo(stdout: string): SoloLines {
  const out: SoloLines = { t0Ns: -1n, orphans: 0, failures: [], done: null };
  for (const line of stdout.split('\n')) {
    const f = line.split(' ');
    if (f[0] === 'S') out.t0Ns = BigInt(f[1]!);
    else if (f[0] === 'O') out.orphans += 1;
    else if (f[0] === 'F') out.failures.push({ level: f[1]!, errno: Number(f[2]), tNs: BigInt(f[3]!) });
    else if (f[0] === 'D') out.done = { made: Number(f[1]), intermediateFailures: Number(f[2]), tNs: BigInt(f[3]!) };
  }
  return out;
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
      const s = parseSolo(r.stdout);
      expect(s.orphans).toBe(limit - 3);
      expect(s.failures.length).toBeGreaterThan(0);
      expect(s.failures[0]!.errno).toBe(11); // EAGAIN: the pids cgroup refused the fork
      expect(s.done).not.toBeNull();
      const stoppedAfterMs = Number(s.done!.tNs - s.failures[0]!.tNs) / 1e6;
      expect(stoppedAfterMs).toBeLessThan(10_000);
      expect(Number(s.done!.tNs - s.t0Ns) / 1e6).toBeLessThan(30_000);
    } finally {
      await cg.remove();
    }
  });

  it('under tini, at a rate that fits the limit, no fork fails and it stops at its duration', async () => {
    const cg = makePidsCgroup(40);
    try {
      const r = await runCommandInNamespace('tini', solo(200, 2000, 1000, 200, 100), cg);
      expect(r.code, r.stderr).toBe(0);
      const s = parseSolo(r.stdout);
      expect(s.failures).toEqual([]);
      expect(s.orphans).toBeGreaterThan(100);
      expect(s.done?.made).toBe(s.orphans);
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
