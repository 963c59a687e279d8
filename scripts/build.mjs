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

// The load generator's helper: a small static C program (it runs in images without a libc of
// their own). gcc or cc with a static libc is needed at build time only.
{
  const src = 'src/loadgen/native/orphanage.c';
  const out = 'dist/orphanage';
  if (existsSync(src)) {
    const cc = ['cc', 'gcc'].find((c) => {
      try {
        execFileSync(c, ['--version'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    });
    if (!cc) {
      console.error('build: no C compiler (cc or gcc) found; install gcc and a static libc (Debian: apt-get install -y gcc libc6-dev) to build dist/orphanage');
      process.exit(1);
    }
    try {
      execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-static', '-o', out, src], { stdio: 'inherit' });
    } catch {
      console.error(`build: compiling ${src} failed (errors above); a static libc is required (Debian: libc6-dev)`);
      process.exit(1);
    }
  }
}
