import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PRESETS, planRuns, readMatrixFile, resolveMatrix } from '../../src/run/matrix.js';
import { parseInits } from '../../src/run/inits.js';
import { launchFor } from '../../src/runtime/init-launch.js';
import { DEFAULT_INITS as INITS, INITS as ALL_INITS } from '../../src/model/inits.js';
import { ReapbenchError } from '../../src/errors.js';

function usage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ReapbenchError);
    expect((err as ReapbenchError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
}

describe('inits', () => {
  it('puts each init in front of the workload the way its docs say', () => {
    expect(launchFor('none')).toEqual({ prefix: [], engineInit: false });
    expect(launchFor('docker-init')).toEqual({ prefix: [], engineInit: true });
    expect(launchFor('tini', ['-s'])).toEqual({ prefix: ['tini', '-s', '--'], engineInit: false });
    expect(launchFor('dumb-init')).toEqual({ prefix: ['dumb-init'], engineInit: false });
    expect(launchFor('catatonit').prefix).toEqual(['catatonit', '--']);
    expect(launchFor('ts-reaper', ['-g']).prefix).toEqual(['ts-reaper', '-g', '--']);
  });

  it('parses lists in canonical order, accepts all, rejects unknown names with the valid ones', () => {
    expect(parseInits('ts-reaper,tini')).toEqual(['tini', 'ts-reaper']);
    expect(parseInits('all')).toEqual([...INITS]);
    expect(usage(() => parseInits('tini,s6'))).toBe(
      'Expected `--inits` to be a comma-separated list of none, none:python, none:bash, none:sh, tini, dumb-init, docker-init, catatonit, ts-reaper, supervisord, s6-svscan, runit (none:node = none), or a group: all, all-pid1, none:*, supervisors, got `s6`',
    );
  });

  it('rejects a list with an empty item instead of running without it', () => {
    for (const list of ['tini,,none', 'tini,', ',tini', 'tini, ,none'])
      expect(usage(() => parseInits(list))).toBe(`Expected \`--inits\` to be a comma-separated list with no empty item, got \`${list}\``);
    expect(usage(() => parseInits(' , '))).toMatch(/^Expected `--inits` to list at least one of /);
  });

  it('keeps none:node as none, and takes the opt-in rows by name or group, once each, in canonical order', () => {
    expect(parseInits('none:node')).toEqual(['none']);
    expect(parseInits('none:node,none')).toEqual(['none']);
    expect(parseInits('runit,none:sh,tini')).toEqual(['none:sh', 'tini', 'runit']);
    expect(parseInits('none:*')).toEqual(['none', 'none:python', 'none:bash', 'none:sh']);
    expect(parseInits('supervisors,tini')).toEqual(['tini', 'supervisord', 's6-svscan', 'runit']);
    expect(parseInits('all-pid1')).toEqual([...ALL_INITS]);
    expect(ALL_INITS).toHaveLength(12);
  });

  it('rejects an unknown none:<lang> in one line listing the choices', () => {
    const message = usage(() => resolveMatrix({ inits: 'none:ruby' }));
    expect(message).toMatch(
      /^Expected `--inits` to be a comma-separated list of none, none:python, none:bash, none:sh, .*all-pid1.*, got `none:ruby`$/,
    );
    expect(message).not.toContain('\n');
  });

  it('gives every opt-in app row a parent that is not the workload: a shell -c string that cannot exec its last command', () => {
    for (const init of ['none:bash', 'none:sh'] as const) {
      const { prefix } = launchFor(init);
      expect(prefix.slice(0, 2)).toEqual([init.slice(5), '-c']);
      // The workload is not the last command of the string: the shell forks it and waits.
      expect(prefix[2]).toMatch(/"\$@"; exit \$\?$/);
    }
    expect(launchFor('none:python').prefix.slice(0, 2)).toEqual(['python3', '-c']);
    for (const init of ['supervisord', 's6-svscan', 'runit'] as const) {
      const { prefix } = launchFor(init);
      expect(prefix.slice(0, 2)).toEqual(['sh', '-c']);
      expect(prefix[2]).toMatch(/\nexec (supervisord|s6-svscan|runsvdir) /);
    }
  });
});

describe('matrix', () => {
  it('defaults to the quick preset with the six default inits (the opt-in rows are not in it)', () => {
    const m = resolveMatrix({ seed: 1 });
    expect(m.preset).toBe('quick');
    expect(m.inits).toEqual([...INITS]);
    expect(m.limits).toEqual(PRESETS.quick.limits);
  });

  it('overrides axes from strings and validates each value', () => {
    const m = resolveMatrix({ inits: 'tini,ts-reaper', limits: '128', rates: '200,1000', seed: 3 });
    expect([m.inits, m.limits, m.rates]).toEqual([['tini', 'ts-reaper'], [128], [200, 1000]]);
    expect(usage(() => resolveMatrix({ rates: '-5' }))).toBe('Expected `--rates` to be a positive number ≤ 100000, got `-5`');
    expect(usage(() => resolveMatrix({ rates: '0' }))).toMatch(/positive number/);
    expect(usage(() => resolveMatrix({ limits: '12.5' }))).toBe('Expected `--limits` to be an integer from 32 to 4194304, got `12.5`');
    expect(usage(() => resolveMatrix({ limits: '16' }))).toMatch(/from 32 to/);
    expect(usage(() => resolveMatrix({ lifetime_ms: '-1' }))).toMatch(/`--lifetime-ms` to be a non-negative number/);
    expect(usage(() => resolveMatrix({ duration_s: 'abc' }))).toMatch(/`--duration-s`.*got `abc`/);
    expect(usage(() => resolveMatrix({ preset: 'huge' }))).toBe('Expected `--preset` to be one of quick, full, got `huge`');
    expect(usage(() => resolveMatrix({ scenarios: 'nope' }))).toMatch(
      /^Expected `--scenario` to be all, or a comma-separated list of .*, got `nope`$/,
    );
  });

  it('plans a warm-up run, then every cell once per repetition in a seeded shuffled order', () => {
    const m = resolveMatrix({ inits: 'all', rates: '100,200', repetitions: 3, seed: 42 });
    const plan = planRuns(m);
    const cells = INITS.length * 2;
    expect(plan.length).toBe(1 + 3 * cells);
    expect(plan[0]!.repetition).toBe(-1);
    for (let rep = 0; rep < 3; rep++) {
      const runs = plan.filter((r) => r.repetition === rep);
      expect(new Set(runs.map((r) => `${r.init}/${r.rate_per_s}`)).size).toBe(cells);
      expect(runs.map((r) => r.order)).toEqual([...Array(cells).keys()]);
    }
    const orderOf = (rep: number): string =>
      plan
        .filter((r) => r.repetition === rep)
        .map((r) => r.init + r.rate_per_s)
        .join();
    expect(orderOf(0) === orderOf(1) && orderOf(1) === orderOf(2)).toBe(false);
    expect(planRuns(m)).toEqual(plan);
    expect(planRuns({ ...m, warmup: false }).length).toBe(3 * cells);
  });

  it('reads a YAML or JSON matrix file and rejects unknown keys', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'reapbench-matrix-'));
    try {
      const y = path.join(dir, 'm.yaml');
      await writeFile(y, 'inits: [tini, ts-reaper]\nlimits: [64, 128]\nlifetime-ms: 3\n');
      const m = resolveMatrix({ ...(await readMatrixFile(y)), seed: 1 });
      expect([m.inits, m.limits, m.lifetime_ms]).toEqual([['tini', 'ts-reaper'], [64, 128], 3]);
      const j = path.join(dir, 'm.json');
      await writeFile(j, '{"colour": 1}');
      await expect(readMatrixFile(j)).rejects.toThrow(/^Expected the keys of matrix file .* to be among .*, got `colour`$/);
      await writeFile(j, '{bad');
      await expect(readMatrixFile(j)).rejects.toThrow(/not valid JSON/);
      // yaml's message ends its first line with ':' before an excerpt: the one line ends at the sentence.
      await writeFile(y, 'inits: [tini,\nlimits: 3\n');
      const bad = (await readMatrixFile(y).catch((e: unknown) => e)) as Error;
      expect(bad.message).toMatch(/^matrix file .*m\.yaml is not valid YAML: .* at line \d+, column \d+$/);
      await expect(readMatrixFile(path.join(dir, 'none.json'))).rejects.toThrow(/cannot read matrix file .*ENOENT/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes the command-line option names as keys too: scenario, no-warmup', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'reapbench-matrix-'));
    try {
      const y = path.join(dir, 'm.yaml');
      await writeFile(y, 'scenario: [orphans, S2]\nno-warmup: true\n');
      const m = resolveMatrix({ ...(await readMatrixFile(y)), seed: 1 });
      expect([m.scenarios, m.warmup]).toEqual([['orphans', 'tool-leaves-helper'], false]);
      await writeFile(y, 'no_warmup: false\n');
      expect(resolveMatrix(await readMatrixFile(y)).warmup).toBe(true);
      await writeFile(y, 'scenario: [orphans]\nscenarios: [orphans]\n');
      await expect(readMatrixFile(y)).rejects.toThrow(/`scenarios` sets `scenarios` a second time/);
      await writeFile(y, 'warmup: yes-please\n');
      await expect(readMatrixFile(y)).rejects.toThrow(/^Expected `warmup` in matrix file .* to be true or false, got `yes-please`$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
