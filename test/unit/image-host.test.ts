import { describe, expect, it } from 'vitest';
import { imageMarkdown, imageVerdicts, imageVerdictTable } from '../../src/export/image-md.js';
import { ReapbenchError } from '../../src/errors.js';
import { chooseImageMethod } from '../../src/run/image-bench.js';
import { imageRecord, kernelZombiesAt, LINGER_MS, skippedFacts, type HostSamples } from '../../src/run/image-run.js';
import type { ProcessRecord, TraceMatch } from '../../src/tracer/index.js';
import type { PlannedRun } from '../../src/run/matrix.js';
import { NO_PIDS } from '../../src/runtime/container.js';

const run: PlannedRun = {
  init: 'none',
  scenario: 'image',
  pids_limit: 64,
  rate_per_s: 0,
  lifetime_ms: 0,
  duration_s: 3,
  repetition: 0,
  order: 0,
};
const container = { exitCode: 137, timedOut: false, aborted: false, durationMs: 3500, pids: NO_PIDS };

describe('--image measured from the host alone', () => {
  it('auto takes the kernel instrument where it loads, else the host with the reason; ebpf where it cannot is an error', () => {
    expect(chooseImageMethod('auto', { available: true })).toEqual({ method: 'ebpf', reason: null });
    expect(chooseImageMethod('host', null)).toEqual({ method: 'host', reason: null });
    const fallback = chooseImageMethod('auto', { available: false, reason: 'not root: run as root' });
    expect(fallback.method).toBe('host');
    expect(fallback.reason).toMatch(/^the kernel instrument is unavailable \(not root: run as root\); .* every 100 ms, lower bounds$/);
    expect(() => chooseImageMethod('ebpf', { available: false, reason: 'no BTF' })).toThrow(
      /--instrument ebpf: .*no BTF; --instrument host/,
    );
    const bad = (() => {
      try {
        chooseImageMethod('pidfd', { available: true });
      } catch (e) {
        return e as ReapbenchError;
      }
      return null;
    })();
    expect(bad?.exitCode).toBe(2);
    expect(bad?.message).toMatch(/auto, ebpf or host/);
  });

  it('records the sampled figures: peak and series from the readings, the first refusal dated to its reading, no latency', () => {
    const host: HostSamples = {
      periodMs: 100,
      points: [
        { us: 0, zombies: 0, pidsCurrent: 2 },
        { us: 100_000, zombies: 3, pidsCurrent: 5 },
        { us: 200_000, zombies: 5, pidsCurrent: 7 },
      ],
      forkFailureUs: 200_000,
      rejections: 4,
    };
    const r = imageRecord(run, '2026-12-02T00:00:00.000Z', container, null, { cpuMs: 10, rssKib: 900 }, null, 5, host);
    expect(r.state).toBe('completed');
    expect([r.zombies_peak, r.zombie_sample_hz, r.unreaped]).toEqual([5, 10, 5]);
    expect(r.series.map((p) => [p.t_s, p.zombies, p.pids_current])).toEqual([
      [0, 0, 2],
      [0.1, 3, 5],
      [0.2, 5, 7],
    ]);
    expect([r.first_fork_failure_s, r.first_failure_errno, r.first_failure_comm, r.fork_failures]).toEqual([0.2, 'EAGAIN', null, 4]);
    expect([r.latency_method, r.reap_latency_p50_us, r.zombies_held_by]).toEqual([null, null, null]);
  });

  it('words a host-measured failure as dated by its reading, with the comm unknown; the table shows one count', () => {
    const facts = {
      ...skippedFacts(run, ''),
      status: 'ran' as const,
      reason: null,
      method: 'host' as const,
      zombies_at_stop: 5,
      zombies_at_stop_proc: 5,
      held_by: 'python3',
      fork_failure_s: 0.2,
      stop_latency_ms: 40,
      exit_code: 143,
    };
    const [v] = imageVerdicts([facts]);
    expect(v!.verdict).toBe('leaks 5 zombies (held by python3); fork failed by 0.20 s (EAGAIN, comm unknown)');
    const table = imageVerdictTable([v!], 'host');
    expect(table.split('\n')[0]).toBe('| init | verdict | zombies at stop (/proc) | stop (exit) |');
    expect(table.split('\n')[2]).toMatch(/\| 5 \| 0\.0 s \(143\) \|$/);
    const md = imageMarkdown(
      {
        image: 'x',
        idBefore: 'sha256:1',
        idAfter: 'sha256:1',
        argv: ['a'],
        exec: null,
        durationS: 3,
        stopGraceS: 10,
        method: 'host',
        methodReason: 'why',
      },
      [v!],
      [facts],
    );
    expect(md).toMatch(
      /measured from the host without the kernel instrument \(why\): .* Limits: a zombie reaped between two readings is not seen/,
    );
  });
});

