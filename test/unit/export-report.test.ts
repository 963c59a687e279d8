import { describe, expect, it } from 'vitest';
import { DEFAULT_INITS as INITS } from '../../src/model/inits.js';
import {
  chartSpecs,
  latencyChartSpec,
  renderSvg,
  SURVIVED_RULE_COLOR,
  survivalChartSpec,
  zombiesChartSpec,
} from '../../src/export/charts.js';
import { INIT_COLORS } from '../../src/model/init-colors.js';
import { engineLabel, leftOutPhrase } from '../../src/export/format.js';
import { renderZombieChart } from '../../src/terminal/zombie-chart.js';
import { renderMarkdown } from '../../src/export/markdown.js';
import { renderTerminalReport } from '../../src/terminal/report.js';
import { createOutput, reportWidth, UNBOUNDED_TEXT_WIDTH } from '../../src/terminal/output.js';
import { renderScenarioTable } from '../../src/terminal/scenario-table.js';
import { SCENARIO_RESULTS } from '../support/golden-scenarios.js';
import { summarize } from '../../src/stats/summary.js';
import { ENV, makeRun, realisticRun } from '../support/bench-fixtures.js';

const runs = INITS.flatMap((init) => [0, 1].map((rep) => realisticRun(init, rep, { duration_s: 2 })));

describe('charts', () => {
  it('renders SVG documents with the init names, one zombies and one latency chart per configuration', async () => {
    const specs = chartSpecs(runs);
    expect(specs.map((s) => s.file)).toEqual(['zombies-orphans-L128-R1000-life2ms-2s.svg', 'latency-orphans-L128-R1000-life2ms-2s.svg']);
    const zombies = await renderSvg(specs[0]!.spec);
    expect(zombies.trimStart().startsWith('<svg')).toBe(true);
    expect(zombies.trimEnd().endsWith('</svg>')).toBe(true);
    for (const init of INITS) expect(zombies).toContain(`>${init}<`);
    const latency = await renderSvg(specs[1]!.spec);
    expect(latency.trimStart().startsWith('<svg')).toBe(true);
    expect(latency).toContain('>ts-reaper<');
    expect(latency).toContain('no orphan reaped: none');
    expect(latency).not.toContain('>none<'); // legend lists only inits with a line
  });

  it('adds a survival-versus-rate chart only for a rate sweep', async () => {
    const sweep = ['tini', 'none'].flatMap((init) =>
      [200, 1000, 5000].map((rate) => realisticRun(init as 'tini', 0, { rate_per_s: rate, duration_s: 1 })),
    );
    const specs = chartSpecs(sweep);
    const survival = specs.filter((s) => s.file.startsWith('survival-'));
    expect(survival.map((s) => s.file)).toEqual(['survival-orphans-L128-life2ms-1s.svg']);
    const svg = await renderSvg(survival[0]!.spec);
    expect(svg).toContain('<svg');
    expect(svg).toContain('>none<');
    expect(svg).toContain('orphan rate');
  });

  it("draws the survival chart's whole-run line over the inits' lines, in the colour its subtitle names", async () => {
    // tini survives every rate: its line lies on the reference, which must still show.
    const sweep = ['tini', 'none'].flatMap((init) =>
      [200, 1000, 5000].map((rate) => realisticRun(init as 'tini', 0, { rate_per_s: rate, duration_s: 1 })),
    );
    expect(sweep.filter((r) => r.init === 'tini').every((r) => r.first_fork_failure_s === null)).toBe(true);
    const spec = survivalChartSpec(sweep)!;
    const subtitle = (spec.spec.title as { subtitle: string[] }).subtitle;
    expect(subtitle).toContain('black dashed line: 1 s, the whole run survived (no fork failed); inits with identical results overlap');
    expect(SURVIVED_RULE_COLOR).toBe('#000000');
    expect(Object.values(INIT_COLORS).map((c) => c.hex.toLowerCase())).not.toContain(SURVIVED_RULE_COLOR);
    const svg = await renderSvg(spec.spec);
    // SVG paints in document order: the reference must come after every line and point.
    const rule = svg.indexOf('class="mark-rule role-mark');
    expect(rule).toBeGreaterThan(-1);
    expect(rule).toBeGreaterThan(svg.lastIndexOf('class="mark-line role-mark'));
    expect(rule).toBeGreaterThan(svg.lastIndexOf('class="mark-symbol role-mark'));
    const group = svg.slice(rule, svg.indexOf('</g>', rule));
    expect(group).toContain(`stroke="${SURVIVED_RULE_COLOR}"`);
    expect(group).toContain('stroke-dasharray');
  });

  it('draws nothing for runs without samples or reaped orphans', () => {
    expect(chartSpecs([makeRun()])).toEqual([]);
  });

  it('leaves out runs that did not complete, even with samples, and names them in the subtitle', () => {
    const group = [...unfinishedGroup(1000), ...unfinishedGroup(5000)];
    const phrase = 'left out, did not complete: tini (1 aborted), docker-init (2 failed)';
    const oneRate = unfinishedGroup(1000);
    const zombies = zombiesChartSpec(oneRate)!;
    const drawn = (zombies.spec.data as { values: { run: string }[] }).values.map((v) => v.run);
    expect(new Set(drawn)).toEqual(new Set(['none #1', 'none #2', 'tini #1']));
    expect(zombies.spec).toMatchObject({ encoding: { color: { scale: { domain: ['none', 'tini'] } } } });
    expect((zombies.spec.title as { subtitle: string[] }).subtitle).toContain(phrase);
    const latency = latencyChartSpec(oneRate)!;
    const subtitle = (latency.spec.title as { subtitle: string[] }).subtitle;
    // docker-init reaped nothing because it never ran, not because it left its orphans.
    expect(subtitle).toContain('no orphan reaped: none');
    expect(subtitle).toContain(phrase);
    const survival = survivalChartSpec(group)!;
    expect((survival.spec.title as { subtitle: string[] }).subtitle).toContain(
      'left out, did not complete: tini (2 aborted), docker-init (4 failed)',
    );
    expect(JSON.stringify(survival.spec)).not.toContain('"init":"docker-init"');
  });
});

