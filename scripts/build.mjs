// Build: type-check and emit the harness with tsc (dist/src, dist/bench), then bundle the
// programs that run inside containers into single files with esbuild, so that they start fast
// and do not load the harness (dist/ts-reaper.mjs, dist/loadgen.mjs, …). koffi stays external:
// it carries a native addon that the image ships under node_modules/.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

try {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
} catch {
  console.error('build: TypeScript compilation failed (errors above); fix them and run npm run build again');
  process.exit(1);
}

/** In-container entry points: [source, output]. Only those whose source exists are built. */
const bundles = [
  ['src/reaper/main.ts', 'dist/ts-reaper.mjs'],
  ['src/reaper/wait-worker.ts', 'dist/ts-reaper-wait-worker.mjs'],
  ['src/loadgen/main.ts', 'dist/loadgen.mjs'],
  ['src/loadgen/watch-worker.ts', 'dist/loadgen-watch-worker.mjs'],
  ['src/scenarios/workload.ts', 'dist/scenario.mjs'],
];
for (const [src, out] of bundles) {
  if (!existsSync(src)) continue;
  await build({
    entryPoints: [src],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: ['koffi'],
    banner: { js: '#!/usr/bin/env node\nimport { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
    logLevel: 'warning',
  });
  chmodSync(out, 0o755);
}
