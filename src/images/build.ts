/**
 * Builds the images every benchmark runs in, tagged by a hash of their inputs so that a second
 * `npm run bench` reuses them and a changed input rebuilds.
 *
 * Two layers:
 *  - base: `node`, a POSIX shell with `sleep`/`ps`, and the inits (`tini`, `dumb-init`,
 *    `catatonit`). Either `offline` (a rootfs assembled from the host, see rootfs.ts, imported
 *    through the Engine API) or `registry` (`node:20-slim` plus Debian's init packages).
 *  - app: base + reapbench's in-container programs (`dist/*.mjs`, `dist/*.cjs`, the orphan helper) and their
 *    runtime `node_modules` (koffi), under `/app`, with `ts-reaper` and `loadgen` on `PATH`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import tar from 'tar-stream';
import { ReapbenchError, usageError } from '../errors.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { packRootfs, planRootfs, type RootfsPlan } from './rootfs.js';

/** How the base image is obtained. `auto` prefers a registry image when one can be had. */
export type BaseMode = 'auto' | 'offline' | 'registry';

/** Result of {@link ensureImages}. */
export interface ImageSet {
  /** Tag of the image benchmarks run (`reapbench:<12 hex>`). */
  app: string;
  /** Tag of the base it was built from. */
  base: string;
  /** Which way the base was obtained, and why; `host`: no image, the namespace runtime's host files stand in for it. */
  baseMode: 'offline' | 'registry' | 'host';
  /** One-line reason for the base choice (printed and recorded in env.json). */
  baseReason: string;
  /** Image id (`sha256:…`) of the app image. */
  appId: string;
  /** Whether anything was built in this call (false: both were cache hits). */
  built: boolean;
}

/** Options of {@link ensureImages}. */
export interface EnsureImagesOptions {
  /** Base mode (default `auto`). */
  base?: BaseMode;
  /** Registry image for the `registry` base (default `node:20-slim`). */
  registryImage?: string;
  /** How long `auto` waits for a registry pull before falling back to `offline`, ms (default 20 000). */
  pullTimeoutMs?: number;
  /** Progress lines (build steps, choices), without trailing newline. */
  onProgress?: (line: string) => void;
  /** Project root (default: found from this module's location). */
  root?: string;
  /** Aborting cancels a pull, import or build under way; {@link ensureImages} then throws. */
  signal?: AbortSignal;
}

/** The error {@link ensureImages} throws when its signal aborts (exit code 130, as for SIGINT). */
export function imagesInterrupted(): ReapbenchError {
  return new ReapbenchError('interrupted while preparing the images; nothing was measured', { exitCode: 130 });
}

/** Bump when the recipe changes in a way the inputs do not show. */
const RECIPE_VERSION = '1';

/**
 * The project root: the nearest folder above this module that holds reapbench's package.json
 * (works from src/images under vitest and from dist/src/images after the build).
 */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'images', 'app.Dockerfile'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new ReapbenchError(
        'cannot find the reapbench project root (package.json with images/) above ' + fileURLToPath(import.meta.url),
      );
    dir = parent;
  }
}

async function hashFile(h: ReturnType<typeof createHash>, file: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', resolve)
      .on('error', reject);
  });
}

/**
 * Hash of the offline base's inputs: recipe version, layout, and the content of every file.
 * @returns 12 hex characters.
 */
export async function hashRootfsPlan(plan: RootfsPlan): Promise<string> {
  const h = createHash('sha256');
  h.update(`recipe ${RECIPE_VERSION}\n`);
  h.update(
    JSON.stringify({ dirs: plan.dirs, texts: plan.texts, symlinks: plan.symlinks, targets: plan.files.map((f) => [f.target, f.mode]) }),
  );
  for (const f of plan.files) {
    h.update(`\0${f.target}\0`);
    await hashFile(h, f.source);
  }
  return h.digest('hex').slice(0, 12);
}

