// The programs that run inside containers, each bundled into one file by scripts/build.mjs.
// scripts/lint-deps.mjs checks what these entry points reach, so the list lives in one place.

/** In-container entry points: [source, output]. */
export const BUNDLES = [
  ['src/reaper/main.ts', 'dist/ts-reaper.cjs'],
  ['src/reaper/wait-worker.ts', 'dist/ts-reaper-wait-worker.cjs'],
  ['src/loadgen/main.ts', 'dist/loadgen.mjs'],
  ['src/loadgen/watch-worker.ts', 'dist/loadgen-watch-worker.mjs'],
  ['src/scenarios/workload.ts', 'dist/scenario.mjs'],
];
