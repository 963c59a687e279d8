/**
 * Images that stand for a user's own, built offline from this host's files (no registry), the
 * way src/images/rootfs.ts assembles the offline base: a root filesystem packed as a tar and
 * imported through the Engine API with its ENTRYPOINT/CMD.
 *  - python: the host's /usr/bin/python3 with the shared libraries `ldd` lists and the few
 *    standard modules it loads with `-S -I`; PID 1 is a Python program that double-forks N times
 *    (each grandchild is adopted by PID 1 and exits 0.3 s later), prints `forked N orphans`, a
 *    second later a `ps`-like listing of its namespace (`ps: <pid> <state> <comm>[ <defunct>]`), then
 *    sleeps. No shell in the image.
 *  - busybox: the static busybox with sh and sleep; PID 1 is a shell loop that backgrounds jobs
 *    from subshells that exit, as entrypoint scripts do.
 * Each is tagged by a hash of its inputs and built once.
 */
import type Docker from 'dockerode';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { packRootfs, sharedLibraries, type RootfsPlan } from '../../src/images/rootfs.js';

/** Orphans the Python fixture makes by default (its CMD). */
export const PY_ORPHANS = 3;

/** The Python fixture's program. */
export const PY_PROGRAM = `import os, sys, time
n = int(sys.argv[1]) if len(sys.argv) > 1 else ${PY_ORPHANS}
for i in range(n):
    pid = os.fork()
    if pid == 0:
        if os.fork() == 0:
            time.sleep(0.3)
            os._exit(0)
        os._exit(0)
    os.waitpid(pid, 0)
print(f"forked {n} orphans", flush=True)
# What \`ps\` would show once the grandchildren have exited (the image has no ps): one line per
# process, \`<defunct>\` for a zombie.
time.sleep(1)
for p in sorted(int(d) for d in os.listdir("/proc") if d.isdigit()):
    try:
        stat = open(f"/proc/{p}/stat").read()
    except OSError:
        continue
    comm = stat[stat.index("(") + 1 : stat.rindex(")")]
    state = stat[stat.rindex(")") + 2]
    print(f"ps: {p} {state} {comm}{' <defunct>' if state == 'Z' else ''}", flush=True)
while True:
    time.sleep(3600)
`;

/** The modules python3 -S -I loads before the program's first line (Debian's 3.11; found with sys.modules). */
const PY_MODULES = [
  '_collections_abc',
  'abc',
  'codecs',
  'genericpath',
  'io',
  'os',
  'posixpath',
  'stat',
  'zipimport',
  'importlib/_bootstrap_external',
];

async function importFixture(docker: Docker, tag: string, plan: RootfsPlan, changes: string[]): Promise<string> {
  try {
    await docker.getImage(tag).inspect();
    return tag;
  } catch {
    /* build it */
  }
  // The tag inside `repo`: Podman's compatible import ignores `tag` (as in src/images/build.ts).
  const stream = await docker.importImage(packRootfs(plan) as never, { repo: tag, changes } as object);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
  return tag;
}

const hashOf = (...parts: string[]): string => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 12);

/** The Python fixture (see module doc); returns its tag. */
export async function pythonImage(docker: Docker): Promise<string> {
  const python = realpathSync('/usr/bin/python3');
  const version = /python(\d+\.\d+)$/.exec(python)?.[1] ?? '3';
  const lib = `/usr/lib/python${version}`;
  const libs = await sharedLibraries(python);
  const files = [
    { source: python, target: '/usr/bin/python3', mode: 0o755 },
    ...libs.map((l) => ({ source: l, target: l, mode: 0o755 })),
    ...PY_MODULES.map((m) => ({ source: `${lib}/${m}.py`, target: `${lib}/${m}.py`, mode: 0o644 })),
    ...['__init__', 'aliases', 'utf_8'].map((m) => ({
      source: `${lib}/encodings/${m}.py`,
      target: `${lib}/encodings/${m}.py`,
      mode: 0o644,
    })),
  ];
  const plan: RootfsPlan = {
    files,
    symlinks: [],
    dirs: [
      ['/tmp', 0o1777],
      [`${lib}/lib-dynload`, 0o755],
    ],
    texts: [['/app.py', PY_PROGRAM]],
  };
  const tag = `reapbench-fixture-python:${hashOf('v2', PY_PROGRAM, ...files.map((f) => f.source), readFileSync(python).length.toString())}`;
  return importFixture(docker, tag, plan, ['ENTRYPOINT ["/usr/bin/python3", "-S", "-I", "-u", "/app.py"]', `CMD ["${PY_ORPHANS}"]`]);
}

/** The busybox fixture's PID 1 script. */
export const BUSYBOX_LOOP = 'for i in 1 2 3; do (sleep 0.2 &); done; echo started; while :; do sleep 1; done';

/** The busybox fixture (see module doc); returns its tag. */
export async function busyboxImage(docker: Docker): Promise<string> {
  const plan: RootfsPlan = {
    files: [{ source: '/bin/busybox', target: '/bin/busybox', mode: 0o755 }],
    symlinks: ['sh', 'sleep', 'ps', 'cat', 'echo'].map((a) => [`/bin/${a}`, 'busybox'] as [string, string]),
    dirs: [
      ['/tmp', 0o1777],
      ['/proc', 0o755],
    ],
    texts: [],
  };
  const tag = `reapbench-fixture-busybox:${hashOf(BUSYBOX_LOOP, String(readFileSync('/bin/busybox').length))}`;
  return importFixture(docker, tag, plan, ['ENV PATH=/bin', `ENTRYPOINT ["/bin/sh", "-c", ${JSON.stringify(BUSYBOX_LOOP)}]`]);
}

/**
 * An image the engine records as built for another architecture than this host's (arm64 here,
 * amd64 on an arm64 host): one text file in one layer, loaded as a `docker save` archive
 * (manifest.json, the config with its `architecture`, the layer tar) because the import API
 * ignores a platform. Nothing in it can run here; it exists to be refused before anything runs.
 */
export async function foreignArchImage(docker: Docker): Promise<{ tag: string; architecture: string }> {
  const architecture = process.arch === 'arm64' ? 'amd64' : 'arm64';
  const tag = `reapbench-fixture-foreign:${architecture}`;
  try {
    await docker.getImage(tag).inspect();
    return { tag, architecture };
  } catch {
    /* build it */
  }
  const layer = await tarOf([['hello', Buffer.from('not for this host\n')]]);
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      config: { Cmd: ['/hello'] },
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha(layer)}`] },
    }),
  );
  const manifest = Buffer.from(JSON.stringify([{ Config: `${sha(config)}.json`, RepoTags: [tag], Layers: ['layer.tar'] }]));
  const archive = await tarOf([
    ['manifest.json', manifest],
    [`${sha(config)}.json`, config],
    ['layer.tar', layer],
  ]);
  const stream = await docker.loadImage(Readable.from([archive]) as never);
  await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
  return { tag, architecture };
}

/** A tar archive of regular files (name, content), in memory. */
async function tarOf(files: Array<[string, Buffer]>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, content] of files) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
