#!/usr/bin/env node
// `npm run lint:deps`: the import rules of src/ (the README's folder map), checked with
// dependency-cruiser. Prints one line per violation (a longer cycle through an import already
// shown is counted, not listed) and exits 1 when there is one; `npm test` runs it before the
// unit tier.
//
//   node scripts/lint-deps.mjs
//
// Two cruises, because the rules ask two different questions:
//  - layering (folder cycles, model/, ffi/, procfs/, the leaf modules at the top of src/): every import
//    counts, type-only ones included, since a type that points back up ties the folders
//    together all the same;
//  - the in-container bundles: what matters is what esbuild puts in them, i.e. what their entry
//    points reach at run time. Type-only imports are erased there (the scenario definitions
//    name dockerode's types for their host side), so this cruise leaves them out. It cannot be
//    derived from the first one: when a file holds both `typeof import('x')` and `import('x')`
//    (ts-reaper's lazy commander), dependency-cruiser 17 records only the type import there.
import { cruise } from 'dependency-cruiser';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUNDLES } from './bundles.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * npm packages the in-container programs may use, besides Node's built-ins: koffi (the FFI; left
 * out of the bundles, the image ships it), commander (the option parsers of ts-reaper and the
 * load generator) and simple-statistics (the load generator's percentiles). Anything else,
 * dockerode and execa first, belongs to the harness.
 */
const BUNDLE_PACKAGES = ['koffi', 'commander', 'simple-statistics'];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const packagePath = (names) => `(^|/)node_modules/(${names.map(escape).join('|')})/`;

// Resolution that fails leaves an import out of the graph, and every rule would then pass on a
// graph with holes: an unresolved import is a violation of its own.
const resolvable = {
  name: 'unresolved-import',
  comment: 'dependency-cruiser cannot resolve this import, so no rule can check it',
  severity: 'error',
  from: {},
  to: { couldNotResolve: true },
};

/** Layering rules: every import, type-only ones included. */
const LAYER_RULES = [
  {
    name: 'no-folder-cycles',
    comment: 'folders of src/ depend in one direction: move what both need to the lower one (model/ for domain facts)',
    severity: 'error',
    scope: 'folder',
    from: { path: '^src(/|$)' },
    to: { circular: true },
  },
  {
    name: 'no-module-cycles',
    comment: 'modules of src/ must not import each other in a circle',
    severity: 'error',
    from: { path: '^src/' },
    to: { circular: true },
  },
  {
    name: 'engine-client-in-runtime-only',
    comment: 'only src/runtime/ holds a dockerode client: everything else asks the ContainerRuntime (src/runtime/runtime.ts)',
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/runtime/' },
    to: { path: packagePath(['dockerode']) },
  },
  {
    name: 'model-imports-nothing',
    comment: 'src/model/ is the domain: it imports nothing but itself',
    severity: 'error',
    from: { path: '^src/model/' },
    to: { pathNot: '^src/model/' },
  },
  {
    name: 'ffi-imports-koffi-only',
    comment: 'src/ffi/ imports nothing but koffi and Node built-ins',
    severity: 'error',
    from: { path: '^src/ffi/' },
    to: { pathNot: ['^src/ffi/', packagePath(['koffi'])], dependencyTypesNot: ['core'] },
  },
  {
    name: 'procfs-imports-no-src',
    comment: 'src/procfs/ (the /proc and own-cgroup readers) is a shared leaf: it imports nothing under src/ but itself',
    severity: 'error',
    from: { path: '^src/procfs/' },
    to: { path: '^src/', pathNot: '^src/procfs/' },
  },
  {
    name: 'export-imports-no-terminal',
    comment: 'src/export/ renders files from data: it imports no terminal code (src/terminal/); what both need lives in export/ or model/',
    severity: 'error',
    from: { path: '^src/export/' },
    to: { path: '^src/terminal/' },
  },
  {
    name: 'terminal-only-for-the-command',
    comment: 'src/terminal/ (bars, tables, charts for a terminal) is used by the command line and the run command only',
    severity: 'error',
    from: { path: '^src/', pathNot: '^src/(cli|run|terminal)/' },
    to: { path: '^src/terminal/' },
  },
  {
    name: 'tracer-imports-leaves-only',
    comment:
      'src/tracer/ (the kernel instrument) imports only itself and the shared leaves at the top of src/ (errors, validate): run/ and runtime/ build on it, never the reverse',
    severity: 'error',
    from: { path: '^src/tracer/' },
    to: { path: '^src/', pathNot: ['^src/tracer/', '^src/[^/]+$'] },
  },
  {
    name: 'leaf-modules-import-no-src',
    comment:
      'the modules at the top of src/ (errors, rng, validate) are shared leaves: they import nothing under src/, ' +
      "except errors.ts, which turns validate.ts's dependency-free UsageError into the harness error",
    severity: 'error',
    from: { path: '^src/[^/]+$' },
    to: { path: '^src/', pathNot: '^src/validate\\.ts$' },
  },
  {
    name: 'validate-imports-no-src',
    comment: 'src/validate.ts and src/rng.ts are bundled into the in-container programs: they import nothing under src/',
    severity: 'error',
    from: { path: '^src/(validate|rng)\\.ts$' },
    to: { path: '^src/' },
  },
  resolvable,
];

/** Bundle rules: what the in-container entry points `entries` reach at run time. */
function bundleRules(entries) {
  return [
    {
      name: 'bundle-reaches-harness-package',
      comment: `an in-container bundle may hold only Node built-ins and ${BUNDLE_PACKAGES.join(', ')}`,
      severity: 'error',
      from: { path: `^(${entries.map(escape).join('|')})$` },
      to: { path: '(^|/)node_modules/', pathNot: packagePath(BUNDLE_PACKAGES), reachable: true },
    },
    resolvable,
  ];
}

/** `[a, b, c]` from a violation: its cycle, its path through the graph, or its one import. */
function route(v) {
  if (v.cycle?.length) return [v.from, ...v.cycle.map((c) => c.name)];
  if (v.via?.length) return [v.from, ...v.via.map((c) => c.name)];
  return [v.from, v.to];
}

/**
 * The cycles worth a line: dependency-cruiser reports a cycle for every import that lies on
 * one, so a single import against the flow shows up in every longer cycle through it too. The
 * shortest cycles are kept, then a longer one only if none of its imports is already shown.
 * @param cycles `[a, b, …, a]` each, of one rule.
 * @returns the kept cycles and how many were left out.
 */
function distinctCycles(cycles) {
  const edges = (c) => c.slice(1).map((to, i) => `${c[i]} → ${to}`);
  // One cycle is reported from each of its members: start each at its smallest name.
  const rotated = new Map();
  for (const c of cycles) {
    const ring = c.slice(0, -1);
    const start = ring.indexOf([...ring].sort()[0]);
    const r = [...ring.slice(start), ...ring.slice(0, start), ring[start]];
    rotated.set(r.join(' → '), r);
  }
  const sorted = [...rotated.values()].sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()));
  const shown = new Set();
  const kept = [];
  for (const c of sorted) {
    if (edges(c).some((e) => shown.has(e))) continue;
    for (const e of edges(c)) shown.add(e);
    kept.push(c);
  }
  return { kept, left: sorted.length - kept.length };
}

