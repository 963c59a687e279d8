/**
 * Golden files: every file a run writes (the SVG charts by name only), the terminal report and
 * the $GITHUB_STEP_SUMMARY markdown, rendered from fixed fixtures (test/support/golden-runs.ts,
 * test/support/golden-scenarios.ts) and compared byte for byte with test/unit/golden/. Any
 * change to an output shows as a diff of those files. After an
 * intended change, rewrite them with
 *   npx vitest run --project unit test/unit/golden.test.ts -u
 * and read the diff.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { writeAll } from '../../src/run/results-dir.js';
import { parseRecords } from '../../src/export/records-json.js';
import type { EnvironmentRecord, RunRecord } from '../../src/model/records.js';
import { chartSpecs } from '../../src/export/charts.js';
import { renderMarkdown, type MarkdownInput } from '../../src/export/markdown.js';
import { serializeRunsCsv } from '../../src/export/runs-csv.js';
import { serializeSummaryCsv } from '../../src/export/summary-csv.js';
import { renderScenariosMarkdown as renderScenarioMarkdown } from '../../src/export/scenarios-md.js';
import { serializeScenariosCsv as scenarioCsv } from '../../src/export/scenarios-csv.js';
import { buildView, renderStepSummary, reportInput as viewReportInput, type ResultsView } from '../../src/export/view.js';
import { renderTerminalReport } from '../../src/terminal/report.js';
import { renderScenarioTable } from '../../src/terminal/scenario-table.js';
import { qualityWarnings } from '../../src/stats/quality.js';
import { summarize } from '../../src/stats/summary.js';
import { ENV } from '../support/bench-fixtures.js';
import { PARTIAL_REASON, PARTIAL_RUNS, QUICK_RUNS, TROUBLED_ENV, TROUBLED_RUNS, troubledRawFiles } from '../support/golden-runs.js';
import { SCENARIO_META, SCENARIO_RESULTS } from '../support/golden-scenarios.js';
import { scratchDirs } from '../support/scratch.js';

// Drawing an SVG takes about half a second here and its bytes are vega's, not reapbench's: the
// writer gets a stub drawing, and the golden files cover which charts report.md links.
vi.mock('../../src/export/charts.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/export/charts.js')>()),
  renderSvg: async () => '<svg xmlns="http://www.w3.org/2000/svg"/>\n',
}));

/** One fixed load-matrix run: its runs in run order, its environment, and why it is partial (undefined: it finished). */
interface LoadFixture {
  name: string;
  runs: readonly RunRecord[];
  env: EnvironmentRecord;
  partialReason?: string;
}

/** The three load-matrix fixtures; `name` is the golden files' suffix. */
const LOAD: LoadFixture[] = [
  { name: 'quick', runs: QUICK_RUNS, env: ENV },
  { name: 'partial', runs: PARTIAL_RUNS, env: ENV, partialReason: PARTIAL_REASON },
  { name: 'troubled', runs: TROUBLED_RUNS, env: TROUBLED_ENV },
];

/** The view of a fixture run as a save builds it (src/export/view.ts), with the scenario part when given. */
function viewOf(f: LoadFixture, scenarios: ResultsView['scenarios'] = null): ResultsView {
  return buildView({ load: { runs: f.runs, env: f.env, partialReason: f.partialReason }, scenarios });
}

/** The scenario part of the fixture run. */
const SCENARIOS = { results: SCENARIO_RESULTS, meta: SCENARIO_META };

/**
 * report.md's input composed by hand from the fixture, as the view must compose it: the golden
 * files check the serializer, this checks the view.
 */
function reportInput(f: LoadFixture): MarkdownInput {
  return {
    runs: f.runs,
    summary: summarize(f.runs),
    env: f.env,
    partial: f.partialReason !== undefined,
    ...(f.partialReason !== undefined ? { partialReason: f.partialReason } : {}),
    warnings: qualityWarnings(f.runs),
    charts: chartSpecs(f.runs).map((c) => ({ file: `charts/${c.file}`, title: c.title })),
  };
}

