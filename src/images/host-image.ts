/**
 * The app image's stand-in for the namespace runtime (src/runtime/namespace.ts): the same paths
 * as the image built by ./build.ts, taken from this checkout and this host instead of an image
 * layer: `/app/dist` (the build), `/app/node_modules` (koffi), `/app/bin/ts-reaper` and
 * `/app/bin/loadgen`, `NODE_ENV=production`, working directory `/app`. The inits and tools
 * (`tini`, `python3`, …) are the host's own, found on the run's PATH.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { ReapbenchError } from '../errors.js';
import type { HostImage } from '../runtime/namespace.js';
import { projectRoot, TS_REAPER_LAUNCHER } from './build.js';

/**
 * The stand-in of the app image, from project `root`.
 * @param node the node binary ts-reaper's launcher runs (default: this process's).
 * @throws ReapbenchError when the build or the dependencies are missing (with the command to run).
 */
export function hostAppImage(root = projectRoot(), node = process.execPath): HostImage {
  const dist = path.join(root, 'dist');
  const modules = path.join(root, 'node_modules');
  let top: string[] = [];
  try {
    top = readdirSync(dist);
  } catch {
    // said below
  }
  if (!top.some((f) => f.endsWith('.mjs') || f.endsWith('.cjs')))
    throw new ReapbenchError(`no bundles in ${dist}: run npm run build first`);
  if (!existsSync(path.join(modules, 'koffi'))) throw new ReapbenchError(`${path.join(modules, 'koffi')} is missing: run npm ci`);
  return {
    name: `host files (${dist}, this host's inits)`,
    mounts: [
      { host: dist, container: '/app/dist', readOnly: true },
      { host: modules, container: '/app/node_modules', readOnly: true },
    ],
    files: [
      // The image's launcher, with this host's node: one V8 platform thread, as in the image.
      { path: '/app/bin/ts-reaper', content: TS_REAPER_LAUNCHER.replace('/usr/local/bin/node', node), mode: 0o755 },
      { path: '/app/bin/loadgen', linkTo: '../dist/loadgen.mjs' },
    ],
    env: { NODE_ENV: 'production' },
    workdir: '/app',
  };
}