async function cruiseWith(baseDir, roots, rules, tsPreCompilationDeps) {
  const r = await cruise(roots, {
    baseDir,
    validate: true,
    ruleSet: { forbidden: rules },
    tsPreCompilationDeps,
    doNotFollow: { path: 'node_modules' },
    // Resolve packages as Node resolves this ES module project (exports maps: csv-stringify/sync).
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
  });
  return r.output;
}

/**
 * Check the import rules of the tree under `baseDir` (default: this repository).
 * @param {{ baseDir?: string, entries?: string[] }} [o] entries: the in-container entry points,
 *   relative to baseDir (default: those of scripts/bundles.mjs that exist).
 * @returns {Promise<{ violations: string[], modules: number, dependencies: number }>} one line
 *   per violation: `rule: a → b → c: why`.
 */
export async function lintDeps({ baseDir = root, entries } = {}) {
  const entryList = (entries ?? BUNDLES.map(([src]) => src)).filter((e) => existsSync(path.join(baseDir, e)));
  const layers = await cruiseWith(baseDir, ['src'], LAYER_RULES, true);
  const bundles = entryList.length > 0 ? await cruiseWith(baseDir, entryList, bundleRules(entryList), false) : null;
  const comments = new Map([...LAYER_RULES, ...bundleRules(entryList)].map((r) => [r.name, r.comment]));
  const line = (rule, names) => `${rule}: ${names.join(' → ')}: ${comments.get(rule)}`;
  const cycles = new Map();
  const others = [];
  for (const v of [...layers.summary.violations, ...(bundles?.summary.violations ?? [])]) {
    if (v.cycle?.length) cycles.set(v.rule.name, [...(cycles.get(v.rule.name) ?? []), route(v)]);
    else others.push(line(v.rule.name, route(v)));
  }
  const violations = [];
  for (const [rule, found] of cycles) {
    const { kept, left } = distinctCycles(found);
    violations.push(...kept.map((c) => line(rule, c)));
    if (left > 0) violations.push(`${rule}: and ${left} longer cycle(s) through the imports above`);
  }
  violations.push(...others);
  return { violations, modules: layers.summary.totalCruised, dependencies: layers.summary.totalDependenciesCruised };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  const r = await lintDeps();
  for (const line of r.violations) process.stderr.write(`lint:deps: ${line}\n`);
  const took = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  if (r.violations.length > 0) {
    process.stderr.write(
      `lint:deps: import rules broken in ${r.modules} modules (${took}); the rules and their reasons are in scripts/lint-deps.mjs\n`,
    );
    process.exit(1);
  }
  process.stdout.write(`lint:deps: ${r.modules} modules, ${r.dependencies} imports: no rule broken (${took})\n`);
}
