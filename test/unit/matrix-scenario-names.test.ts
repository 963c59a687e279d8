/**
 * `--scenario` names resolve without the scenario library loaded. This file imports nothing but
 * the matrix statically, and vitest gives every test file a fresh module graph, so the first test
 * sees what `reapbench run --scenario …` sees before anything else is imported.
 */
import { describe, expect, it } from 'vitest';
import { resolveMatrix, scenarioNames } from '../../src/run/matrix.js';
import { SCENARIO_NAMES } from '../../src/scenarios/types.js';

describe('scenario names in the matrix', () => {
  it('resolves every scenario name and `all` with no scenario module imported first', () => {
    for (const name of SCENARIO_NAMES) expect(resolveMatrix({ scenarios: name }).scenarios).toEqual([name]);
    expect(resolveMatrix({ scenarios: 'orphans' }).scenarios).toEqual(['orphans']);
    expect(resolveMatrix({ scenarios: 'all' }).scenarios).toEqual([...SCENARIO_NAMES]);
    expect(scenarioNames()).toEqual(['orphans', ...SCENARIO_NAMES]);
  });

  it('names exactly the scenarios the library defines, in library order', async () => {
    // Imported here, after the test above, so that the first test runs without it.
    const { SCENARIOS } = await import('../../src/scenarios/library.js');
    expect(SCENARIOS.map((s) => s.name)).toEqual([...SCENARIO_NAMES]);
  });
});
