/**
 * A user's image as the thing measured (`reapbench run --image`): what the engine says about it
 * (id, architecture, user, environment, entrypoint and cmd), the argv its PID 1 runs, whether
 * that argv already starts an init, and how each PID 1 choice is put in front of it without
 * changing the image.
 *
 * Injection never writes to the image: the engine's own init through `HostConfig.Init`, or the
 * host's files bind-mounted read-only under `/.reapbench` (mount points are made in the
 * container's writable layer, which is removed with the container) and the argv prefixed. The
 * mount sources are the host's own files, never copies, so a run leaves nothing on the host.
 *  - A static host binary (tini-static, catatonit) is mounted at `/.reapbench/<init>` and run.
 *  - A dynamically linked one (Debian's dumb-init) is run through the host's own loader, mounted
 *    with the libraries `ldd` lists at `/.reapbench/lib`: `ld-linux-x86-64.so.2 --library-path
 *    /.reapbench/lib /.reapbench/<init> …`. The image needs no libc of its own, and its
 *    processes are untouched: `--library-path` holds for the loader's process and its dlopen()
 *    only, is not an environment variable and so is not inherited (unlike LD_LIBRARY_PATH, which
 *    it replaces for that process alone). PID 1's comm is then the loader's (`ld-linux-x86-64`).
 *  - ts-reaper is this checkout's bundle (dist/ts-reaper.cjs and its wait thread's) run by the
 *    host's node through the same loader, with koffi and its native addon mounted where
 *    `require('koffi')` finds them from the bundle: a self-contained runtime beside it, started
 *    as the image's launcher starts it (`--v8-pool-size=1`, then `--` and the argv).
 * Each is the host's binary, so it fits only an image of the host's architecture: the run
 * refuses any other up front ({@link checkArchitecture}). What can still stop an injection in
 * one image, and is then reported as `not injectable into this image: <reason>`: an image
 * environment that sets LD_PRELOAD (the host's loader would load that library into PID 1) or,
 * for ts-reaper, NODE_OPTIONS (the host's node would obey it); and an image user other than
 * root that could not read or execute a mounted file.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { usageError } from '../errors.js';
import { projectRoot } from '../images/build.js';
import { sharedLibraries } from '../images/rootfs.js';
import type { InitName } from '../model/inits.js';
import type { ContainerRuntime, ImageDetails } from '../runtime/runtime.js';
import type { Mount } from '../runtime/container.js';

/** What the engine says about an image (`GET /images/{name}/json`), with the reference as given (tag or id). */
export type ImageInfo = ImageDetails & { ref: string };

/**
 * Inspect `ref` in the engine (never pulls: the image must be there, built or pulled by the user).
 * @throws ReapbenchError exit 2 when the engine does not have it; exit 1 for other engine errors.
 */
export async function inspectImage(runtime: ContainerRuntime, ref: string): Promise<ImageInfo> {
  const details = await runtime.inspectImage(ref);
  if (details === null)
    throw usageError(
      `image ${ref} not found in the engine at ${runtime.label}; reapbench does not pull: pull or build it with that engine first (docker pull, podman pull)`,
    );
  return { ref, ...details };
}

