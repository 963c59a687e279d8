// Types of scripts/lint-deps.mjs, for the unit test that runs the check on a fixture tree.

/**
 * Check the import rules of the tree under `baseDir` (default: this repository).
 * @param o.entries the in-container entry points, relative to baseDir (default: those of
 *   scripts/bundles.mjs that exist).
 * @returns one line per violation (`rule: a → b → c: why`), and the size of the graph.
 */
export declare function lintDeps(o?: {
  baseDir?: string;
  entries?: string[];
}): Promise<{ violations: string[]; modules: number; dependencies: number }>;