/** `md` without the `## ` sections whose headings are given (each up to the next `## ` heading). */
function withoutSections(md: string, headings: readonly string[]): string {
  const out: string[] = [];
  let skipping = false;
  for (const line of md.split('\n')) {
    if (line.startsWith('## ')) skipping = headings.includes(line);
    if (!skipping) out.push(line);
  }
  return out.join('\n');
}

/** Widest line of a text, in characters. */
function widest(text: string): number {
  return Math.max(...text.split('\n').map((l) => [...l].length));
}

describe.each(LOAD)('load matrix, $name', (f) => {
  it('report.md', async () => {
    await expect(renderMarkdown(reportInput(f))).toMatchFileSnapshot(`golden/report-${f.name}.md`);
  });

  it('summary.csv', async () => {
    await expect(serializeSummaryCsv(summarize(f.runs))).toMatchFileSnapshot(`golden/summary-${f.name}.csv`);
  });

  it('runs.csv', async () => {
    await expect(serializeRunsCsv(f.runs)).toMatchFileSnapshot(`golden/runs-${f.name}.csv`);
  });

  it('$GITHUB_STEP_SUMMARY markdown', async () => {
    await expect(renderStepSummary(viewOf(f))).toMatchFileSnapshot(`golden/step-summary-${f.name}.md`);
  });

  it("report.md's input from the view is the one composed from the fixture", () => {
    expect(viewReportInput(viewOf(f).load!)).toEqual(reportInput(f));
  });
});

describe('terminal report (no color)', () => {
  it.each([
    ['quick', 80, QUICK_RUNS],
    ['quick', 60, QUICK_RUNS],
    ['troubled', 80, TROUBLED_RUNS],
  ] as const)('%s at width %i', async (name, width, runs) => {
    const text = renderTerminalReport(summarize(runs), runs, { color: false, width });
    expect(widest(text)).toBeLessThanOrEqual(width);
    await expect(text).toMatchFileSnapshot(`golden/terminal-${name}-${width}.txt`);
  });

  it('the summary fits a terminal narrower than its essential columns: one block per row', async () => {
    const text = renderTerminalReport(summarize(QUICK_RUNS), QUICK_RUNS, { color: false, width: 40 });
    expect(widest(text)).toBeLessThanOrEqual(40);
    await expect(text).toMatchFileSnapshot('golden/terminal-quick-40.txt');
  });
});

describe('scenario reports', () => {
  it('scenarios.md', async () => {
    await expect(renderScenarioMarkdown([...SCENARIO_RESULTS], SCENARIO_META)).toMatchFileSnapshot('golden/scenarios.md');
  });

  it('scenarios.md of an unfinished run says PARTIAL and why, under the command line', () => {
    const md = renderScenarioMarkdown([...SCENARIO_RESULTS], { ...SCENARIO_META, partial: 'interrupted by SIGINT after 3 of 28 runs' });
    const lines = md.split('\n');
    expect(lines[4]).toBe(
      '> **PARTIAL**: this run did not finish (interrupted by SIGINT after 3 of 28 runs); scenarios and inits may be missing.',
    );
    expect(renderScenarioMarkdown([...SCENARIO_RESULTS], SCENARIO_META)).not.toMatch(/PARTIAL/);
  });

  it.each([100, 60])('the terminal table at width %i: no markdown, nothing wider than the terminal', async (width) => {
    const text = renderScenarioTable([...SCENARIO_RESULTS], { color: false, width });
    expect(widest(text)).toBeLessThanOrEqual(width);
    expect(text).not.toMatch(/<br>|\*\*/);
    await expect(text).toMatchFileSnapshot(`golden/terminal-scenarios-${width}.txt`);
  });

  it('scenarios.csv', async () => {
    await expect(scenarioCsv([...SCENARIO_RESULTS])).toMatchFileSnapshot('golden/scenarios.csv');
  });

  it('$GITHUB_STEP_SUMMARY markdown of a scenarios-only run is scenarios.md', () => {
    const md = renderScenarioMarkdown([...SCENARIO_RESULTS], SCENARIO_META);
    expect(renderStepSummary(buildView({ load: null, scenarios: SCENARIOS }))).toBe(md);
  });
});

