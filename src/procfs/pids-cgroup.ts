/**
 * The calling process's own pids cgroup: where its files are (one strategy for cgroup v1 and v2:
 * `/proc/self/cgroup` joined with `/proc/self/mountinfo`), and reading them. For the load
 * generator and the scenario workload, which run inside the measured container. (The host's view
 * of a container's cgroup is another concern: src/runtime/host-cgroup.ts.)
 *
 * File formats (kernel `kernel/cgroup/pids.c`, `Documentation/admin-guide/cgroup-v2.rst`):
 * `pids.current` a number; `pids.max` a number or `max`; `pids.events` lines `max N` (v2 may add
 * `max.imposed N`). `pids.current` counts tasks, threads included, and zombies until
 * `release_task()` uncharges them.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** A located pids cgroup. */
export interface PidsCgroup {
  /** Directory holding pids.current, pids.max, pids.events. */
  dir: string;
  version: 1 | 2;
}

/** One reading of the pids files; null where a file could not be read. */
export interface PidsReading {
  /** `pids.current`: tasks (threads, zombies included). */
  current: number | null;
  /** `pids.max` (tasks); `'max'`: no limit; null: not read. */
  max: number | 'max' | null;
  /** The `max` counter of `pids.events` (forks refused by a limit). */
  eventsMax: number | null;
}

interface Mount {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

/** Parse mountinfo text (proc(5): fields 4 root, 5 mount point; after " - ": fstype, source, super options). */
function mounts(mountinfo: string): Mount[] {
  const out: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const g = post.split(' ');
    const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({ root: unescape(f[3] ?? '/'), mountPoint: unescape(f[4] ?? ''), fsType: g[0] ?? '', superOptions: (g[2] ?? '').split(',') });
  }
  return out;
}

/** Path of `cgPath` (from /proc/self/cgroup) under a mount whose root is `root`, or null. */
function under(m: Mount, cgPath: string): string | null {
  const root = m.root === '/' ? '' : m.root;
  if (root !== '' && cgPath !== root && !cgPath.startsWith(root + '/')) {
    // A cgroup namespace or a bind mount of our own cgroup (Docker on v1 mounts the container's
    // cgroup at /sys/fs/cgroup/pids with root /docker/<id>); /proc/self/cgroup may then show a
    // path outside the mount: the mount itself is the best guess.
    return m.mountPoint;
  }
  const d = path.join(m.mountPoint, cgPath.slice(root.length));
  return d.length > 1 && d.endsWith('/') ? d.slice(0, -1) : d;
}

/**
 * Directories where this process's pids cgroup files may be, in order of preference (v1 first),
 * from the text of /proc/self/cgroup and /proc/self/mountinfo (proc(5), cgroups(7)): v1, a
 * `cgroup` mount with the `pids` super option; v2, a `cgroup2` mount, for the `0::` line. Pure:
 * no file is read.
 */
export function pidsCgroupCandidates(procSelfCgroup: string, mountinfo: string): PidsCgroup[] {
  const lines = procSelfCgroup.split('\n');
  const ms = mounts(mountinfo);
  const candidates: PidsCgroup[] = [];
  for (const line of lines) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, , controllers, cgPath] = m;
    if (controllers!.split(',').includes('pids')) {
      for (const mt of ms) {
        if (mt.fsType === 'cgroup' && mt.superOptions.includes('pids')) {
          const d = under(mt, cgPath!);
          if (d) candidates.push({ dir: d, version: 1 });
        }
      }
    } else if (m[1] === '0' && controllers === '') {
      for (const mt of ms) {
        if (mt.fsType === 'cgroup2') {
          const d = under(mt, cgPath!);
          if (d) candidates.push({ dir: d, version: 2 });
        }
      }
    }
  }
  return candidates;
}

/**
 * The calling process's pids cgroup: the first of {@link pidsCgroupCandidates} that holds
 * `pids.current` (on v2 the root cgroup has none, and a child cgroup has it once the pids
 * controller is enabled in its parent's `cgroup.subtree_control`).
 * @returns `cgroup` null when none was found; `tried` every directory looked at, for messages.
 */
export function locatePidsCgroup(): { cgroup: PidsCgroup | null; tried: string[] } {
  const candidates = pidsCgroupCandidates(readFileSync('/proc/self/cgroup', 'utf8'), readFileSync('/proc/self/mountinfo', 'utf8'));
  const cgroup = candidates.find((c) => existsSync(path.join(c.dir, 'pids.current'))) ?? null;
  return { cgroup, tried: candidates.map((c) => c.dir) };
}

/**
 * The pids cgroup of host process `pid` (e.g. a container's PID 1 seen from the host): the first
 * of {@link pidsCgroupCandidates} for `/proc/<pid>/cgroup`, resolved through this process's
 * mounts, that holds `pids.current`. Paths in /proc/<pid>/cgroup are relative to the reader's
 * cgroup namespace (cgroup_namespaces(7)); reapbench reads from the host's, so they resolve.
 * @returns the cgroup, or null when the process is gone or none was found.
 */
export function pidsCgroupOfProcess(pid: number): PidsCgroup | null {
  const own = readText(`/proc/${pid}/cgroup`);
  const mountinfo = readText('/proc/self/mountinfo');
  if (own === null || mountinfo === null) return null;
  return pidsCgroupCandidates(own, mountinfo).find((c) => existsSync(path.join(c.dir, 'pids.current'))) ?? null;
}

/**
 * The pids cgroup in a directory given by the user, or null when it holds no `pids.current`. The
 * version is 2 when the directory has `cgroup.controllers` (a v2-only file, cgroup-v2.rst).
 */
export function pidsCgroupAt(dir: string): PidsCgroup | null {
  if (!existsSync(path.join(dir, 'pids.current'))) return null;
  return { dir, version: existsSync(path.join(dir, 'cgroup.controllers')) ? 2 : 1 };
}

/**
 * The value of a pids cgroup file holding one number or the literal `max` (`pids.max`,
 * `pids.current`, `pids.peak`; kernel `kernel/cgroup/pids.c` `pids_max_show()`).
 * @returns the number, `'max'` for the literal, null for anything else (empty, garbage).
 */
export function parsePidsValue(text: string): number | 'max' | null {
  const s = text.trim();
  if (s === 'max') return 'max';
  const v = Number(s);
  return s !== '' && Number.isFinite(v) ? v : null;
}

/**
 * The `max` counter of a `pids.events` file (count of forks refused by a limit; v2 may add
 * `max.imposed N` lines, which are not this counter).
 * @returns the count, or null when the line is missing.
 */
export function parsePidsEventsMax(text: string): number | null {
  const m = /^max\s+(\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

function readCount(file: string): number | null {
  const t = readText(file);
  const v = t === null ? null : parsePidsValue(t);
  return typeof v === 'number' ? v : null;
}

/** Read pids.current, pids.max and the `max` line of pids.events (synchronously: no thread pool). */
export function readPids(cg: PidsCgroup): PidsReading {
  const events = readText(path.join(cg.dir, 'pids.events'));
  const max = readText(path.join(cg.dir, 'pids.max'));
  return {
    current: readCount(path.join(cg.dir, 'pids.current')),
    max: max === null ? null : parsePidsValue(max),
    eventsMax: events === null ? null : parsePidsEventsMax(events),
  };
}
