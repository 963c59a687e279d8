/**
 * The offline base image: a root filesystem assembled from this host's own binaries, for
 * machines that cannot reach a container registry. It holds `node` with the shared libraries
 * `ldd` lists, a static `busybox` with its applet links (sh, sleep, ps, …), and the inits under
 * test: `tini` (Debian's `tini-static`), `dumb-init`, `catatonit`.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { execa } from 'execa';
import tar from 'tar-stream';
import { ReapbenchError } from '../errors.js';

/** One file of the root filesystem: where it comes from on the host and where it goes. */
export interface RootfsFile {
  /** Host path (symlinks are resolved when read). */
  source: string;
  /** Absolute path inside the image. */
  target: string;
  /** Permission bits, e.g. 0o755. */
  mode: number;
}

/** Everything the offline rootfs is made of. */
export interface RootfsPlan {
  files: RootfsFile[];
  /** [link path inside the image, link target]. */
  symlinks: Array<[string, string]>;
  /** Directories with their modes (created first). */
  dirs: Array<[string, number]>;
  /** Small generated text files: [path, content]. */
  texts: Array<[string, string]>;
}

/** Host binaries the offline base needs, with the Debian package that provides each. */
export const HOST_BINARIES = {
  busybox: { paths: ['/usr/bin/busybox', '/bin/busybox'], pkg: 'busybox-static' },
  tini: { paths: ['/usr/bin/tini-static'], pkg: 'tini' },
  dumbInit: { paths: ['/usr/bin/dumb-init'], pkg: 'dumb-init' },
  catatonit: { paths: ['/usr/bin/catatonit', '/usr/libexec/podman/catatonit'], pkg: 'catatonit' },
} as const;

async function firstExisting(paths: readonly string[]): Promise<string | null> {
  for (const p of paths) {
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {
      /* try the next */
    }
  }
  return null;
}

/**
 * Shared libraries that `ldd` lists for `binary` (absolute paths, including the loader).
 * Static binaries yield an empty list.
 * @throws ReapbenchError when `ldd` fails on a dynamic binary.
 */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const r = await execa('ldd', [binary], { reject: false });
  if (/not a dynamic executable|statically linked/.test(r.stdout + r.stderr)) return [];
  if (r.exitCode !== 0) throw new ReapbenchError(`ldd ${binary} failed: ${r.stderr.trim() || r.stdout.trim()}`);
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) libs.add(m[1]);
  }
  return [...libs];
}

/**
 * Work out the offline rootfs from the host: which files, links and directories.
 * @param nodeBinary the `node` to ship (default: the one running reapbench).
 * @throws ReapbenchError naming the Debian package to install when a binary is missing.
 */
export async function planRootfs(nodeBinary = process.execPath): Promise<RootfsPlan> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const [name, spec] of Object.entries(HOST_BINARIES)) {
    const p = await firstExisting(spec.paths);
    if (p) found[name] = p;
    else missing.push(spec.pkg);
  }
  if (missing.length > 0) {
    throw new ReapbenchError(
      `the offline base image needs ${missing.join(', ')} on this host: install with sudo apt-get install -y ${missing.join(' ')} (or run sudo bash scripts/engine.sh)`,
    );
  }
  const files: RootfsFile[] = [
    { source: nodeBinary, target: '/usr/local/bin/node', mode: 0o755 },
    { source: found.busybox!, target: '/bin/busybox', mode: 0o755 },
    { source: found.tini!, target: '/usr/bin/tini', mode: 0o755 },
    { source: found.dumbInit!, target: '/usr/bin/dumb-init', mode: 0o755 },
    { source: found.catatonit!, target: '/usr/bin/catatonit', mode: 0o755 },
  ];
  const libs = new Set<string>();
  for (const f of [...files]) for (const lib of await sharedLibraries(f.source)) libs.add(lib);
  for (const lib of [...libs].sort()) files.push({ source: lib, target: lib, mode: 0o755 });

  const applets = await execa(found.busybox!, ['--list-full'], { reject: false });
  if (applets.exitCode !== 0) throw new ReapbenchError(`${found.busybox} --list-full failed; is it busybox-static?`);
  const taken = new Set(files.map((f) => f.target));
  const symlinks: Array<[string, string]> = [];
  for (const rel of applets.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const target = `/${rel}`;
    if (!taken.has(target) && target !== '/bin/busybox') symlinks.push([target, '/bin/busybox']);
  }
  const dirs: Array<[string, number]> = [
    ['/bin', 0o755],
    ['/sbin', 0o755],
    ['/usr', 0o755],
    ['/usr/bin', 0o755],
    ['/usr/sbin', 0o755],
    ['/usr/local', 0o755],
    ['/usr/local/bin', 0o755],
    ['/lib', 0o755],
    ['/lib64', 0o755],
    ['/etc', 0o755],
    ['/tmp', 0o1777],
    ['/proc', 0o555],
    ['/sys', 0o555],
    ['/dev', 0o755],
    ['/results', 0o777],
    ['/app', 0o755],
    ['/root', 0o700],
    ['/var', 0o755],
    ['/var/run', 0o755],
  ];
  const texts: Array<[string, string]> = [
    ['/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n'],
    ['/etc/group', 'root:x:0:\nnogroup:x:65534:\n'],
    ['/etc/reapbench-base', 'offline rootfs assembled by reapbench from the host binaries\n'],
  ];
  return { files, symlinks, dirs, texts };
}

function parentsOf(p: string): string[] {
  const parts = p.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(`/${parts.slice(0, i).join('/')}`);
  return out;
}

/**
 * Stream the planned rootfs as a tar archive (for `POST /images/create?fromSrc=-`).
 * Large files are streamed, not buffered.
 */
export function packRootfs(plan: RootfsPlan): NodeJS.ReadableStream {
  const pack = tar.pack();
  const strip = (p: string): string => p.replace(/^\/+/, '');
  const write = async (): Promise<void> => {
    const seen = new Set<string>();
    const dir = (d: string, mode = 0o755): void => {
      if (seen.has(d)) return;
      seen.add(d);
      pack.entry({ name: `${strip(d)}/`, type: 'directory', mode });
    };
    for (const [d, mode] of plan.dirs) {
      for (const parent of parentsOf(d)) dir(parent);
      dir(d, mode);
    }
    for (const [p, content] of plan.texts) {
      for (const parent of parentsOf(p)) dir(parent);
      pack.entry({ name: strip(p), mode: 0o644 }, content);
    }
    for (const f of plan.files) {
      for (const parent of parentsOf(f.target)) dir(parent);
      const real = await realpath(f.source);
      const size = (await stat(real)).size;
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: strip(f.target), size, mode: f.mode }, (err) => (err ? reject(err) : resolve()));
        createReadStream(real).on('error', reject).pipe(entry);
      });
    }
    for (const [link, target] of plan.symlinks) {
      for (const parent of parentsOf(link)) dir(parent);
      pack.entry({ name: strip(link), type: 'symlink', linkname: target });
    }
    pack.finalize();
  };
  write().catch((err) => pack.destroy(err as Error));
  return pack as unknown as NodeJS.ReadableStream;
}
