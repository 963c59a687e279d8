// Build: type-check and emit the harness with tsc (dist/src, dist/bench), then bundle the
// programs that run inside containers into single files with esbuild, so that they start fast
// and do not load the harness (dist/ts-reaper.cjs, dist/loadgen.mjs, …). koffi stays external:
// it carries a native addon that the image ships under node_modules/.
//
// ts-reaper is bundled as CommonJS: its start-up time is a requirement (the child must start
// within tens of ms), and Node 20's ES module loader costs ~8 ms more than the CommonJS one
// before the first line runs (measured here: first statement at +12.6 ms after Node's
// bootstrap for an empty .mjs, +4.3 ms for an empty .cjs). The others start once per run and
// stay ES modules (they use top-level await).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { BUNDLES } from './bundles.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);

try {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
} catch {
  console.error('build: TypeScript compilation failed (errors above); fix them and run npm run build again');
  process.exit(1);
}

// Only the bundles whose source exists are built.
for (const [src, out] of BUNDLES) {
  if (!existsSync(src)) continue;
  const cjs = out.endsWith('.cjs');
  await build({
    entryPoints: [src],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: cjs ? 'cjs' : 'esm',
    external: ['koffi'],
    // CommonJS has no import.meta: give modules that locate files beside themselves the URL
    // of the bundle itself.
    ...(cjs ? { define: { 'import.meta.url': '__bundle_url' } } : {}),
    banner: {
      js: cjs
        ? '#!/usr/bin/env node\n"use strict";\nconst __bundle_url = require("node:url").pathToFileURL(__filename).href;'
        : '#!/usr/bin/env node\nimport { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
    },
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
      console.error(
        'build: no C compiler (cc or gcc) found; install gcc and a static libc (Debian: apt-get install -y gcc libc6-dev) to build dist/orphanage',
      );
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