/**
 * One configuration's runs at `rate` where some did not complete, each with samples: none and
 * tini completed (tini's second repetition cut short by an interrupt), docker-init failed in
 * both (its container never started).
 */
function unfinishedGroup(rate: number) {
  const reason = 'create container: the engine refused the spec';
  return [
    realisticRun('none', 0, { rate_per_s: rate, duration_s: 1 }),
    realisticRun('none', 1, { rate_per_s: rate, duration_s: 1 }),
    realisticRun('tini', 0, { rate_per_s: rate, duration_s: 1 }),
    realisticRun('tini', 1, { rate_per_s: rate, duration_s: 1, state: 'aborted', failure_reason: 'interrupted' }),
    realisticRun('docker-init', 0, { rate_per_s: rate, duration_s: 1, state: 'failed', failure_reason: reason }),
    realisticRun('docker-init', 1, { rate_per_s: rate, duration_s: 1, state: 'failed', failure_reason: reason }),
  ];
}

describe('engineLabel', () => {
  it('gives an engine its version and API version, and the namespace runtime neither an engine nor an API', () => {
    expect(engineLabel({ engine_name: 'podman', engine_version: '4.3.1', engine_api_version: '1.41', cgroup_version: 2 })).toBe(
      'podman 4.3.1 (API 1.41), cgroup v2',
    );
    expect(engineLabel({ engine_name: 'namespace', engine_version: '2.38.1', engine_api_version: null, cgroup_version: 1 })).toBe(
      'none: the namespace runtime (unshare, util-linux 2.38.1), cgroup v1',
    );
  });
});

