/**
 * Keys, labels and orderings of matrix cells: how runs are grouped into summary rows and in
 * which order every table, chart and file lists them.
 */
import { INITS } from '../model/inits.js';
import { CONFIG_FIELDS, type CellKey, type RunConfig } from '../model/config.js';

/** A stable string key for a configuration (init excluded), e.g. `orphans|128|1000|2|10`. */
export function configKey(c: RunConfig): string {
  return CONFIG_FIELDS.map((f) => String(c[f])).join('|');
}

/** A stable string key for an init × configuration cell, e.g. `tini|orphans|128|1000|2|10`. */
export function cellKey(c: CellKey): string {
  return `${c.init}|${configKey(c)}`;
}

/**
 * Split `xs` into groups of equal `key(x)`, each group in input order, the groups in the order
 * of their first member. Used with {@link configKey} and {@link cellKey}.
 */
export function groupBy<T>(xs: readonly T[], key: (x: T) => string): T[][] {
  const m = new Map<string, T[]>();
  for (const x of xs) {
    const k = key(x);
    const g = m.get(k);
    if (g) g.push(x);
    else m.set(k, [x]);
  }
  return [...m.values()];
}

/** One-line human label of a configuration: `orphans limit=128 rate=1000/s life=2ms dur=10s`. */
export function configLabel(c: RunConfig): string {
  return `${c.scenario} limit=${c.pids_limit} rate=${c.rate_per_s}/s life=${c.lifetime_ms}ms dur=${c.duration_s}s`;
}

/** Order configurations by scenario, then numerically by limit, rate, lifetime, duration. */
export function compareConfigs(a: RunConfig, b: RunConfig): number {
  if (a.scenario !== b.scenario) return a.scenario < b.scenario ? -1 : 1;
  return a.pids_limit - b.pids_limit || a.rate_per_s - b.rate_per_s || a.lifetime_ms - b.lifetime_ms || a.duration_s - b.duration_s;
}

/** Order cells by configuration, then by init in {@link INITS} order (unknown inits last). */
export function compareCells(a: CellKey, b: CellKey): number {
  return compareConfigs(a, b) || initIndex(a.init) - initIndex(b.init);
}

/** Position of an init in {@link INITS}; unknown names sort after the known ones. */
export function initIndex(init: string): number {
  const i = (INITS as readonly string[]).indexOf(init);
  return i === -1 ? INITS.length : i;
}