describe('the results writer', () => {
  const tmp = scratchDirs('reapbench-golden-');

  it('writes every file of a load and scenario run as its serializer renders it, and env.json and events.ndjson', async () => {
    const root = await tmp();
    const dir = path.join(root, '2026-11-29T11-00-00Z');
    const rawDir = path.join(dir, 'raw');
    await mkdir(rawDir, { recursive: true });
    for (const [name, text] of Object.entries(troubledRawFiles())) await writeFile(path.join(rawDir, name), text);
    const f = LOAD[2]!;

    const result = await writeAll(dir, viewOf(f, SCENARIOS), { rawDir });

    expect(result.warnings).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual([
      'charts',
      'env.json',
      'events.ndjson',
      'raw',
      'records.json',
      'report.md',
      'runs.csv',
      'scenarios.csv',
      'scenarios.md',
      'summary.csv',
    ]);
    expect((await readdir(path.join(dir, 'charts'))).sort()).toEqual(
      chartSpecs(f.runs)
        .map((c) => c.file)
        .sort(),
    );
    // The same text as the golden files of the serializers, from the writer's own composition.
    expect(await readFile(path.join(dir, 'report.md'), 'utf8')).toBe(renderMarkdown(reportInput(f)));
    expect(await readFile(path.join(dir, 'runs.csv'), 'utf8')).toBe(serializeRunsCsv(f.runs));
    expect(await readFile(path.join(dir, 'summary.csv'), 'utf8')).toBe(serializeSummaryCsv(summarize(f.runs)));
    expect(await readFile(path.join(dir, 'scenarios.md'), 'utf8')).toBe(renderScenarioMarkdown([...SCENARIO_RESULTS], SCENARIO_META));
    expect(await readFile(path.join(dir, 'scenarios.csv'), 'utf8')).toBe(scenarioCsv([...SCENARIO_RESULTS]));
    // The step summary of the view as written: report.md's sections as the file holds them, the
    // charts named instead of shown, then scenarios.md as the file holds it.
    const step = renderStepSummary(result.view);
    expect(step.startsWith(withoutSections(await readFile(path.join(dir, 'report.md'), 'utf8'), ['## Charts']))).toBe(true);
    expect(step.endsWith(await readFile(path.join(dir, 'scenarios.md'), 'utf8'))).toBe(true);
    // records.json gives back every record in full, what merge redraws the charts from.
    const records = parseRecords(await readFile(path.join(dir, 'records.json'), 'utf8'));
    expect(records.load?.runs).toEqual(JSON.parse(JSON.stringify(f.runs)));
    expect(records.scenarios?.results).toEqual(JSON.parse(JSON.stringify(SCENARIO_RESULTS)));
    await expect(await readFile(path.join(dir, 'env.json'), 'utf8')).toMatchFileSnapshot('golden/env.json');
    await expect(await readFile(path.join(dir, 'events.ndjson'), 'utf8')).toMatchFileSnapshot('golden/events.ndjson');
  });
});

describe('$GITHUB_STEP_SUMMARY against report.md', () => {
  it("holds report.md's sections for the same run, the charts named instead of shown, then scenarios.md", () => {
    const scenarios = renderScenarioMarkdown([...SCENARIO_RESULTS], SCENARIO_META);
    for (const f of LOAD) {
      const input = reportInput(f);
      const step = renderStepSummary(viewOf(f, SCENARIOS));
      expect(step.startsWith(withoutSections(renderMarkdown(input), ['## Charts'])), f.name).toBe(true);
      for (const c of input.charts ?? []) expect(step, f.name).toContain(c.file);
      expect(step.endsWith(scenarios), f.name).toBe(true);
    }
  });
});