/** One file of the app build context: its path in the context and on the host. */
export interface ContextFile {
  /** Path inside the build context (and under /app in the image for `app/…`). */
  contextPath: string;
  /** Host path, or null for generated content. */
  hostPath: string | null;
  /** Generated content (when `hostPath` is null). */
  content?: string;
  /** Permission bits. */
  mode: number;
  /** Symlink target, for links. */
  linkTo?: string;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/**
 * The app image's build context: Dockerfile, the in-container programs from `dist/` (top-level
 * files only: bundles and the orphan helper), koffi and its native addon for this platform.
 * @throws ReapbenchError when `dist/` has no bundles (run `npm run build`).
 */
export async function appContext(root: string): Promise<ContextFile[]> {
  const dist = path.join(root, 'dist');
  let top: string[] = [];
  try {
    top = (await readdir(dist, { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.endsWith('.map'))
      .map((e) => e.name)
      .sort();
  } catch {
    /* handled below */
  }
  if (!top.some((f) => f.endsWith('.mjs') || f.endsWith('.cjs')))
    throw new ReapbenchError(`no bundles in ${dist}: run npm run build first`);
  const files: ContextFile[] = [{ contextPath: 'Dockerfile', hostPath: path.join(root, 'images', 'app.Dockerfile'), mode: 0o644 }];
  for (const f of top) files.push({ contextPath: `app/dist/${f}`, hostPath: path.join(dist, f), mode: 0o755 });
  const addon = `@koromix/koffi-${process.platform}-${process.arch}`;
  for (const pkg of ['koffi', addon]) {
    const dir = path.join(root, 'node_modules', pkg);
    try {
      await stat(dir);
    } catch {
      throw new ReapbenchError(`${dir} is missing: run npm ci`);
    }
    for (const file of await walk(dir)) {
      const rel = path.relative(dir, file);
      // Keep the image small: koffi's docs, vendored headers and the musl build are not needed.
      if (/^(doc|vendor)\//.test(rel) || rel.startsWith('musl_') || rel.endsWith('.md')) continue;
      files.push({ contextPath: `app/node_modules/${pkg}/${rel}`, hostPath: file, mode: 0o644 });
    }
  }
  if (top.includes('loadgen.mjs'))
    files.push({ contextPath: 'app/bin/loadgen', hostPath: null, mode: 0o777, linkTo: '../dist/loadgen.mjs' });
  if (top.includes('ts-reaper.cjs'))
    files.push({ contextPath: 'app/bin/ts-reaper', hostPath: null, mode: 0o755, content: TS_REAPER_LAUNCHER });
  return files;
}

/**
 * `/app/bin/ts-reaper` in the image: starts ts-reaper's bundle with one V8 platform thread
 * instead of Node's default four (`--v8-pool-size`, a Node option that cannot be set from
 * inside the process). ts-reaper does almost no JavaScript work, and each thread is a task
 * charged to the container's pids limit: measured 9 tasks → 6. The kernel runs the shebang
 * line itself (one argument allowed), so no shell sits in between: a shell would export PWD
 * into the command's environment. Both bases have node at /usr/local/bin/node (rootfs.ts;
 * the official node images). Extensionless and outside any package.json: loaded as CommonJS.
 */
export const TS_REAPER_LAUNCHER =
  "#!/usr/local/bin/node --v8-pool-size=1\n// ts-reaper with one V8 platform thread (src/images/build.ts)\nrequire('/app/dist/ts-reaper.cjs');\n";

/**
 * Hash of the app image's inputs: base tag, recipe version, and every context file.
 * @returns 12 hex characters.
 */
export async function hashContext(baseTag: string, files: ContextFile[]): Promise<string> {
  const h = createHash('sha256');
  h.update(`recipe ${RECIPE_VERSION}\nbase ${baseTag}\n`);
  for (const f of files) {
    h.update(`\0${f.contextPath}\0${f.mode}\0${f.linkTo ?? ''}\0`);
    if (f.hostPath) await hashFile(h, f.hostPath);
    else if (f.content) h.update(f.content);
  }
  return h.digest('hex').slice(0, 12);
}

function packContext(files: ContextFile[]): NodeJS.ReadableStream {
  const pack = tar.pack();
  (async () => {
    for (const f of files) {
      if (f.linkTo) {
        pack.entry({ name: f.contextPath, type: 'symlink', linkname: f.linkTo });
      } else if (f.hostPath) {
        const buf = await readFile(f.hostPath);
        pack.entry({ name: f.contextPath, mode: f.mode }, buf);
      } else {
        pack.entry({ name: f.contextPath, mode: f.mode }, f.content ?? '');
      }
    }
    pack.finalize();
  })().catch((err) => pack.destroy(err as Error));
  return pack as unknown as NodeJS.ReadableStream;
}

/** Whether the engine has image `ref`. */
async function imageExists(runtime: ContainerRuntime, ref: string): Promise<boolean> {
  return (await runtime.imageId(ref)) !== null;
}

/**
 * The registry base when it can be had: present locally, or pulled within `timeoutMs`.
 * @returns why it can be used, or null when it cannot (no registry, or no such image).
 * @throws {@link imagesInterrupted} when `signal` aborted the pull.
 */
async function tryRegistryBase(
  runtime: ContainerRuntime,
  image: string,
  timeoutMs: number,
  say: (l: string) => void,
  signal?: AbortSignal,
): Promise<string | null> {
  if (await imageExists(runtime, image)) return `${image} is present locally`;
  say(`base: trying to pull ${image} (up to ${Math.round(timeoutMs / 1000)} s)`);
  const pullSignal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])]);
  try {
    await runtime.pullImage(image, { signal: pullSignal });
    return `pulled ${image}`;
  } catch {
    if (signal?.aborted) throw imagesInterrupted();
    return null;
  }
}