describe('leftOutPhrase', () => {
  it('names the runs that did not complete per init in INITS order, by state, and nothing when all completed', () => {
    expect(leftOutPhrase([makeRun()])).toBeNull();
    expect(
      leftOutPhrase([
        makeRun({ init: 'ts-reaper', state: 'failed' }),
        makeRun({ init: 'tini', state: 'aborted' }),
        makeRun({ init: 'ts-reaper', state: 'timed-out' }),
        makeRun({ init: 'ts-reaper', state: 'failed' }),
        makeRun({ init: 'tini' }),
      ]),
    ).toBe('left out, did not complete: tini (1 aborted), ts-reaper (2 failed, 1 timed out)');
  });
});

describe('report.md', () => {
  const failed = makeRun({ init: 'catatonit', repetition: 2, state: 'timed-out', failure_reason: 'no summary after 60 s | killed' });
  const all = [...runs, failed];
  const md = renderMarkdown({ runs: all, summary: summarize(all), env: ENV, partial: true, partialReason: 'interrupted by SIGINT' });

  it('starts with a PARTIAL banner when interrupted, and has none otherwise', () => {
    expect(md).toMatch(/^# reapbench report\n\n> \*\*PARTIAL\*\*: this run did not finish \(interrupted by SIGINT\)/);
    expect(renderMarkdown({ runs, summary: summarize(runs), env: ENV, partial: false })).not.toContain('PARTIAL');
  });

  it('names what the docker-init row really is on Podman, in the environment and in its note', () => {
    const rs = [makeRun({ init: 'docker-init' })];
    const env = { ...ENV, engine_name: 'podman', engine_init: 'catatonit at /run/podman-init (comm podman-init)' };
    const text = renderMarkdown({ runs: rs, summary: summarize(rs), env, partial: false });
    expect(text).toContain('| engine | podman 20.10.24 (API 1.41), cgroup v1 |');
    expect(text).toContain(
      "- **docker-init**: The engine's own init (`HostConfig.Init`): on podman, catatonit at /run/podman-init (comm podman-init).",
    );
    expect(text).not.toContain('a static tini');
  });

  it('names the namespace runtime as no engine, with its util-linux version and no API part, in new and older records', () => {
    const rs = [makeRun({ init: 'tini' })];
    for (const api of [null, '-']) {
      const env = { ...ENV, engine_name: 'namespace', engine_version: '2.38.1', engine_api_version: api, cgroup_version: 2 as const };
      const text = renderMarkdown({ runs: rs, summary: summarize(rs), env, partial: false });
      expect(text).toContain('| engine | none: the namespace runtime (unshare, util-linux 2.38.1), cgroup v2 |');
      expect(text).not.toContain('API');
    }
    expect(renderMarkdown({ runs: rs, summary: summarize(rs), env: ENV, partial: false })).toContain(
      '| engine | docker 20.10.24 (API 1.41), cgroup v1 |',
    );
  });

  it('gives the namespace runtime, which has no image, one image row saying what stands in for it', () => {
    const rs = [makeRun({ init: 'tini' })];
    const env = {
      ...ENV,
      engine_name: 'namespace',
      image: 'host',
      image_id: '',
      base_mode: 'host',
      base_reason: 'no image: the namespace runtime runs host files',
    };
    const text = renderMarkdown({ runs: rs, summary: summarize(rs), env, partial: false });
    expect(text).toContain('| image | no image: the namespace runtime runs host files |');
    expect(text).not.toContain('| base image |');
    const engine = renderMarkdown({ runs: rs, summary: summarize(rs), env: ENV, partial: false });
    expect(engine).toMatch(/^\| image \| \S+ \S+ \|$/m);
    expect(engine).toMatch(/^\| base image \| /m);
  });

  it('has the environment, a summary row per init, notes per init and failed runs with reasons', () => {
    expect(md).toContain('| kernel | 6.18.0 |');
    for (const init of INITS) {
      expect(md).toContain(`| \`${init}\` | orphans | 128 | 1000 |`);
      expect(md).toContain(`- **${init}**: `);
    }
    expect(md).toMatch(/- \*\*none\*\*: .*Forks failed in 1 of 1 configuration/);
    expect(md).toContain(
      '| `catatonit` | orphans limit=128 rate=1000/s life=2ms dur=10s | 2 | timed-out | no summary after 60 s \\| killed |',
    );
  });
});

describe('terminal report', () => {
  it('has the summary table and a zombies chart with one colored series and legend entry per init', () => {
    const out = renderTerminalReport(summarize(runs), runs, { color: true, width: 100 });
    for (const init of INITS) expect(out).toContain(init);
    expect(out).toContain('Zombies over time');
    expect(out).toContain('\x1b[31m── none');
    expect(out).toContain('\x1b[33m── ts-reaper');
    for (const line of out.split('\n')) expect(line.replace(/\x1b\[[0-9;]*m/g, '').length).toBeLessThanOrEqual(100);
  });

  it('has no escape codes without color and respects a narrow width', () => {
    const out = renderTerminalReport(summarize(runs), runs, { color: false, width: 60 });
    expect(out).not.toContain('\x1b[');
    for (const line of out.split('\n')) expect(line.length).toBeLessThanOrEqual(60);
    expect(out).toContain('p50 µs');
  });

  it('draws no series from a run that did not complete, and says under the chart which runs it left out', () => {
    const group = unfinishedGroup(1000);
    const plain = renderZombieChart(group, { color: false, width: 80 });
    expect(plain).toContain('none:');
    expect(plain).toContain('tini:');
    expect(plain).not.toContain('docker-init:');
    expect(plain.trimEnd().split('\n').at(-1)).toBe('(left out, did not complete: tini (1 aborted), docker-init (2 failed))');
    const colored = renderZombieChart(group, { color: true, width: 40 });
    expect(colored).not.toContain('── docker-init');
    expect(colored).toContain('(left out, did not complete: tini (1\naborted), docker-init (2 failed))');
    // tini's series is its completed run, whatever the aborted one held.
    const aborted = group.find((r) => r.state === 'aborted')!;
    const onlyAborted = renderZombieChart([group[0]!, { ...aborted, series: aborted.series.map((p) => ({ ...p, zombies: 99 })) }], {
      color: false,
      width: 80,
    });
    expect(onlyAborted).not.toContain('tini:');
    expect(onlyAborted).not.toContain(' 99 ');
  });

  it("charts a rate sweep's configurations in the table's order, having chosen them by their zombie peak", () => {
    // The peak rises with the rate except at 1000/s, the lowest: 100/s and 5000/s are charted.
    const peaks: Record<number, number> = { 100: 20, 1000: 5, 5000: 110 };
    const sweep = [5000, 100, 1000].flatMap((rate) =>
      (['none', 'tini'] as const).map((init) => ({
        ...realisticRun(init, 0, { rate_per_s: rate, duration_s: 1 }),
        zombies_peak: peaks[rate]!,
      })),
    );
    const out = renderTerminalReport(summarize(sweep), sweep, { color: false, width: 120, maxCharts: 2 });
    const charts = [...out.matchAll(/^Zombies over time .* rate=(\d+)\/s/gm)].map((m) => Number(m[1]));
    expect(charts).toEqual([100, 5000]);
    const table = [...new Set([...out.matchAll(/^│ (?:none|tini) +│ +(\d+) │/gm)].map((m) => Number(m[1])))];
    expect(table).toEqual([100, 1000, 5000]);
    expect(out).toContain('(1 more configuration charted');
  });

  it("keeps each chart's configuration in its title at any width: titles wrap, never cut", () => {
    const sweep = [200, 1000].flatMap((rate) =>
      (['tini', 'ts-reaper'] as const).map((init) => realisticRun(init, 0, { rate_per_s: rate, duration_s: 1 })),
    );
    for (const width of [40, 80, 120]) {
      const out = renderTerminalReport(summarize(sweep), sweep, { color: false, width, maxCharts: 2 });
      const titles = out
        .split('\n\n')
        .map((block) => block.trimStart())
        .filter((block) => block.startsWith('Zombies over time'))
        .map((block) => block.split(/\n(?:tini|ts-reaper):\n/)[0]!.replace(/\n/g, ' '));
      expect(titles).toHaveLength(2);
      expect(titles[0]).toContain('rate=200/s');
      expect(titles[1]).toContain('rate=1000/s');
      expect(titles[0]).toContain('x: 0 …');
      expect(out).not.toContain('…\n');
      expect(Math.max(...out.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(width);
    }
  });

  it('lays a piped report out for COLUMNS, else wide enough to hide no summary column', () => {
    expect(reportWidth({ isTTY: true, columns: 93 }, { COLUMNS: '300' })).toBe(93);
    expect(reportWidth({ isTTY: false }, { COLUMNS: '123' })).toBe(123);
    expect(reportWidth({}, { COLUMNS: 'wide' })).toBe(Infinity);
    expect(reportWidth({}, {})).toBe(Infinity);
    // Every configuration field varies and a row notes failed and aborted runs: the widest table.
    const wide = [
      realisticRun('docker-init', 0, { scenario: 'orphans', pids_limit: 4096, rate_per_s: 20000, lifetime_ms: 1000, duration_s: 300 }),
      realisticRun('docker-init', 1, { scenario: 'orphans', pids_limit: 4096, rate_per_s: 20000, lifetime_ms: 1000, duration_s: 300 }),
      {
        ...realisticRun('docker-init', 2, { scenario: 'orphans', pids_limit: 4096, rate_per_s: 20000, lifetime_ms: 1000, duration_s: 300 }),
        state: 'failed' as const,
      },
      {
        ...realisticRun('docker-init', 3, { scenario: 'orphans', pids_limit: 4096, rate_per_s: 20000, lifetime_ms: 1000, duration_s: 300 }),
        state: 'aborted' as const,
      },
      realisticRun('catatonit', 0, { scenario: 'double-fork', pids_limit: 64, rate_per_s: 100, lifetime_ms: 2, duration_s: 1 }),
    ];
    const out = renderTerminalReport(summarize(wide), wide, { color: false, width: reportWidth({}, {}) });
    expect(out).not.toContain('hidden for width');
    expect(out).toContain('PID1 CPU ms');
    // The charts keep a terminal's width.
    const charts = out.slice(out.indexOf('Zombies over time'));
    expect(Math.max(...charts.split('\n').map((l) => [...l].length))).toBeLessThanOrEqual(UNBOUNDED_TEXT_WIDTH);
    const scenarios = renderScenarioTable([...SCENARIO_RESULTS], { color: false, width: Infinity });
    expect(Math.max(...scenarios.split('\n').map((l) => [...l].length))).toBe(UNBOUNDED_TEXT_WIDTH);
  });

  it('gives no chart slot to a configuration whose runs all failed, whatever their samples peaked at', () => {
    const failedOnly = unfinishedGroup(5000)
      .filter((r) => r.init === 'docker-init')
      .map((r) => ({ ...r, zombies_peak: 500 }));
    const rs = [...unfinishedGroup(1000), ...failedOnly];
    const out = renderTerminalReport(summarize(rs), rs, { color: false, width: 120, maxCharts: 1 });
    expect(out).toContain('Zombies over time');
    expect(out).toContain('rate=1000/s');
    expect(out).not.toContain('more configuration');
  });

  it('ends no line with spaces, with color or without (asciichart pads its rows to the full width)', () => {
    for (const color of [true, false]) {
      const out = renderTerminalReport(summarize(runs), runs, { color, width: 80 });
      expect(out).toContain('Zombies over time');
      expect(out.split('\n').filter((line) => /\s$/.test(line))).toEqual([]);
    }
  });
});

describe('run output', () => {
  const sink = (isTTY = false): { stream: NodeJS.WriteStream; text: () => string } => {
    let out = '';
    const stream = { isTTY, columns: 80, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
    return { stream, text: () => out };
  };

  it('is plain when not a terminal: updates print nothing, lines print as they are', () => {
    const s = sink();
    const o = createOutput({ progress: true, stream: s.stream, env: {} });
    expect(o.bar).toBe(false);
    o.start(3);
    o.update('tini orphans L128 1000/s rep 1', 0, 3);
    o.line('tini: timed-out: no summary');
    o.stop();
    expect(s.text()).toBe('tini: timed-out: no summary\n');
  });

  it('prints one plain progress line per run that ended when not a terminal, with no escape code', async () => {
    const { runLabel, runOutcome } = await import('../../src/run/bench.js');
    const s = sink();
    const o = createOutput({ progress: true, stream: s.stream, env: {} });
    const ran = [
      makeRun({ init: 'tini', repetition: -1, reap_latency_p50_us: 24.04 }),
      makeRun({ init: 'tini', repetition: 0, reap_latency_p50_us: 23.6 }),
      makeRun({ init: 'none', repetition: 0, first_fork_failure_s: 0.5044, reap_latency_p50_us: null, unreaped: 126 }),
      makeRun({
        init: 'catatonit',
        repetition: 0,
        state: 'timed-out',
        failure_reason: 'container exceeded the run timeout and was killed',
      }),
    ];
    o.start(ran.length);
    ran.forEach((r, i) => {
      o.update(runLabel(r), i, ran.length);
      o.finished({ label: runLabel(r), index: i, total: ran.length, outcome: runOutcome(r), notable: r.state !== 'completed' });
    });
    o.stop();
    expect(s.text()).toBe(
      [
        'run 1/4 tini orphans L128 1000/s (warm-up): survived, p50 24.0 µs',
        'run 2/4 tini orphans L128 1000/s rep 0: survived, p50 23.6 µs',
        'run 3/4 none orphans L128 1000/s rep 0: forks failed after 0.5 s, no orphan reaped, 126 unreaped',
        'run 4/4 catatonit orphans L128 1000/s rep 0: timed-out: container exceeded the run timeout and was killed',
        '',
      ].join('\n'),
    );
  });

  it('on a terminal, a run that ended gets a line above the bar only when it is notable', () => {
    let text = '';
    const tty = {
      isTTY: true,
      columns: 80,
      write: (x: string) => ((text += x), true),
      cursorTo: () => true,
      moveCursor: () => true,
      clearLine: () => true,
      clearScreenDown: () => true,
      on: () => tty,
      removeListener: () => tty,
    } as unknown as NodeJS.WriteStream;
    const o = createOutput({ progress: true, stream: tty, env: {} });
    o.start(2);
    o.finished({ label: 'tini orphans L128 250/s rep 0', index: 0, total: 2, outcome: 'survived, p50 24 µs', notable: false });
    o.finished({ label: 'none orphans L128 250/s rep 0', index: 1, total: 2, outcome: 'failed: no output', notable: true });
    o.stop();
    expect(text).toContain('none orphans L128 250/s rep 0: failed: no output\n');
    expect(text).not.toContain('tini orphans L128 250/s rep 0: survived');
  });

  it('draws a bar on a terminal only when asked for and no CI is set', () => {
    expect(createOutput({ progress: true, stream: sink(true).stream, env: {} }).bar).toBe(true);
    expect(createOutput({ progress: false, stream: sink(true).stream, env: {} }).bar).toBe(false);
    expect(createOutput({ progress: true, stream: sink(true).stream, env: { CI: 'true' } }).bar).toBe(false);
    expect(createOutput({ progress: true, stream: sink(true).stream, env: { CI: 'false' } }).bar).toBe(true);
  });
});

describe('report.md: how each figure was measured', () => {
  it('renders each row’s latency method as recorded (any value), its missed orphans, the sampling rate and the CPU tick', () => {
    const rs = [
      realisticRun('tini', 0, { latency_method: 'pidfd-poll', missed: 3, orphans_made: 500 }),
      realisticRun('tini', 1, { latency_method: 'pidfd-poll', missed: 4, orphans_made: 500 }),
      realisticRun('ts-reaper', 0, { latency_method: 'ebpf', missed: 0, orphans_made: 500, zombie_sample_hz: 25 }),
    ];
    const md = renderMarkdown({ runs: rs, summary: summarize(rs), env: { ...ENV, clk_tck: 250 }, partial: false });
    const section = md.slice(md.indexOf('## How measured'), md.indexOf('## Notes per init'));
    expect(section).toMatch(/\| `tini` \| [^|]+ \| `pidfd-poll` \| 7 of 1000 \|/);
    expect(section).toMatch(/\| `ts-reaper` \| [^|]+ \| `ebpf` \| 0 of 500 \|/);
    expect(section).toContain('sampled at 10 or 25 Hz');
    expect(section).toContain('its resolution is 4 ms (CLK_TCK 250, from `getconf CLK_TCK` on the host)');
    expect(md).not.toMatch(/explained in results\/README\.md\./);
  });

  it('describes each method present, and only those: the kernel instrument alone, then with the watcher', () => {
    const kernelOnly = [realisticRun('tini', 0, { latency_method: 'ebpf', zombie_sample_hz: null, instrument_tasks: 0 })];
    const one = renderMarkdown({ runs: kernelOnly, summary: summarize(kernelOnly), env: ENV, partial: false });
    const section = one.slice(one.indexOf('## How measured'), one.indexOf('## Notes per init'));
    expect(section).toContain('Rows measured by `ebpf`: per orphan, from the SIGCHLD its exit generated');
    expect(section).not.toContain('Rows measured by a `pidfd-…` method');
    const mixed = [...kernelOnly, realisticRun('ts-reaper', 0, { latency_method: 'pidfd-hup' })];
    const two = renderMarkdown({ runs: mixed, summary: summarize(mixed), env: ENV, partial: false });
    expect(two).toContain('Rows measured by `ebpf`');
    expect(two).toContain('Rows measured by a `pidfd-…` method');
  });

  /** report.md's "How measured" section. */
  const howMeasured = (md: string): string => md.slice(md.indexOf('## How measured'), md.indexOf('## Notes per init'));
  /** The column heads of the markdown table that follows `heading`. */
  const headsAfter = (md: string, heading: string): string[] => {
    const from = md.slice(md.indexOf(heading));
    const line = from.split('\n').find((l) => l.startsWith('| '))!;
    return line
      .split('|')
      .map((c) => c.trim())
      .filter(Boolean);
  };

  it('gives every figure of its tables a line with its method and its limits', () => {
    const rs = [realisticRun('tini', 0, { latency_method: 'ebpf', instrument_tasks: 0, zombie_sample_hz: null })];
    const md = renderMarkdown({ runs: rs, summary: summarize(rs), env: ENV, partial: false });
    const section = howMeasured(md);
    // The configuration and the run counts are set or counted, not measured: the summary's intro says what they are.
    const given = new Set(['init', 'scenario', 'pids limit', 'runs (failed, aborted)', 'configuration', 'latency method']);
    const figures = [...headsAfter(md, '## Summary'), ...headsAfter(md, '## How measured')].filter((h) => !given.has(h));
    expect(figures).toContain('PID 1 RSS KiB');
    for (const head of figures) {
      const name = /^reap p(50|99) µs$/.test(head) ? 'reap p50, p99 µs' : head;
      expect(section, head).toContain(`- **${name}**: `);
    }
    expect(section).toContain('Limit: a peak between two readings is missed, so it is a lower bound');
    expect(section).toContain('Limit: an orphan never measured (missed) is in no count');
  });

  it('says for each source present how unreaped, PID 1 RSS and the first fork failure were measured, and only for those', () => {
    const kernelOnly = [realisticRun('tini', 0, { latency_method: 'ebpf', instrument_tasks: 0, zombie_sample_hz: null })];
    const kernel = howMeasured(renderMarkdown({ runs: kernelOnly, summary: summarize(kernelOnly), env: ENV, partial: false }));
    expect(kernel).toContain('no `wait4`/`waitid` reaped before PID 1 exited');
    expect(kernel).toContain('read from the host every 100 ms while PID 1 lived');
    expect(kernel).toContain('returned EAGAIN (a pids limit refused it)');
    expect(kernel).toContain('counted from the kernel events of every exit and reap: exact');
    expect(kernel).not.toContain('in-container load generator');
    expect(kernel).not.toContain('image rows');

    const watched = [realisticRun('none', 0), realisticRun('tini', 0)];
    const inside = howMeasured(renderMarkdown({ runs: watched, summary: summarize(watched), env: ENV, partial: false }));
    expect(inside).toContain('From the in-container load generator: the orphans the watcher saw exit and not reaped');
    expect(inside).toContain("read inside the container at each of the load generator's samples (50 Hz)");
    expect(inside).toContain('a fork that failed in another process');
    expect(inside).toContain('PID 1 is the load generator itself (Node)');
    expect(inside).not.toContain('from outside (kernel and host)');

    const image = [
      realisticRun('tini', 0, { scenario: 'image', rate_per_s: 0, latency_method: 'ebpf', instrument_tasks: 0, zombie_sample_hz: null }),
    ];
    const img = howMeasured(renderMarkdown({ runs: image, summary: summarize(image), env: ENV, partial: false }));
    expect(img).toContain('Image rows: the zombies in the container when `docker stop` was requested');
    expect(img).toContain("image rows count from the container's start");
    expect(img).not.toContain('orphanage solo');
    expect(img).not.toContain('before their intermediate did');
    expect(img).not.toContain('in-container load generator');

    // `--instrument both`: the kernel's latencies, every other figure from the load generator in the container.
    const bothRuns = [realisticRun('tini', 0, { latency_method: 'ebpf', instrument_tasks: 8, pidfd_latency_p50_us: 21 })];
    const both = howMeasured(renderMarkdown({ runs: bothRuns, summary: summarize(bothRuns), env: ENV, partial: false }));
    expect(both).toContain('Rows measured with `--instrument both`');
    expect(both).not.toContain('adopted already as zombies');
    expect(both).toContain('From the in-container load generator: the orphans the watcher saw exit and not reaped');
    expect(both).not.toContain('from outside (kernel and host)');
  });

  it('marks orphans before failure as counted over the whole run where runs survived, in report.md and on the terminal', async () => {
    const { renderSummaryTable } = await import('../../src/terminal/summary-table.js');
    const rs = [
      makeRun({ init: 'tini', repetition: 0, orphans_before_failure: 750 }),
      makeRun({ init: 'tini', repetition: 1, orphans_before_failure: 750 }),
      makeRun({ init: 'dumb-init', repetition: 0, orphans_before_failure: 750 }),
      makeRun({ init: 'dumb-init', repetition: 1, first_fork_failure_s: 0.5, orphans_before_failure: 126 }),
      makeRun({ init: 'none', repetition: 0, first_fork_failure_s: 0.5, orphans_before_failure: 126 }),
    ];
    const md = renderMarkdown({ runs: rs, summary: summarize(rs), env: ENV, partial: false });
    expect(md).toMatch(/\| `tini` \|[^\n]*\| survived \| 750 \(whole run\) \|/);
    expect(md).toMatch(/\| `dumb-init` \|[^\n]*\| 0.5 \| 438 \(mixed\) \|/);
    expect(md).toMatch(/\| `none` \|[^\n]*\| 0.5 \| 126 \|/);
    const table = renderSummaryTable(summarize(rs), { color: false, width: 300 });
    expect(table).toContain('750 (whole run)');
    expect(table).toContain('438 (mixed)');
  });

  it('says the watcher-lag warning once for the run, naming the inits it applies to', async () => {
    const { qualityWarnings } = await import('../../src/stats/quality.js');
    const lagging = INITS.map((init) =>
      realisticRun(init, 0, { watcher_lag_p99_us: 5000, reap_latency_p50_us: init === 'none' ? null : 400 }),
    );
    const w = qualityWarnings(lagging).filter((l) => l.includes('p99 lag'));
    expect(w).toEqual([
      `the watcher's p99 lag exceeds the latency p50 under tini, dumb-init, docker-init, catatonit, ts-reaper: their latencies are upper bounds set by the instrument (lag and p50 per init in report.md, "How measured")`,
    ]);
  });
});