/** Go's architecture name of this host (what the host's injected inits, node and libraries were built for), from Node's `process.arch`. */
export function hostArchitecture(arch: string = process.arch): string {
  return (
    (
      { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<
        string,
        string
      >
    )[arch] ?? arch
  );
}

/**
 * Check that the image runs on this host: the inits injected are the host's binaries, and an
 * image for another architecture would fail with `exec format error` (or run under emulation).
 * @throws ReapbenchError exit 2 naming both architectures and the platform to build for.
 */
export function checkArchitecture(info: ImageInfo, host: string = hostArchitecture()): void {
  if (info.architecture && info.architecture !== host)
    throw usageError(
      `image ${info.ref} is built for ${info.architecture}; this host runs ${host}: build the image for linux/${host} (docker build --platform linux/${host}) and pass that one`,
    );
}

/**
 * Parse `--entrypoint`/`--cmd`: a JSON array of strings (`'["python3","-u","app.py"]'`), or a
 * plain string split on whitespace (no quoting: use the JSON form for arguments with spaces).
 * @throws ReapbenchError exit 2 for malformed JSON, a non-string element or an empty argv.
 */
export function parseArgv(option: string, value: string): string[] {
  const v = value.trim();
  let argv: unknown;
  if (v.startsWith('[')) {
    try {
      argv = JSON.parse(v);
    } catch {
      throw usageError(`Expected \`--${option}\` to be a JSON array of strings or a plain command, got \`${value}\``);
    }
  } else argv = v.split(/\s+/).filter(Boolean);
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string'))
    throw usageError(`Expected \`--${option}\` to be a non-empty argv (JSON array of strings or a plain command), got \`${value}\``);
  return argv as string[];
}

/**
 * The argv of the image's PID 1 under `none`, as `docker run` composes it: entrypoint + cmd;
 * an `--entrypoint` given resets the image's cmd (as `docker run --entrypoint` does), `--cmd`
 * replaces it.
 * @throws ReapbenchError exit 2 when the result is empty (no entrypoint, no cmd, none given).
 */
export function resolveArgv(info: ImageInfo, over: { entrypoint?: string[]; cmd?: string[] }): string[] {
  const entrypoint = over.entrypoint ?? info.entrypoint;
  const cmd = over.cmd ?? (over.entrypoint ? [] : info.cmd);
  const argv = [...entrypoint, ...cmd];
  if (argv.length === 0) throw usageError(`image ${info.ref} has neither an entrypoint nor a cmd: give --entrypoint or --cmd`);
  return argv;
}

/** Basenames of programs that are themselves a reaping init (or a supervisor that reaps). */
export const KNOWN_INITS = [
  'tini',
  'tini-static',
  'dumb-init',
  'catatonit',
  'docker-init',
  's6-svscan',
  'runit',
  'runsvdir',
  'supervisord',
];

/** The init the argv already starts (`argv[0]`'s basename), or null. */
export function existingInit(argv: readonly string[]): string | null {
  const name = path.basename(argv[0] ?? '');
  return KNOWN_INITS.includes(name) ? name : null;
}

/**
 * The ELF interpreter (`PT_INTERP`: the dynamic loader's path; ELF gABI, `elf.h`) of an ELF
 * file. Reads the ELF header and the program headers only.
 * @returns the loader's path for a dynamically linked file, null for a static one, undefined
 *   when the file is not a readable ELF file.
 */
export function elfInterpreter(file: string): string | null | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 52 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const u64 = (b: Buffer, o: number): number => Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o));
    const phoff = is64 ? u64(head, 32) : u32(head, 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    const ph = Buffer.alloc(phentsize);
    for (let i = 0; i < phnum; i++) {
      if (readSync(fd, ph, 0, phentsize, phoff + i * phentsize) < (is64 ? 40 : 20)) return undefined;
      if (u32(ph, 0) !== 3 /* PT_INTERP */) continue;
      const offset = is64 ? u64(ph, 8) : u32(ph, 4);
      const size = is64 ? u64(ph, 32) : u32(ph, 16);
      const name = Buffer.alloc(Math.min(size, 4096));
      const got = readSync(fd, name, 0, name.length, offset);
      return name.subarray(0, got).toString('latin1').replace(/\0.*$/s, '');
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether an ELF executable is statically linked: it has no `PT_INTERP` program header.
 * @returns true static, false dynamic, null when the file is not a readable ELF file.
 */
export function isStaticElf(file: string): boolean | null {
  const interp = elfInterpreter(file);
  return interp === undefined ? null : interp === null;
}

/** Where injected files are mounted inside the container. */
export const INJECT_DIR = '/.reapbench';

/** Where the loader and the libraries of a dynamically linked injected binary are mounted. */
export const INJECT_LIB_DIR = `${INJECT_DIR}/lib`;

/** A host binary reapbench can inject: its path, its Debian package, and the arguments that precede the image's argv. */
export interface HostInit {
  /** Absolute host path. */
  path: string;
  /** Debian package that ships it (named when it is missing). */
  pkg: string;
  /** Init arguments placed between the binary and the image's argv (e.g. `--`). */
  args: string[];
}

/** The host binaries reapbench injects, and the Debian package each comes from. */
export const HOST_INITS: Partial<Record<InitName, HostInit>> = {
  // Debian's `tini` package ships tini-static beside the dynamic tini.
  tini: { path: '/usr/bin/tini-static', pkg: 'tini', args: ['--'] },
  catatonit: { path: '/usr/bin/catatonit', pkg: 'catatonit', args: ['--'] },
  // Debian builds it dynamically linked: it runs through the host's loader (module doc).
  'dumb-init': { path: '/usr/bin/dumb-init', pkg: 'dumb-init', args: [] },
};

/** ts-reaper's bundles in dist/: the program and its wait thread's script (loaded beside it). */
export const TS_REAPER_BUNDLES = ['ts-reaper.cjs', 'ts-reaper-wait-worker.cjs'] as const;

/** ts-reaper's runtime on this host: what {@link injectionFor} mounts for it. */
export interface TsReaperFiles {
  /** The node binary running reapbench (`process.execPath`). */
  node: string;
  /** Its version (`process.version`, e.g. `v20.19.0`), for the report. */
  nodeVersion: string;
  /** The folder holding {@link TS_REAPER_BUNDLES} (the checkout's dist/). */
  dist: string;
  /** koffi's package folder (mounted whole). */
  koffi: string;
  /** Its native addon's package name, e.g. `@koromix/koffi-linux-x64`. */
  addonName: string;
  /** That package's folder. */
  addon: string;
  /**
   * The addon package's files mounted, relative to {@link addon}: its package.json, loader
   * (index.js) and the glibc builds (`*.node` outside `musl_*`). Run through a loader, node's
   * `process.execPath` is the loader, which has no `PT_INTERP`, so the addon's loader cannot
   * tell the libc and tries its musl build first; left out, that try fails as "not found"
   * instead of loading an image's musl libc beside the host's glibc.
   */
  addonFiles: string[];
  /** The `*.node` files among them (absolute), whose libraries are mounted too. */
  natives: string[];
}

/** What injection needs from the host, found once per run by {@link injectionHost} (tests build their own). */
export interface InjectionHost {
  /** The host binaries known per init ({@link HOST_INITS}). */
  inits: Partial<Record<InitName, HostInit>>;
  /** The ELF interpreter of a host file ({@link elfInterpreter}). */
  interpreter: (file: string) => string | null | undefined;
  /** Shared libraries `ldd` lists per dynamically linked host file (absolute paths, the loader included), or why it could not list them. */
  libraries: ReadonlyMap<string, readonly string[] | string>;
  /** ts-reaper's runtime, or why it is not available on this host. */
  tsReaper: TsReaperFiles | string;
  /**
   * Whether a user other than root (and other than the file's owner) may use a host path: read
   * a file, also execute it when `exec`; list and enter a folder. Default: the mode's "other" bits.
   */
  usableByOthers?: (file: string, exec: boolean) => boolean;
}

/** The mode's "other" bits ({@link InjectionHost.usableByOthers}); false for a path that cannot be read. */
export function otherBitsAllow(file: string, exec: boolean): boolean {
  try {
    const st = statSync(file);
    const need = st.isDirectory() || exec ? 0o005 : 0o004;
    return (st.mode & need) === need;
  } catch {
    return false;
  }
}

/**
 * ts-reaper's runtime on this host: node (`process.execPath`), the bundles in `root`/dist and
 * koffi with its addon for this platform, resolved as Node resolves them from `root`.
 * @returns the files, or a one-line reason when one is missing (not built, not installed).
 * @throws ReapbenchError when `root` is not given and reapbench's project root cannot be found.
 */
export function tsReaperFiles(root: string = projectRoot()): TsReaperFiles | string {
  const dist = path.join(root, 'dist');
  for (const f of TS_REAPER_BUNDLES) if (!existsSync(path.join(dist, f))) return `${path.join(dist, f)} not built (npm run build)`;
  const addonName = `@koromix/koffi-${process.platform}-${process.arch}`;
  let koffi: string;
  try {
    // koffi's exports map hides its package.json: resolve its entry point, then climb to the
    // folder that names it.
    koffi = path.dirname(createRequire(path.join(root, 'package.json')).resolve('koffi'));
    while (!existsSync(path.join(koffi, 'package.json')) && path.dirname(koffi) !== koffi) koffi = path.dirname(koffi);
  } catch {
    return `koffi is not installed in ${root} (npm ci)`;
  }
  // Where koffi's own loader looks for it: beside koffi in the same node_modules.
  const addon = path.join(path.dirname(koffi), addonName);
  if (!existsSync(path.join(addon, 'package.json'))) return `${addon} is missing (npm ci)`;
  const addonFiles = ['package.json', 'index.js'].filter((f) => existsSync(path.join(addon, f)));
  for (const e of readdirSync(addon, { withFileTypes: true }))
    if (e.isDirectory() && !e.name.startsWith('musl_'))
      for (const f of readdirSync(path.join(addon, e.name))) if (f.endsWith('.node')) addonFiles.push(`${e.name}/${f}`);
  const natives = addonFiles.filter((f) => f.endsWith('.node')).map((f) => path.join(addon, f));
  if (natives.length === 0) return `${addon} holds no native addon for glibc`;
  return { node: process.execPath, nodeVersion: process.version, dist, koffi, addonName, addon, addonFiles, natives };
}

/**
 * What injection needs from this host for `inits`: runs `ldd` on the dynamically linked
 * binaries among them (dumb-init; node and koffi's addon for ts-reaper) and nothing else.
 * @returns the {@link InjectionHost}; a missing binary or a failing `ldd` becomes that init's
 *   reason, reported by {@link injectionFor}. Never throws.
 */
export async function injectionHost(inits: readonly InitName[], root?: string): Promise<InjectionHost> {
  const dynamic: string[] = [];
  for (const init of inits) {
    const bin = HOST_INITS[init];
    if (bin && typeof elfInterpreter(bin.path) === 'string') dynamic.push(bin.path);
  }
  let tsReaper: TsReaperFiles | string = 'not asked for';
  if (inits.includes('ts-reaper')) {
    try {
      tsReaper = tsReaperFiles(root);
    } catch (err) {
      tsReaper = (err as Error).message;
    }
    if (typeof tsReaper !== 'string') dynamic.push(tsReaper.node, ...tsReaper.natives);
  }
  const libraries = new Map<string, readonly string[] | string>();
  for (const file of dynamic) libraries.set(file, await sharedLibraries(file).catch((err: Error) => err.message.split('\n')[0]!));
  return { inits: HOST_INITS, interpreter: elfInterpreter, libraries, tsReaper };
}

/** How one PID 1 choice runs the image, or why it cannot. */
export type Injection =
  | {
      init: InitName;
      /** `HostConfig.Init`. */
      engineInit: boolean;
      /** Read-only bind mounts of the injected files (empty when none). */
      mounts: Mount[];
      /** Full argv of PID 1 (entrypoint override; the image's cmd is then not appended). */
      argv: string[];
      /** Where PID 1 comes from, one line for the report. */
      source: string;
    }
  | { init: InitName; skipped: string };

/** What of the image decides whether an injection can work in it. */
export type ImageTraits = Pick<ImageInfo, 'user' | 'env'>;

/** `Config.User` names root: unset, `root` or uid 0 (with or without a group). */
function rootUser(user: string): boolean {
  const name = user.split(':')[0]!.trim();
  return name === '' || name === 'root' || name === '0';
}

/** The value of `name` in the image's environment (the last one wins, as in docker run), or undefined. */
function envValue(env: readonly string[], name: string): string | undefined {
  let v: string | undefined;
  for (const e of env) if (e.startsWith(`${name}=`)) v = e.slice(name.length + 1);
  return v;
}

/** The loader and libraries of a dynamic binary as mounts under {@link INJECT_LIB_DIR}, named as the loader looks them up. */
function libraryMounts(loader: string, libs: readonly string[]): Mount[] {
  const mounts = new Map<string, Mount>();
  // Mounted under the name ldd printed (the soname's link, e.g. libstdc++.so.6), which is the
  // name the loader searches for; the engine follows the link to the file itself.
  for (const lib of [loader, ...libs]) {
    const container = `${INJECT_LIB_DIR}/${path.basename(lib)}`;
    if (!mounts.has(container)) mounts.set(container, { host: lib, container, readOnly: true });
  }
  return [...mounts.values()];
}

/** `n` and the noun in its number. */
const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** The argv prefix that runs `binary` (inside the container) through the mounted loader. */
function throughLoader(loader: string, binary: string): string[] {
  return [`${INJECT_LIB_DIR}/${path.basename(loader)}`, '--library-path', INJECT_LIB_DIR, binary];
}

/** A mount whose source a non-root image user could not use, with why; null when all are usable. */
function unusable(mounts: readonly Mount[], execs: ReadonlySet<string>, image: ImageTraits, host: InjectionHost): string | null {
  if (rootUser(image.user)) return null;
  const usable = host.usableByOthers ?? otherBitsAllow;
  const bad = mounts.find((m) => !usable(m.host, execs.has(m.host)));
  return bad ? `its user ${image.user} could not ${execs.has(bad.host) ? 'execute' : 'read'} ${bad.host} (not allowed to others)` : null;
}

/**
 * How `init` is put in front of `argv` in an image with `image`'s user and environment (module
 * doc). `host` says what this host has ({@link injectionHost}; tests build their own).
 * @returns the injection, or `skipped` with a one-line reason (`not injectable into this image: …`).
 */
export function injectionFor(
  init: InitName,
  argv: readonly string[],
  host: InjectionHost,
  image: ImageTraits = { user: '', env: [] },
): Injection {
  const skip = (why: string): Injection => ({ init, skipped: `not injectable into this image: ${why}` });
  const preload = envValue(image.env, 'LD_PRELOAD');
  const preloads =
    preload !== undefined && preload.trim() !== ''
      ? `its environment sets LD_PRELOAD=${preload}, which the host's loader would load into ${init}`
      : null;
  switch (init) {
    case 'none':
      return { init, engineInit: false, mounts: [], argv: [...argv], source: "the image's own entrypoint/cmd" };
    case 'docker-init':
      return { init, engineInit: true, mounts: [], argv: [...argv], source: "the engine's docker-init (HostConfig.Init)" };
    case 'ts-reaper': {
      const ts = host.tsReaper;
      if (typeof ts === 'string') return skip(ts);
      const loader = host.interpreter(ts.node);
      if (typeof loader !== 'string') return skip(`${ts.node} is not a dynamically linked ELF executable (koffi's addon needs a loader)`);
      const libs: string[] = [];
      for (const file of [ts.node, ...ts.natives]) {
        const l = host.libraries.get(file);
        if (l === undefined) return skip(`the libraries of ${file} are unknown`);
        if (typeof l === 'string') return skip(l);
        libs.push(...l);
      }
      if (preloads) return skip(preloads);
      const nodeOptions = envValue(image.env, 'NODE_OPTIONS');
      if (nodeOptions !== undefined && nodeOptions.trim() !== '')
        return skip(`its environment sets NODE_OPTIONS=${nodeOptions}, which the host's node would obey`);
      const app = `${INJECT_DIR}/app`;
      const node = `${INJECT_DIR}/node`;
      const mounts: Mount[] = [
        ...libraryMounts(loader, libs),
        { host: ts.node, container: node, readOnly: true },
        ...TS_REAPER_BUNDLES.map((f) => ({ host: path.join(ts.dist, f), container: `${app}/dist/${f}`, readOnly: true })),
        // The layout koffi's own loader expects: its addon package beside it in node_modules.
        { host: ts.koffi, container: `${app}/node_modules/koffi`, readOnly: true },
        ...ts.addonFiles.map((f) => ({
          host: path.join(ts.addon, f),
          container: `${app}/node_modules/${ts.addonName}/${f}`,
          readOnly: true,
        })),
      ];
      // The loader is executed; node and the libraries are only read (mmap'd) by it.
      const bad = unusable(mounts, new Set([loader]), image, host);
      if (bad) return skip(bad);
      return {
        init,
        engineInit: false,
        mounts,
        // As the image's /app/bin/ts-reaper launcher starts it (src/images/build.ts): one V8
        // platform thread, fewer tasks charged to the pids limit.
        argv: [...throughLoader(loader, node), '--v8-pool-size=1', `${app}/dist/ts-reaper.cjs`, '--', ...argv],
        source: `this checkout's ${path.join(ts.dist, 'ts-reaper.cjs')} run by the host's node ${ts.nodeVersion} (${ts.node}) through its loader ${loader}, with koffi and ${plural(libraryMounts(loader, libs).length - 1, 'library', 'libraries')}, all mounted read-only under ${INJECT_DIR}`,
      };
    }
    default: {
      const bin = host.inits[init];
      if (!bin) return skip(`no host binary known for ${init}`);
      if (!existsSync(bin.path)) return skip(`${bin.path} not found (Debian package ${bin.pkg})`);
      const loader = host.interpreter(bin.path);
      if (loader === undefined) return skip(`${bin.path} is not a readable ELF executable`);
      const target = `${INJECT_DIR}/${init}`;
      const binMount: Mount = { host: bin.path, container: target, readOnly: true };
      if (loader === null) {
        const bad = unusable([binMount], new Set([bin.path]), image, host);
        if (bad) return skip(bad);
        return {
          init,
          engineInit: false,
          mounts: [binMount],
          argv: [target, ...bin.args, ...argv],
          source: `the host's static ${bin.path} (Debian ${bin.pkg}), mounted read-only at ${target}`,
        };
      }
      const libs = host.libraries.get(bin.path);
      if (libs === undefined) return skip(`the libraries of ${bin.path} are unknown`);
      if (typeof libs === 'string') return skip(libs);
      if (preloads) return skip(preloads);
      const mounts = [...libraryMounts(loader, libs), binMount];
      // The loader is executed; the binary is only read (mmap'd) by it.
      const bad = unusable(mounts, new Set([loader]), image, host);
      if (bad) return skip(bad);
      // The kernel names a process after the file it executes, cut to 15 bytes (TASK_COMM_LEN).
      const comm = path.basename(loader).slice(0, 15);
      return {
        init,
        engineInit: false,
        mounts,
        argv: [...throughLoader(loader, target), ...bin.args, ...argv],
        source: `the host's ${bin.path} (Debian ${bin.pkg}), dynamically linked: run by the host's loader ${loader} with its ${plural(mounts.length - 2, 'library', 'libraries')}, all mounted read-only under ${INJECT_DIR} (PID 1's comm reads ${comm} because it runs through its loader)`,
      };
    }
  }
}