/**
 * Make sure the base and app images exist, building what is missing, and return their tags.
 * @throws ReapbenchError on build failures (with the engine's error), missing host binaries for
 *   the offline base, a `registry` base that cannot be pulled, or an abort of `options.signal`
 *   ({@link imagesInterrupted}, exit code 130).
 */
export async function ensureImages(runtime: ContainerRuntime, options: EnsureImagesOptions = {}): Promise<ImageSet> {
  const say = options.onProgress ?? (() => undefined);
  const root = options.root ?? projectRoot();
  const mode = options.base ?? 'auto';
  if (!['auto', 'offline', 'registry'].includes(mode))
    throw usageError(`Expected \`--base\` to be auto, offline or registry, got \`${mode}\``);
  const registryImage = options.registryImage ?? 'node:20-slim';
  let built = false;

  let baseMode: 'offline' | 'registry';
  let baseReason: string;
  let baseTag: string;
  const signal = options.signal;
  const checkpoint = (): void => {
    if (signal?.aborted) throw imagesInterrupted();
  };
  // An aborted request surfaces as a socket error: say "interrupted", not an engine failure.
  const interruptible = async (op: Promise<void>): Promise<void> => {
    try {
      await op;
    } catch (err) {
      throw signal?.aborted ? imagesInterrupted() : err;
    }
  };
  checkpoint();
  const registryWhy =
    mode === 'offline' ? null : await tryRegistryBase(runtime, registryImage, options.pullTimeoutMs ?? 20_000, say, signal);
  checkpoint();
  if (mode === 'registry' && !registryWhy) {
    throw new ReapbenchError(`cannot pull ${registryImage} for --base registry: check registry access, or use --base offline`);
  }
  if (registryWhy) {
    baseMode = 'registry';
    baseReason = registryWhy;
    const dockerfile = await readFile(path.join(root, 'images', 'registry-base.Dockerfile'), 'utf8');
    const id = await runtime.imageId(registryImage);
    if (id === null) throw new ReapbenchError(`${registryImage} is gone from the engine since it was found; run again`);
    const tag = createHash('sha256').update(`${RECIPE_VERSION}\n${id}\n${dockerfile}`).digest('hex').slice(0, 12);
    baseTag = `reapbench-base:registry-${tag}`;
    if (!(await imageExists(runtime, baseTag))) {
      say(`base: building ${baseTag} from ${registryImage}`);
      await interruptible(
        runtime.buildImage(
          packContext([{ contextPath: 'Dockerfile', hostPath: null, content: dockerfile, mode: 0o644 }]),
          { tag: baseTag, buildArgs: { NODE_IMAGE: registryImage } },
          { onLine: (l) => say(`base: ${l}`), ...(signal ? { signal } : {}) },
        ),
      );
      built = true;
    }
  } else {
    baseMode = 'offline';
    baseReason = mode === 'offline' ? 'requested with --base offline' : `no registry image (${registryImage}) could be had`;
    const plan = await planRootfs();
    baseTag = `reapbench-base:offline-${await hashRootfsPlan(plan)}`;
    if (!(await imageExists(runtime, baseTag))) {
      say(
        `base: importing ${baseTag} (rootfs from this host: node ${process.version}, busybox, tini, dumb-init, catatonit${plan.packages && Object.keys(plan.packages).length ? `, ${Object.keys(plan.packages).join(', ')}` : ''})`,
      );
      await interruptible(
        runtime.importImage(
          packRootfs(plan),
          { tag: baseTag, changes: ['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
          signal ? { signal } : {},
        ),
      );
      built = true;
    }
  }
  say(`base: ${baseTag} (${baseMode}: ${baseReason})`);

  checkpoint();
  const files = await appContext(root);
  const appTag = `reapbench:${await hashContext(baseTag, files)}`;
  if (!(await imageExists(runtime, appTag))) {
    say(`app: building ${appTag}`);
    await interruptible(
      runtime.buildImage(
        packContext(files),
        { tag: appTag, buildArgs: { BASE: baseTag }, labels: { 'reapbench.image': 'app' } },
        { onLine: (l) => say(`app: ${l}`), ...(signal ? { signal } : {}) },
      ),
    );
    built = true;
  }
  const appId = await runtime.imageId(appTag);
  if (appId === null) throw new ReapbenchError(`the build of ${appTag} reported success but the image is missing`);
  return { app: appTag, base: baseTag, baseMode, baseReason, appId, built };
}
