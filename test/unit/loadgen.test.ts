import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { errnoName } from '../../src/ffi/errno.js';
import { parseHelperLine } from '../../src/loadgen/helper.js';
import { parseOptions, resolvePidsCgroup, UsageError } from '../../src/loadgen/options.js';
import { parseLoadgenResults } from '../../src/loadgen/read.js';
import { littlesLaw, loadPhaseRate, percentiles } from '../../src/loadgen/stats.js';
import type { SampleEvent } from '../../src/loadgen/types.js';
import { parsePidsEventsMax, parsePidsValue, pidsCgroupCandidates, readPids } from '../../src/procfs/pids-cgroup.js';

describe('loadgen pure parts', () => {
  it('parses every helper report line and rejects garbage', () => {
    expect(parseHelperLine('O 123 456789')).toEqual({ kind: 'orphan', pid: 123, tNs: 456789 });
    expect(parseHelperLine('F i 11 5')).toEqual({ kind: 'failure', level: 'intermediate', errno: 11, tNs: 5 });
    expect(parseHelperLine('F o 11 5')).toEqual({ kind: 'failure', level: 'orphan', errno: 11, tNs: 5 });
    expect(parseHelperLine('D 10 1 99')).toEqual({ kind: 'done', attempted: 10, tNs: 99 });
    expect(parseHelperLine('S 7')).toEqual({ kind: 'started', tNs: 7 });
    expect(parseHelperLine('F x 11 5')).toBeNull();
    expect(parseHelperLine('hello')).toBeNull();
    expect(errnoName(11)).toBe('EAGAIN');
    expect(errnoName(999)).toBe('E999');
  });

  it('computes percentiles with simple-statistics (linear interpolation)', () => {
    const p = percentiles([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(p).toMatchObject({ n: 10, p50_us: 5.5, max_us: 10, mean_us: 5.5 });
    expect(percentiles([])).toEqual({ n: 0, p50_us: null, p90_us: null, p99_us: null, max_us: null, mean_us: null });
  });

  it("applies Little's law: W = mean zombies ÷ exit rate", () => {
    // 100 exits/s for 2 s, 2 zombies on average → W = 20 ms.
    const samples = Array.from({ length: 100 }, (_, i) => ({ t_us: i * 20_000, zombies: i % 2 === 0 ? 1 : 3 }) as SampleEvent);
    const exits = Array.from({ length: 200 }, (_, i) => i * 10_000);
    const r = littlesLaw(samples, exits, 0, 2_000_000)!;
    expect(r.meanZombies).toBe(2);
    expect(r.exitRatePerS).toBe(100);
    expect(r.latencyUs).toBe(20_000);
    expect(littlesLaw(samples, exits, 0, 100_000)).toBeNull(); // window too short
  });

  it('reads pids files of both layouts: "max" is no limit, a missing file is not read', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'pids-'));
    writeFileSync(path.join(d, 'pids.current'), '12\n');
    writeFileSync(path.join(d, 'pids.max'), 'max\n');
    writeFileSync(path.join(d, 'pids.events'), 'max 3\nmax.imposed 0\n');
    const dirOption = (cgroupDir: string) => resolvePidsCgroup({ cgroupDir, noCgroup: false });
    const cg = dirOption(d)!;
    expect(cg.version).toBe(1);
    expect(readPids(cg)).toEqual({ current: 12, max: 'max', eventsMax: 3 });
    writeFileSync(path.join(d, 'cgroup.controllers'), 'pids\n');
    writeFileSync(path.join(d, 'pids.max'), '64\n');
    expect(dirOption(d)?.version).toBe(2);
    expect(readPids(cg).max).toBe(64);
    rmSync(path.join(d, 'pids.max'));
    expect(readPids(cg).max).toBeNull(); // not read is not "no limit"
    expect(parsePidsValue('')).toBeNull();
    expect(parsePidsValue(' 7\n')).toBe(7);
    expect(parsePidsEventsMax('max.imposed 4\n')).toBeNull();
    rmSync(d, { recursive: true });
    expect(() => dirOption('/nonexistent')).toThrow(UsageError);
    expect(resolvePidsCgroup({ cgroupDir: d, noCgroup: true })).toBeNull();
  });

  it('validates options with one message template', () => {
    const base = ['--out', '/tmp/x.ndjson', '--count', '10'];
    expect(() => parseOptions(['--rate', '0', ...base])).toThrow('Expected `--rate` to be a positive number, got `0`');
    expect(() => parseOptions(['--rate', 'abc', ...base])).toThrow('Expected `--rate` to be a positive number, got `abc`');
    expect(() => parseOptions(['--lifetime-ms', '-1', ...base])).toThrow('Expected `--lifetime-ms` to be a non-negative number, got `-1`');
    expect(() => parseOptions(['--batch', '65', ...base])).toThrow('Expected `--batch` to be an integer from 1 to 64');
    expect(() => parseOptions(['--out', '/tmp/x'])).toThrow('Expected `--count` or `--duration-s`');
    expect(() => parseOptions(['--after-failure', 'maybe', ...base])).toThrow(UsageError);
    const o = parseOptions(['--rate', 'max', ...base], {});
    expect(o).toMatchObject({ ratePerS: null, count: 10, durationS: null, afterFailure: 'stop', cgroupDir: null });
    expect(parseOptions(base, { REAPBENCH_PIDS_CGROUP: '/x' }).cgroupDir).toBe('/x');
    expect(parseOptions(['--pin', '0:1', ...base]).pin).toEqual({ observerCpu: 0, workloadCpu: 1 });
    expect(parseOptions(base).pin).toBeNull();
    expect(() => parseOptions(['--pin', '1:1', ...base])).toThrow(
      'Expected `--pin` to be two different CPU numbers as OBS:WORK (e.g. 0:1), got `1:1`',
    );
    expect(() => parseOptions(['--pin', 'x', ...base])).toThrow(UsageError);
  });

  it('finds the pids cgroup directory in the v1 Docker, v1 host and v2 layouts', () => {
    // Docker 20.10 on cgroup v1: host cgroup namespace, the container's own cgroup bind-mounted.
    const dockerV1 = pidsCgroupCandidates(
      '12:pids:/docker/abc\n11:memory:/docker/abc\n0::/system.slice/containerd.service\n',
      '900 899 0:35 /docker/abc /sys/fs/cgroup/pids ro,nosuid - cgroup cgroup rw,pids\n' +
        '901 899 0:31 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n',
    );
    expect(dockerV1[0]).toEqual({ dir: '/sys/fs/cgroup/pids', version: 1 });
    // v1 on a host (this machine): the whole hierarchy is mounted.
    const hostV1 = pidsCgroupCandidates(
      '8:pids:/reapbench-test-1\n0::/\n',
      '38 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n',
    );
    expect(hostV1[0]).toEqual({ dir: '/sys/fs/cgroup/pids/reapbench-test-1', version: 1 });
    // v2 with a private cgroup namespace (Docker ≥ 20.10 default on v2): "/" is our cgroup.
    const v2ns = pidsCgroupCandidates('0::/\n', '30 22 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n');
    expect(v2ns).toEqual([{ dir: '/sys/fs/cgroup', version: 2 }]);
    // v2 on a host, a nested cgroup; mount point with an escaped space.
    const v2host = pidsCgroupCandidates('0::/user.slice/x.scope\n', '30 22 0:27 / /sys/fs/my\\040cg rw - cgroup2 cgroup2 rw\n');
    expect(v2host).toEqual([{ dir: '/sys/fs/my cg/user.slice/x.scope', version: 2 }]);
  });

  it('reads a results file back and refuses an incomplete one', () => {
    const start = JSON.stringify({ type: 'start', schema: 1 });
    const orphan = JSON.stringify({ type: 'orphan', pid: 5 });
    const summary = JSON.stringify({ type: 'summary', schema: 1 });
    const r = parseLoadgenResults([start, orphan, summary, ''].join('\n'));
    expect(r.orphans).toHaveLength(1);
    expect(() => parseLoadgenResults([start, orphan].join('\n'))).toThrow('did not complete');
    expect(() => parseLoadgenResults([start, '{oops', summary].join('\n'))).toThrow('line 2 is not JSON');
  });
});

describe('loadPhaseRate (achieved_rate_per_s)', () => {
  it('is orphans over the whole production when no fork failed', () => {
    expect(loadPhaseRate(2000, 2.004, null)).toBeCloseTo(998.004, 3);
  });

  it('after a failed fork, counts only the load phase before it: not the grace period and drain that follow', () => {
    // 47 orphans in the 10.5 ms before the first failure, then 0.5 s of failing forks: 4476/s,
    // not the 92/s that orphans_made ÷ production_s would say.
    expect(loadPhaseRate(47, 0.51, { s: 0.0105, before: 47 })).toBeCloseTo(4476.19, 2);
    // Orphans made after the first failure (forks succeeding again in the grace period) are not
    // in the load phase either.
    expect(loadPhaseRate(60, 1.2, { s: 0.5, before: 50 })).toBe(100);
  });

  it('is 0 when the load phase took no time (the first fork failed at once)', () => {
    expect(loadPhaseRate(0, 0.3, { s: 0, before: 0 })).toBe(0);
    expect(loadPhaseRate(0, 0, null)).toBe(0);
  });
});
