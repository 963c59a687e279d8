/**
 * Pure parts of the scenario library: init traits, expectations, verdict composition, the
 * /proc parser, matrix planning, parameters, and the markdown / CSV reports.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import {
  compose,
  parseObservation,
  planMatrix,
  resolveParams,
  scenarioByName,
  SCENARIOS,
  traitsOf,
  type ScenarioResult,
} from '../../src/scenarios/index.js';
import { scenarioNames } from '../../src/run/matrix.js';
import { detailMarkdown, renderScenariosMarkdown as renderMarkdown, scenarioMatrixMarkdown } from '../../src/export/scenarios-md.js';
import { serializeScenariosCsv as toCsv } from '../../src/export/scenarios-csv.js';
import { parseStat } from '../../src/procfs/stat.js';
import { judgeReaping } from '../../src/scenarios/def.js';

function result(over: Partial<ScenarioResult>): ScenarioResult {
  return {
    id: 'S2',
    scenario: 'tool-leaves-helper',
    case: null,
    init: 'none',
    variant: 'none',
    flags: [],
    state: 'completed',
    failureReason: null,
    params: { runs: 6 },
    pidsLimit: 64,
    outcome: 'leaks',
    verdict: 'leaks 1 zombie/run',
    expected: { outcome: 'leaks', reason: 'no init' },
    matches: true,
    exitCode: 0,
    wall_s: 3.2,
    stopLatency_s: null,
    hostPidsPeak: 19,
    hostForkRejections: 0,
    hostPidsMethod: null,
    figures: { zombies_end: 6, adopters: 'pid1:node=6' },
    kernel: null,
    observation: null,
    ...over,
  };
}

describe('scenario library', () => {
  it('has S1–S7 under their CLI names and registers them with --scenario', () => {
    expect(SCENARIOS.map((s) => s.name)).toEqual([
      'killed-parent-tree',
      'tool-leaves-helper',
      'probe-timeout',
      'double-fork-daemon',
      'init-not-pid1',
      'stop-latency',
      'limit-exhaustion',
    ]);
    expect(SCENARIOS.map((s) => s.id)).toEqual(['S1', 'S2', 'S3', 'S4', 'S5', 'S6', 'S7']);
    expect(scenarioNames()).toEqual(expect.arrayContaining(['orphans', 'double-fork-daemon', 'limit-exhaustion']));
    expect(scenarioByName('s4')?.name).toBe('double-fork-daemon');
  });

  it('validates parameters with one message template', () => {
    const def = scenarioByName('killed-parent-tree')!;
    expect(resolveParams(def, { cycles: '3' }).cycles).toBe(3);
    expect(() => resolveParams(def, { cycles: -1 })).toThrow(
      'Expected `cycles` of killed-parent-tree to be a non-negative number, got `-1`',
    );
    expect(() => resolveParams(def, { bogus: 1 })).toThrow(/unknown parameter `bogus`/);
  });

  it('plans the relevant variants: subreaper ones for S5, group ones for S6, plain elsewhere', () => {
    const s5 = planMatrix({ scenarios: ['init-not-pid1'] }).map((r) => r.variant.label);
    expect(s5).toEqual(['none', 'tini', 'tini -s', 'dumb-init', 'docker-init', 'catatonit', 'ts-reaper', 'ts-reaper -s']);
    const s6 = planMatrix({ scenarios: ['stop-latency'] })
      .filter((r) => r.caseName === 'launcher')
      .map((r) => r.variant.label);
    expect(s6).toEqual([
      'none',
      'tini',
      'tini -g',
      'dumb-init',
      'dumb-init -c',
      'docker-init',
      'catatonit',
      'catatonit -g',
      'ts-reaper',
      'ts-reaper -g',
      'ts-reaper --shutdown group',
    ]);
    expect(planMatrix({ scenarios: ['tool-leaves-helper'] })).toHaveLength(6);
  });
});

describe('expectations from documented behaviour', () => {
  it('S5: only a subreaper-capable init helps; dumb-init cannot; docker-init is not applicable', () => {
    const s5 = scenarioByName('init-not-pid1')!;
    expect(s5.expect('tini', [], null).outcome).toBe('leaks');
    expect(s5.expect('tini', ['-s'], null).outcome).toBe('reaped');
    expect(s5.expect('catatonit', [], null).outcome).toBe('reaped');
    expect(s5.expect('dumb-init', [], null)).toMatchObject({ outcome: 'leaks', cannotHelp: expect.stringContaining('no subreaper') });
    expect(s5.expect('docker-init', [], null).outcome).toBe('not-applicable');
  });

  it('S6: group signalling, waiting for the group, and setsid escapes', () => {
    const s6 = scenarioByName('stop-latency')!;
    expect(s6.expect('none', [], 'launcher').outcome).toBe('sigkill-after-grace');
    expect(s6.expect('tini', [], 'launcher').outcome).toBe('handler-skipped');
    expect(s6.expect('dumb-init', [], 'launcher').outcome).toBe('handler-cut-short');
    expect(s6.expect('dumb-init', ['-c'], 'launcher').outcome).toBe('handler-skipped');
    expect(s6.expect('ts-reaper', ['--shutdown', 'group'], 'launcher').outcome).toBe('graceful');
    expect(s6.expect('catatonit', ['-g'], 'launcher-setsid').cannotHelp).toMatch(/setsid/);
    expect(traitsOf('dumb-init', []).signalsGroup).toBe(true);
    expect(traitsOf('tini', ['-g']).signalsGroup).toBe(true);
  });

  it('S6 under group signalling: verdict, figures and expected column agree whether or not the handler started', () => {
    const s6 = scenarioByName('stop-latency')!;
    const params = { ...s6.defaults };
    for (const [init, flags] of [
      ['tini', ['-g']],
      ['dumb-init', []],
      ['catatonit', ['-g']],
      ['ts-reaper', ['-g']],
    ] as const) {
      const expected = s6.expect(init, [...flags], 'launcher');
      for (const [markers, outcome, said, started] of [
        [[], 'handler-skipped', 'handler never ran', false],
        [['handler-started'], 'handler-cut-short', 'handler started but was cut short', true],
      ] as const) {
        const j = s6.judge({
          obs: null,
          init,
          flags: [...flags],
          caseName: 'launcher',
          params,
          exitCode: 143,
          stopLatency_s: 0.1,
          markers: new Set(['ready', ...markers]),
          host: {},
        });
        expect([j.outcome, j.verdict, j.figures.handler_started]).toEqual([outcome, `stopped in 0.1 s (143), ${said}`, started]);
        const { verdict, matches } = compose(expected, j);
        expect(matches).toBe(true);
        // The detail table's expected column names the outcome measured, whichever it was.
        const result: ScenarioResult = {
          id: 'S6',
          scenario: 'stop-latency',
          case: 'launcher',
          init,
          variant: [init, ...flags].join(' '),
          flags: [...flags],
          state: 'completed',
          verdict,
          outcome: j.outcome,
          expected,
          matches,
          exitCode: 143,
          wall_s: 2,
          figures: j.figures,
        } as ScenarioResult;
        const row = detailMarkdown([result]).split('\n')[2]!;
        const expectedCell = row.split(' | ')[3]!;
        expect(expectedCell).toContain(outcome);
      }
      // The reason claims no handler start: a run where it never started must not contradict it.
      expect(expected.reason).not.toMatch(/races the teardown and never finishes/);
    }
  });

  it('composes "cannot help" verdicts only when the observation matches', () => {
    const exp = { outcome: 'leaks' as const, reason: 'x', cannotHelp: 'parent alive' };
    expect(compose(exp, { outcome: 'leaks', verdict: 'leaks 1 zombie/run', figures: {} })).toEqual({
      verdict: 'cannot help: parent alive — leaks 1 zombie/run',
      matches: true,
    });
    expect(compose(exp, { outcome: 'reaped', verdict: 'ok', figures: {} })).toEqual({ verdict: 'ok', matches: false });
    expect(
      compose(
        { outcome: 'handler-cut-short', reason: 'race', alsoAccept: ['handler-skipped'] },
        { outcome: 'handler-skipped', verdict: 'v', figures: {} },
      ).matches,
    ).toBe(true);
  });
});

describe('observer and judgement', () => {
  it('parses /proc/<pid>/stat with spaces and parentheses in comm', () => {
    expect(parseStat('42 (a (b) c) Z 1 7 7 0 -1')).toEqual({ pid: 42, comm: 'a (b) c', state: 'Z', ppid: 1, pgid: 7, sid: 7, nice: NaN });
    // Field 19 is the nice value (proc(5)).
    expect(parseStat('42 (x) S 1 7 7 0 -1 4194560 0 0 0 0 0 0 0 0 20 -5 1 0')?.nice).toBe(-5);
  });

  it('judges zombies held by PID 1 as leaks per cycle, and zombies held by a living app parent as cannot-help', () => {
    const obs = JSON.parse(
      JSON.stringify({
        scenario: 'tool-leaves-helper',
        pid: 1,
        ppid: 0,
        initPid: null,
        pid1Comm: 'node',
        cycles: 6,
        duration_s: 3,
        zombies: { total: 6, byParent: { pid1: 6, init: 0, app: 0, other: 0 }, list: [] },
        zombiesPeak: 6,
        liveOrphans: { pid1: 0, init: 0, list: [] },
        adopters: { 'pid1:node': 6 },
        leftovers: [],
        pids: { current: 17, max: 64, peak: 19, eventsMax: 0, baseline: 11 },
        appThreads: 11,
        forkFailures: { count: 0, first_s: null, firstLevel: null, firstErrno: null, messages: [] },
        series: [],
        extra: {},
      }),
    );
    expect(judgeReaping(obs, 'run')).toMatchObject({ outcome: 'leaks', verdict: 'leaks 1 zombie/run, 6 held by PID 1 (node)' });
    obs.zombies.byParent = { pid1: 0, init: 0, app: 6, other: 0 };
    expect(judgeReaping(obs, 'run').outcome).toBe('cannot-help');
    obs.zombies.total = 0;
    expect(judgeReaping(obs, 'run')).toMatchObject({ outcome: 'reaped', verdict: 'ok' });
    expect(parseObservation(`noise\nRB-RESULT ${JSON.stringify(obs)}\n`)?.cycles).toBe(6);
  });
});

describe('reports', () => {
  const rs = [
    result({}),
    result({ init: 'tini', variant: 'tini', outcome: 'reaped', verdict: 'ok', expected: { outcome: 'reaped', reason: 'reaps' } }),
    result({ id: 'S5', scenario: 'init-not-pid1', init: 'tini', variant: 'tini -s', flags: ['-s'], verdict: 'ok' }),
    result({ id: 'S5', scenario: 'init-not-pid1', init: 'tini', variant: 'tini', verdict: 'a | b', matches: false }),
  ];

  it('renders a scenario × init table with variants in the cell and mismatches marked', () => {
    const md = scenarioMatrixMarkdown(rs);
    const lines = md.split('\n');
    expect(lines[0]).toBe('| scenario | none | tini |');
    expect(lines[2]).toBe('| S2 tool-leaves-helper | leaks 1 zombie/run | ok |');
    expect(lines[3]).toContain('**-s**: ok<br>a \\| b ✗ (expected leaks)');
    expect(renderMarkdown(rs, { command: 'x', startedAt: 't', image: 'i', engine: 'e' })).toContain('1 not (S5 init-not-pid1 / tini)');
  });

  it('writes CSV with one row per run and figures as columns', () => {
    const rows = parse(toCsv(rs), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({
      scenario: 'tool-leaves-helper',
      init: 'none',
      verdict: 'leaks 1 zombie/run',
      matches: 'true',
      fig_zombies_end: '6',
      fig_adopters: 'pid1:node=6',
    });
    expect(rows[3]!.verdict).toBe('a | b');
  });
});
