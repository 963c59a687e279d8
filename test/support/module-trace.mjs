/**
 * Records every module file a Node process loads, for tests that check what a command pulls in.
 * Use: `node --import ./test/support/module-trace.mjs prog.js` with REAPBENCH_MODULE_TRACE set to
 * a file; one `file:` URL a line is appended to it (duplicates possible, built-ins left out).
 *
 * Two sources, because neither sees everything on Node 20: the ES module loader's `load` hook
 * (every ES module, and the CommonJS files that an `import` reaches directly), and the CommonJS
 * cache at exit (files that CommonJS code `require`s, which the hook does not see). Each line is
 * written synchronously where it is learnt, so nothing is lost when the process exits early.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const out = process.env.REAPBENCH_MODULE_TRACE;

/** Loader hook (runs on the loader's thread): note the URL of each file loaded. */
export async function load(url, context, nextLoad) {
  if (out && url.startsWith('file:')) appendFileSync(out, `${url}\n`);
  return nextLoad(url, context);
}

if (isMainThread && out) {
  register(import.meta.url);
  process.on('exit', () => {
    const files = Object.keys(createRequire(import.meta.url).cache).filter((f) => f.startsWith('/'));
    appendFileSync(out, files.map((f) => `${pathToFileURL(f).href}\n`).join(''));
  });
}
