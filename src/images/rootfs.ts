/**
 * The offline base image: a root filesystem assembled from this host's own binaries, for
 * machines that cannot reach a container registry. It holds `node` with the shared libraries
 * `ldd` lists, a static `busybox` with its applet links (sh, sleep, ps, …), and the inits under
 * test: `tini` (Debian's `tini-static`), `dumb-init`, `catatonit`. When this host has them, it
 * also takes the files of the Debian packages of the opt-in PID 1 rows ({@link OPTIONAL_PACKAGES}:
 * python3, bash, supervisor, s6, runit) and lists their versions in `/etc/reapbench-pid1-versions`.
 */
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
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
  /** Debian packages of the opt-in rows taken whole ({@link OPTIONAL_PACKAGES}): name → version. */
  packages?: Record<string, string>;
}

/**
 * Debian packages the opt-in PID 1 rows need, by row; `X` stands for the host's python3 minor
 * version (`3.11` on Debian 12), read from where `/usr/bin/python3` points. Optional: a host
 * without them builds a base without those rows' programs (`scripts/engine.sh` installs them),
 * and a run of such a row then fails with the shell's "not found".
 */
export const OPTIONAL_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  'none:python': ['python3-minimal', 'pythonX-minimal', 'libpythonX-minimal'],
  'none:bash': ['bash'],
  // supervisord is Python: the full standard library and pkg_resources, which it imports.
  supervisord: ['python3-minimal', 'pythonX-minimal', 'libpythonX-minimal', 'libpythonX-stdlib', 'python3-pkg-resources', 'supervisor'],
  's6-svscan': ['s6'],
  runit: ['runit'],
};

/** Parts of a package the rows never use: documentation, service manager units, the packages' own init scripts. */
const SKIPPED_PACKAGE_PATHS =
  /^\/(usr\/share\/(doc|man|info|lintian|bug|locale)|etc\/init\.d|etc\/sv|etc\/runit|etc\/default|lib\/systemd|usr\/lib\/systemd|etc\/service|var)(\/|$)/;

/** `dpkg-query` of one installed package: its version, or null when it is not installed. */
async function installedVersion(pkg: string): Promise<string | null> {
  const r = await execa('dpkg-query', ['-W', '-f', '${Status}\t${Version}', pkg], { reject: false });
  const [status, version] = r.stdout.split('\t');
  return r.exitCode === 0 && status === 'install ok installed' && version ? version : null;
}

/**
 * The files and links of the installed Debian packages `pkgs` (`dpkg -L`), with the compiled
 * `__pycache__` files beside their Python modules (Debian compiles them at install time; without
 * them every container would compile supervisord's imports again at start), documentation and
 * service manager files left out ({@link SKIPPED_PACKAGE_PATHS}).
 */
async function packageFiles(pkgs: readonly string[]): Promise<{ files: RootfsFile[]; symlinks: Array<[string, string]> }> {
  const files: RootfsFile[] = [];
  const symlinks: Array<[string, string]> = [];
  const pycache = new Set<string>();
  for (const pkg of pkgs) {
    const r = await execa('dpkg', ['-L', pkg], { reject: false });
    if (r.exitCode !== 0) throw new ReapbenchError(`dpkg -L ${pkg} failed: ${r.stderr.trim()}`);
    for (const p of r.stdout.split('\n').map((l) => l.trim())) {
      if (!p.startsWith('/') || p === '/.' || SKIPPED_PACKAGE_PATHS.test(p)) continue;
      let st;
      try {
        st = await lstat(p);
      } catch {
        continue; // listed but removed (a conffile deleted by the admin)
      }
      // A link to a directory is the host's layout (merged /usr: /bin → usr/bin), not the package's.
      if (st.isSymbolicLink()) {
        if (
          !(await stat(p)
            .then((t) => t.isDirectory())
            .catch(() => false))
        )
          symlinks.push([p, await readlink(p)]);
      } else if (st.isFile()) {
        files.push({ source: p, target: p, mode: st.mode & 0o7777 });
        if (p.endsWith('.py')) pycache.add(path.join(path.dirname(p), '__pycache__'));
      }
    }
  }
  for (const dir of [...pycache].sort()) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const n of names.sort()) if (n.endsWith('.pyc')) files.push({ source: path.join(dir, n), target: path.join(dir, n), mode: 0o644 });
  }
  return { files, symlinks };
}

/**
 * Which {@link OPTIONAL_PACKAGES} this host has: each row's packages when all of them are
 * installed, deduplicated, with their versions.
 */
export async function optionalPackages(): Promise<Record<string, string>> {
  let minor: string | null = null;
  try {
    minor = /python(3\.\d+)$/.exec(await realpath('/usr/bin/python3'))?.[1] ?? null;
  } catch {
    /* no python3: its rows are left out */
  }
  const out: Record<string, string> = {};
  for (const pkgs of Object.values(OPTIONAL_PACKAGES)) {
    const names = pkgs.map((p) => (p.includes('X') ? (minor ? p.replace('X', minor) : null) : p));
    if (names.includes(null)) continue;
    const versions = await Promise.all(names.map((n) => installedVersion(n!)));
    if (versions.some((v) => v === null)) continue;
    names.forEach((n, i) => (out[n!] = versions[i]!));
  }
  return out;
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
  const packages = await optionalPackages();
  const extra = await packageFiles(Object.keys(packages).sort());
  const elf = (f: RootfsFile): boolean => (f.mode & 0o111) !== 0 || /\.so(\.|$)/.test(f.target);
  const libs = new Set<string>();
  // In parallel: Python's standard library alone has some 70 extension modules.
  const lists = await Promise.all([...files, ...extra.files.filter(elf)].map((f) => sharedLibraries(f.source)));
  for (const list of lists) for (const lib of list) libs.add(lib);
  const packaged = new Set(extra.files.map((f) => f.target));
  files.push(...extra.files);
  for (const lib of [...libs].sort()) if (!packaged.has(lib)) files.push({ source: lib, target: lib, mode: 0o755 });

  const applets = await execa(found.busybox!, ['--list-full'], { reject: false });
  if (applets.exitCode !== 0) throw new ReapbenchError(`${found.busybox} --list-full failed; is it busybox-static?`);
  const taken = new Set([...files.map((f) => f.target), ...extra.symlinks.map(([l]) => l)]);
  const symlinks: Array<[string, string]> = [...extra.symlinks];
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
    // The same file as the registry base's (images/registry-base.Dockerfile): one line per package.
    [
      '/etc/reapbench-pid1-versions',
      Object.entries(packages)
        .map(([p, v]) => `${p} ${v}\n`)
        .join(''),
    ],
  ];
  return { files, symlinks, dirs, texts, packages };
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
      const st = await stat(real);
      const size = st.size;
      await new Promise<void>((resolve, reject) => {
        // The host's mtime: a compiled Python module is used only while its source's mtime matches the one it recorded.
        const entry = pack.entry({ name: strip(f.target), size, mode: f.mode, mtime: st.mtime }, (err) => (err ? reject(err) : resolve()));
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