describe("report.md for an image read from the host's readings alone", () => {
  it('says how each figure was read from the host, claims nothing of the kernel, and names the image as PID 1 under none', async () => {
    const { renderMarkdown } = await import('../../src/export/markdown.js');
    const { summarize } = await import('../../src/stats/summary.js');
    const { ENV } = await import('../support/bench-fixtures.js');
    const host: HostSamples = { periodMs: 100, points: [{ us: 0, zombies: 3, pidsCurrent: 4 }], forkFailureUs: null, rejections: 0 };
    const runs = (['none', 'tini'] as const).map((init) =>
      imageRecord(
        { ...run, init },
        '2026-12-02T00:00:00.000Z',
        container,
        null,
        { cpuMs: 10, rssKib: 900 },
        null,
        init === 'none' ? 3 : 0,
        host,
      ),
    );
    const env = { ...ENV, instrument: { requested: 'host', used: 'host', reason: null } };
    const md = renderMarkdown({ runs, summary: summarize(runs), env, partial: false });
    expect(md).toMatch(/Image rows read from the host without the kernel instrument: the processes in state Z .* every 100 ms/);
    expect(md).not.toMatch(/counted from the kernel events/);
    expect(md).toContain("- **none**: No init: the image's own entrypoint and cmd are PID 1.");
    expect(md).toContain("No reaping latency: the host's readings alone cannot time a reap.");
    expect(md).not.toContain('No orphan was seen reaped');
  });
});

describe('zombies left at the stop, from the kernel events', () => {
  /** A process record with what kernelZombiesAt reads; the rest is irrelevant to it. */
  const proc = (
    nsPid: number,
    parent: { nsPid: number; comm: string },
    exitUs: number,
    reapUs: number | null,
    releasedUs: number | null = null,
  ) => ({ nsPid, comm: 'sh', parentAtExit: parent, exitUs, reapUs, releasedUs }) as unknown as ProcessRecord;
  const init = { nsPid: 1, comm: 'tini' };
  const sh = { nsPid: 7, comm: 'sh' };
  const stopUs = 1_000_000;

  it(`does not count a zombie reaped within ${LINGER_MS} ms after the stop request, and counts one reaped later or never`, () => {
    const match = {
      processes: [
        proc(10, init, stopUs - 30, stopUs + 20), // about to be reaped: not left
        proc(11, init, stopUs - 5_000, stopUs - 4_990), // reaped before the stop
        proc(12, sh, stopUs - 200_000, null), // held by a live parent that never waits
        proc(13, init, stopUs - 100, stopUs + LINGER_MS * 1000 + 1), // reaped only after the linger
      ],
    } as unknown as TraceMatch;
    expect(kernelZombiesAt(match, stopUs, LINGER_MS * 1000)).toEqual({ zombies: 2, heldBy: 'sh' });
    // At the exact instant, the one about to be reaped is a zombie too.
    expect(kernelZombiesAt(match, stopUs).zombies).toBe(3);
  });

  it('counts a zombie of an init that never reaped it, even when the init died within the linger and released it', () => {
    const match = { processes: [proc(20, { nsPid: 1, comm: 'python3' }, stopUs - 50_000, null, stopUs + 10_000)] } as unknown as TraceMatch;
    expect(kernelZombiesAt(match, stopUs, LINGER_MS * 1000)).toEqual({ zombies: 1, heldBy: 'python3' });
  });
});
