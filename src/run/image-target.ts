/**
 * A user's image as the thing measured (`reapbench run --image`): what the engine says about it
 * (id, architecture, entrypoint and cmd), the argv its PID 1 runs, whether that argv already
 * starts an init, and how each PID 1 choice is put in front of it without changing the image.
 *
 * Injection never writes to the image: the engine's own init through `HostConfig.Init`, or a
 * static host binary bind-mounted read-only at `/.reapbench/<name>` (the mount point is made in
 * the container's writable layer, which is removed with the container) and the argv prefixed.
 * A binary linked dynamically would need the image to hold its loader and libc, which no image
 * promises, so such a choice is skipped with its reason, never silently.
 */
import type Docker from 'dockerode';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { usageError } from '../errors.js';
import type { InitName } from '../model/inits.js';
import { mapEngineError } from '../runtime/engine.js';
import type { Mount } from '../runtime/container.js';

/** What the engine says about an image (`GET /images/{name}/json`). */
export interface ImageInfo {
  /** The reference as given (tag or id). */
  ref: string;
  /** Content id, `sha256:…`: the same before and after a run when the image is unchanged. */
  id: string;
  /** `Architecture` (Go's names: `amd64`, `arm64`, …). */
  architecture: string;
  /** `Config.Entrypoint` (argv; empty when unset). */
  entrypoint: string[];
  /** `Config.Cmd` (argv; empty when unset). */
  cmd: string[];
}

/**
 * Inspect `ref` in the engine (never pulls: the image must be there, built or pulled by the user).
 * @throws ReapbenchError exit 2 when the engine does not have it; exit 1 for other engine errors.
 */
export async function inspectImage(docker: Docker, ref: string): Promise<ImageInfo> {
  let raw: { Id?: string; Architecture?: string; Config?: { Entrypoint?: string[] | string | null; Cmd?: string[] | string | null } };
  try {
    raw = (await docker.getImage(ref).inspect()) as typeof raw;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404)
      throw usageError(`image ${ref} not found in the engine (reapbench does not pull: docker pull or build it first)`);
    throw mapEngineError(err, `inspect image ${ref}`);
  }
  const argv = (v: string[] | string | null | undefined): string[] => (v == null ? [] : Array.isArray(v) ? v : [v]);
  return {
    ref,
    id: String(raw.Id ?? ''),
    architecture: String(raw.Architecture ?? ''),
    entrypoint: argv(raw.Config?.Entrypoint),
    cmd: argv(raw.Config?.Cmd),
  };
}

/** Go's architecture name of this host (what the host's static inits were built for), from Node's `process.arch`. */
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
 * @throws ReapbenchError exit 2 naming both architectures.
 */
export function checkArchitecture(info: ImageInfo, host: string = hostArchitecture()): void {
  if (info.architecture && info.architecture !== host)
    throw usageError(`image ${info.ref} is built for ${info.architecture}; this host runs ${host}`);
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
 * Whether an ELF executable is statically linked: it has no `PT_INTERP` program header (the
 * dynamic loader's path; ELF gABI, `elf.h`). Reads the ELF header and the program headers only.
 * @returns true static, false dynamic, null when the file is not a readable ELF file.
 */
export function isStaticElf(file: string): boolean | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 52 || head.readUInt32BE(0) !== 0x7f454c46) return null;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const phoff = is64 ? Number(le ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : u32(head, 28);
    const phentsize = u16(head, is64 ? 54 : 42);
    const phnum = u16(head, is64 ? 56 : 44);
    const ph = Buffer.alloc(phentsize);
    for (let i = 0; i < phnum; i++) {
      if (readSync(fd, ph, 0, phentsize, phoff + i * phentsize) < 4) return null;
      if (u32(ph, 0) === 3 /* PT_INTERP */) return false;
    }
    return true;
  } finally {
    closeSync(fd);
  }
}

/** Where injected binaries are mounted inside the container. */
export const INJECT_DIR = '/.reapbench';

/** The host binaries reapbench injects, and the Debian package each comes from. */
export const HOST_INITS: Partial<Record<InitName, { path: string; pkg: string; args: string[] }>> = {
  // Debian's `tini` package ships tini-static beside the dynamic tini.
  tini: { path: '/usr/bin/tini-static', pkg: 'tini', args: ['--'] },
  catatonit: { path: '/usr/bin/catatonit', pkg: 'catatonit', args: ['--'] },
  // Debian builds it dynamically linked (checked at run time, not assumed).
  'dumb-init': { path: '/usr/bin/dumb-init', pkg: 'dumb-init', args: [] },
};

/** How one PID 1 choice runs the image, or why it cannot. */
export type Injection =
  | {
      init: InitName;
      /** `HostConfig.Init`. */
      engineInit: boolean;
      /** Read-only bind mounts of the injected binary (empty when none). */
      mounts: Mount[];
      /** Full argv of PID 1 (entrypoint override; the image's cmd is then not appended). */
      argv: string[];
      /** Where PID 1 comes from, one line for the report. */
      source: string;
    }
  | { init: InitName; skipped: string };

/**
 * How `init` is put in front of `argv` (module doc). `hostInits` and `staticCheck` are for tests.
 * @returns the injection, or `skipped` with a one-line reason (`not injectable into this image: …`).
 */
export function injectionFor(
  init: InitName,
  argv: readonly string[],
  hostInits = HOST_INITS,
  staticCheck: (file: string) => boolean | null = isStaticElf,
): Injection {
  switch (init) {
    case 'none':
      return { init, engineInit: false, mounts: [], argv: [...argv], source: "the image's own entrypoint/cmd" };
    case 'docker-init':
      return { init, engineInit: true, mounts: [], argv: [...argv], source: "the engine's docker-init (HostConfig.Init)" };
    case 'ts-reaper':
      return { init, skipped: 'not injectable into this image: needs a Node runtime' };
    default: {
      const bin = hostInits[init];
      if (!bin) return { init, skipped: `not injectable into this image: no host binary known for ${init}` };
      if (!existsSync(bin.path))
        return { init, skipped: `not injectable into this image: ${bin.path} not found (Debian package ${bin.pkg})` };
      const isStatic = staticCheck(bin.path);
      if (isStatic === false) return { init, skipped: `not injectable into this image: ${bin.path} is dynamically linked` };
      if (isStatic === null) return { init, skipped: `not injectable into this image: ${bin.path} is not a readable ELF executable` };
      const target = `${INJECT_DIR}/${init}`;
      return {
        init,
        engineInit: false,
        mounts: [{ host: bin.path, container: target, readOnly: true }],
        argv: [target, ...bin.args, ...argv],
        source: `the host's static ${bin.path} (Debian ${bin.pkg}), mounted read-only at ${target}`,
      };
    }
  }
}
