/**
 * `--scenario` names resolve without the scenario library loaded. This file imports nothing but
 * the matrix statically, and vitest gives every test file a fresh module graph, so the first test
 * sees what `reapbench run --scenario …` sees before anything else is imported.
 */
import { describe, expect, it } from 'vitest';
import { resolveMatrix, scenarioChoices, scenarioNames } from '../../src/run/matrix.js';
import { SCENARIO_NAMES } from '../../src/scenarios/types.js';

describe('scenario names in the matrix', () => {
  it('resolves every scenario name and `all` with no scenario module imported first', () => {
    for (const name of SCENARIO_NAMES) expect(resolveMatrix({ scenarios: name }).scenarios).toEqual([name]);
    expect(resolveMatrix({ scenarios: 'orphans' }).scenarios).toEqual(['orphans']);
    expect(resolveMatrix({ scenarios: 'all' }).scenarios).toEqual([...SCENARIO_NAMES]);
    expect(scenarioNames()).toEqual(['orphans', ...SCENARIO_NAMES]);
  });

  it('takes the ids S1–S7, any case, as aliases of the names, and lists every choice when refusing one', () => {
    expect(resolveMatrix({ scenarios: 'S2,s7,tool-leaves-helper' }).scenarios).toEqual(['tool-leaves-helper', 'limit-exhaustion']);
    expect(() => resolveMatrix({ scenarios: 'S8' })).toThrow(
      'Expected `--scenario` to be all, or a comma-separated list of orphans, S1 killed-parent-tree, S2 tool-leaves-helper, S3 probe-timeout, S4 double-fork-daemon, S5 init-not-pid1, S6 stop-latency, S7 limit-exhaustion (by id or name), got `S8`',
    );
    expect(scenarioChoices()).not.toContain('…');
  });

  it('names exactly the scenarios the library defines, in library order', async () => {
    // Imported here, after the test above, so that the first test runs without it.
    const { SCENARIOS } = await import('../../src/scenarios/library.js');
    expect(SCENARIOS.map((s) => s.name)).toEqual([...SCENARIO_NAMES]);
    // `--scenario S<n>` relies on the ids following the library order.
    expect(SCENARIOS.map((s) => s.id)).toEqual(SCENARIO_NAMES.map((_, i) => `S${i + 1}`));
  });
});
