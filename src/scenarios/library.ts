/**
 * The scenario library in order (S1–S7), looked up by CLI name. Imported by both the
 * in-container workload and the harness (nothing here touches the engine).
 */
import type { ScenarioDef } from './def.js';
import { s1 } from './s1-killed-parent-tree.js';
import { s2 } from './s2-tool-leaves-helper.js';
import { s3 } from './s3-probe-timeout.js';
import { s4 } from './s4-double-fork-daemon.js';
import { s5 } from './s5-init-not-pid1.js';
import { s6 } from './s6-stop-latency.js';
import { s7 } from './s7-limit-exhaustion.js';
import type { ScenarioName, ScenarioParams } from './types.js';

/** Every scenario, S1 first. */
export const SCENARIOS: readonly ScenarioDef[] = [s1, s2, s3, s4, s5, s6, s7];

/** The scenario called `name`, or undefined. */
export function scenarioByName(name: string): ScenarioDef | undefined {
  return SCENARIOS.find((s) => s.name === name || s.id.toLowerCase() === name.toLowerCase());
}

/**
 * Merge overrides into a scenario's defaults, rejecting unknown names and non-finite or negative
 * values with one message template.
 * @throws Error `Expected \`cycles\` of killed-parent-tree to be a non-negative number, got \`x\``
 */
export function resolveParams(def: ScenarioDef, overrides: Record<string, unknown> = {}): ScenarioParams {
  const out: ScenarioParams = { ...def.defaults };
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in def.defaults))
      throw new Error(`unknown parameter \`${k}\` for ${def.name}: expected one of ${Object.keys(def.defaults).join(', ')}`);
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`Expected \`${k}\` of ${def.name} to be a non-negative number, got \`${String(v)}\``);
    out[k] = n;
  }
  return out;
}

export type { ScenarioName };
