import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePidsCgroup, requireBuild, runDirect, runInNamespace, tmpOut, type TestCgroup } from '../support/loadgen.js';

// Bad input: one line on stderr, exit 2, no stack trace, no results file under the final name
// (and no leftover .partial for runs refused before production).
describe('loadgen bad input', () => {
  let cg: TestCgroup;
  beforeAll(() => {
    requireBuild();
    cg = makePidsCgroup(64);
  });
  afterAll(async () => cg.remove());

  const refused = (r: { code: number | null; stderr: string }, pattern: RegExp): void => {
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(pattern);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };

  it.each([
    [['--rate', '0', '--count', '5'], /Expected `--rate` to be a positive number, got `0`/],
    [['--rate', '-3', '--count', '5'], /Expected `--rate` to be a positive number/],
    [['--lifetime-ms', '-1', '--count', '5'], /Expected `--lifetime-ms` to be a non-negative number, got `-1`/],
    [['--count', '0'], /Expected `--count` to be an integer/],
    [['--rate', '10'], /Expected `--count` or `--duration-s`/],
    [['--count', '5', '--bogus'], /Expected an option of loadgen, got `--bogus`; see loadgen --help/],
    [['--count', '5', '--after-failure', 'halt'], /Expected `--after-failure` to be one of stop, continue, got `halt`/],
    [['--count', '5', '--cgroup-dir', '/nonexistent'], /Expected `--cgroup-dir` to contain pids.current/],
  ])('refuses %j', async (args, pattern) => {
    const out = tmpOut('bad');
    refused(await runDirect([...args, '--out', out]), pattern);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('refuses a run without any pids cgroup file (host root cgroup) and says how to proceed', async () => {
    const out = tmpOut('nocg');
    const r = await runDirect(['--count', '5', '--out', out]);
    if (r.code === 0) return; // the test process itself sits in a pids cgroup with files: nothing to refuse
    refused(r, /No pids cgroup files found .*--no-cgroup/);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a rate × lifetime that cannot fit pids.max', async () => {
    const r = await runInNamespace('tini', ['--rate', '1000', '--lifetime-ms', '1000', '--count', '10'], cg);
    refused(r, /needs ~1002 tasks at once, budget is \d+ \(pids.max 64/);
    expect(r.events).toBeNull();
    expect(existsSync(`${r.out}.partial`)).toBe(false);
  });

  it('forcing the EPOLLHUP method is accepted on this kernel (≥ 6.9), the poll fallback is labelled', async () => {
    const r = await runInNamespace(
      'tini',
      ['--rate', '100', '--lifetime-ms', '20', '--count', '50', '--watch-method', 'poll', '--forkloop-ms', '0'],
      cg,
    );
    expect(r.code).toBe(0);
    expect(r.summary!.latency_method).toBe('pidfd-poll');
    expect(r.summary!.latency_resolution_us).toBe(1000);
    expect(r.summary!.orphans_reaped + r.summary!.orphans_missed).toBe(50);
  });
});
