/**
 * Host-side view of a container's pids cgroup: `pids.peak`, `pids.max`, `pids.current` and the
 * `max` counter of `pids.events`, read from the host's cgroup filesystem. This is the
 * cross-check of what the load generator reports from inside.
 *
 * The difficulty is that the engine removes a container's cgroup as soon as its last task is
 * gone: a container that fails fast (a busybox `sh` ends on its first failed background fork)
 * can be gone before a sampler's first reading. So where the engine lets us choose the cgroup's
 * parent (Docker's `cgroupfs` driver: `HostConfig.CgroupParent`), every container gets a parent
 * cgroup of its own, `reapbench-<run id>-<n>`, which reapbench creates and removes. The kernel
 * charges every fork to each ancestor too and keeps each one's high-water mark, and when the
 * limit sits on the container's own cgroup a rejected fork fails there before any ancestor is
 * charged, so the parent's `pids.peak` is exactly the container's, and it outlives the container.
 *
 * Facts (kernel `kernel/cgroup/pids.c`, `Documentation/admin-guide/cgroup-v2.rst`):
 * - `pids.current` counts tasks (threads too) and zombies until they are reaped.
 * - `pids.peak` is the high-water mark of `pids.current` (Linux ≥ 6.1, v1 and v2).
 * - `pids.events` `max`: on v1, forks rejected in this very cgroup (not propagated to parents);
 *   on v2 since 6.11, times the limit of this cgroup or of a descendant was hit. So the parent's
 *   counter is exact on v2 and stays 0 on v1, where only readings of the container's own cgroup
 *   while it lives can see rejections.
 */
import { readFile } from 'node:fs/promises';
import { accessSync, constants, existsSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parsePidsEventsMax, parsePidsValue } from '../procfs/pids-cgroup.js';

/** Root of the host's cgroup filesystem. */
export const CGROUP_ROOT = '/sys/fs/cgroup';

/** Prefix of the parent cgroups reapbench creates (one per container). */
export const OWNED_PARENT_PREFIX = 'reapbench-';

/**
 * What the names of run `runId`'s owned parents start with: `reapbench-<runId>-`. The trailing
 * dash keeps one run id from matching another that it begins.
 */
export function ownedParentPrefix(runId: string): string {
  return `${OWNED_PARENT_PREFIX}${runId}-`;
}

/**
 * The name of run `runId`'s owned parent number `seq` (1, 2, … within one process):
 * `reapbench-<runId>-<seq>`. The one place the name is made; {@link parentRunId} reads it back.
 * @param runId a run id as cleanup.ts `RUN_ID` makes them (no dash).
 */
export function ownedParentName(runId: string, seq: number): string {
  return `${ownedParentPrefix(runId)}${seq}`;
}

/**
 * The run id in an owned parent's name (`reapbench-<runId>-<seq>` → `<runId>`), or null for a
 * name {@link ownedParentName} does not make (another program's cgroup). Pure.
 */
export function parentRunId(name: string): string | null {
  if (!name.startsWith(OWNED_PARENT_PREFIX)) return null;
  const m = /^([^-/]+)-\d+$/.exec(name.slice(OWNED_PARENT_PREFIX.length));
  return m ? m[1]! : null;
}

/**
 * How the figures of a {@link PidsFigures} were obtained:
 * - `owned-parent`: peak (and on v2 the rejection count) read from a parent cgroup reapbench owns,
 *   after the container ended: exact whatever the container's lifetime;
 * - `sampled`: readings of the container's own cgroup while it lived: the peak is a lower bound
 *   when the kernel has no `pids.peak` or the container ended between readings;
 * - `unavailable`: no cgroup of the container was found on this host (remote engine, unknown
 *   layout): every figure is null.
 */
export type PidsMethod = 'owned-parent' | 'sampled' | 'unavailable';

/** pids figures of one container, counts of tasks. */
export interface PidsFigures {
  /** High-water mark of `pids.current` (tasks); null when nothing could be read. */
  peak: number | null;
  /** `pids.max` of the container (tasks), `'max'` for no limit, null when never read. */
  max: number | 'max' | null;
  /** Last `pids.current` read while the container lived (tasks), null when never read. */
  last: number | null;
  /** `pids.events` `max`: forks rejected by the limit (count); null when never read. */
  eventsMax: number | null;
  /** Readings of the container's own cgroup (count). */
  samples: number;
  /** The container's cgroup directory on the host, or null when none was found. */
  path: string | null;
  /** How the figures were obtained. */
  method: PidsMethod;
  /** One line on what is missing or only a lower bound, and why; null when nothing is. */
  note: string | null;
}

/** Where a container's pids cgroup lives on this host, for the engine's cgroup layout. */
export interface HostCgroupLayout {
  /** 1 or 2. */
  version: 1 | 2;
  /** The engine's cgroup driver (`cgroupfs`, `systemd`, …). */
  driver: string;
  /** cgroup filesystem root (default {@link CGROUP_ROOT}). */
  root?: string;
}

/** Whether the layout lets reapbench give each container a parent cgroup of its own. */
export function canOwnParent(layout: HostCgroupLayout): boolean {
  // With the systemd driver the parent must be a slice unit that systemd creates and removes;
  // reapbench could not remove it itself, so that driver keeps the sampling method.
  // The engine creates the parent as root; reapbench must be able to remove it (a user in the
  // docker group is not root), or it would leave a directory per controller after every run.
  if (layout.driver !== 'cgroupfs' || !existsSync(pidsRoot(layout))) return false;
  try {
    accessSync(pidsRoot(layout), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Directory of the pids hierarchy (v1) or of the unified hierarchy (v2). */
function pidsRoot(layout: HostCgroupLayout): string {
  const root = layout.root ?? CGROUP_ROOT;
  return layout.version === 1 ? `${root}/pids` : root;
}

/**
 * Candidate host paths of a container's pids cgroup, for cgroup v1 and v2 with the `cgroupfs` and
 * `systemd` drivers, under the engine's default parent or under `parent` (a `CgroupParent`).
 * @returns the first that exists, or null.
 */
export function findPidsCgroup(containerId: string, root = CGROUP_ROOT, parent?: string): string | null {
  // Docker names the cgroup after the id; Podman `libpod-<id>` (cgroupfs: under `libpod_parent`
  // or the CgroupParent; systemd: a `libpod-<id>.scope` in `machine.slice`).
  const candidates = parent
    ? [
        `${root}/pids/${parent}/${containerId}`,
        `${root}/${parent}/${containerId}`,
        `${root}/pids/${parent}/libpod-${containerId}`,
        `${root}/${parent}/libpod-${containerId}`,
      ]
    : [
        `${root}/pids/docker/${containerId}`,
        `${root}/pids/system.slice/docker-${containerId}.scope`,
        `${root}/docker/${containerId}`,
        `${root}/system.slice/docker-${containerId}.scope`,
        `${root}/pids/libpod_parent/libpod-${containerId}`,
        `${root}/libpod_parent/libpod-${containerId}`,
        `${root}/pids/machine.slice/libpod-${containerId}.scope`,
        `${root}/machine.slice/libpod-${containerId}.scope`,
      ];
  return candidates.find((p) => existsSync(`${p}/pids.current`)) ?? null;
}

/** A number from a cgroup file, `'max'` for the literal, null when unreadable. */
async function readValue(file: string): Promise<number | 'max' | null> {
  try {
    return parsePidsValue(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

async function readNumber(file: string): Promise<number | null> {
  const v = await readValue(file);
  return typeof v === 'number' ? v : null;
}

async function readEventsMax(file: string): Promise<number | null> {
  try {
    return parsePidsEventsMax(await readFile(file, 'utf8'));
  } catch {
    return null;
  }
}

let ownedSeq = 0;

/** The child cgroup Podman's cgroupfs manager gives conmon under a container's `CgroupParent`. */
const MONITOR_CGROUP = 'conmon';

/**
 * A parent cgroup that one container runs under (`HostConfig.CgroupParent`), created by the
 * engine's runtime on start and removed by {@link OwnedParent.remove} once the container is gone.
 * Its `pids.peak` is the container's exact high-water mark.
 */
export class OwnedParent {
  /** Cgroup name, `reapbench-<run id>-<n>`; pass `/<name>` as `CgroupParent`. */
  readonly name: string;

  constructor(
    runId: string,
    private readonly layout: HostCgroupLayout,
  ) {
    ownedSeq += 1;
    this.name = ownedParentName(runId, ownedSeq);
  }

  /** `HostConfig.CgroupParent` value. */
  get cgroupParent(): string {
    return `/${this.name}`;
  }

  /** The parent's directory in the pids (v1) or unified (v2) hierarchy. */
  get dir(): string {
    return `${pidsRoot(this.layout)}/${this.name}`;
  }

  /**
   * Read the parent's figures: `pids.peak` (tasks) and the `max` events counter (exact on v2,
   * 0 on v1). Null fields where the files cannot be read (the engine never created the parent,
   * or the kernel has no `pids.peak`).
   */
  async read(): Promise<{ peak: number | null; eventsMax: number | null; monitor: boolean }> {
    const [peak, eventsMax] = await Promise.all([readNumber(`${this.dir}/pids.peak`), readEventsMax(`${this.dir}/pids.events`)]);
    // Podman (cgroupfs) puts its container monitor, conmon, in `<parent>/conmon`, beside the
    // container's own cgroup, and the runc processes conmon starts (create, start, each exec)
    // run there too: the parent's peak counts them, by an amount that varies (1 to 14 tasks
    // seen here), so it is not the container's.
    if (existsSync(`${this.dir}/${MONITOR_CGROUP}`)) return { peak: null, eventsMax: null, monitor: true };
    return { peak, eventsMax, monitor: false };
  }

  /**
   * Remove the parent in every hierarchy the runtime created it in (on v1, runc creates it in
   * each mounted controller). Waits up to `timeoutMs` for the container's own cgroup to go
   * first (rmdir fails with EBUSY while a child cgroup exists); pass 0 when the container could
   * not be removed, since it will not go by itself.
   * @returns null when everything went, else one line: what is left and what to do.
   */
  async remove(timeoutMs = 5_000): Promise<string | null> {
    return removeOwned(this.layout.root ?? CGROUP_ROOT, this.name, timeoutMs);
  }
}

/**
 * Directories of the owned parents (`reapbench-<runId>-*`, or any reapbench run's when `runId`
 * is null) present in any hierarchy under `root`: `<root>/<name>` (v2) and
 * `<root>/<controller>/<name>` (v1).
 */
export function ownedParentDirs(runId: string | null, root = CGROUP_ROOT): string[] {
  const prefix = runId === null ? OWNED_PARENT_PREFIX : ownedParentPrefix(runId);
  return [root, ...safeList(root).map((c) => `${root}/${c}`)].flatMap((dir) =>
    safeList(dir)
      .filter((n) => n.startsWith(prefix))
      .map((n) => `${dir}/${n}`),
  );
}

/** `<root>/<controller>/<name>` for each v1 hierarchy, or `<root>/<name>` on v2, that exists. */
function hierarchyDirs(root: string, name: string): string[] {
  return [`${root}/${name}`, ...safeList(root).map((c) => `${root}/${c}/${name}`)].filter((d) => existsSync(d));
}

/** Every directory below and including `dir`, deepest first (the order rmdir needs). */
function depthFirst(dir: string): string[] {
  return [...safeList(dir).flatMap((n) => depthFirst(path.join(dir, n))), dir];
}

/**
 * rmdir the parent `name` in every hierarchy, children first; retries while any is left and
 * `timeoutMs` has not passed (EBUSY: the container's cgroup still has tasks or is being
 * removed). A cgroup directory cannot be emptied with unlink: its files vanish with the rmdir.
 * @returns null when all went, else one line naming the parent, the count left and the errno.
 */
async function removeOwned(root: string, name: string, timeoutMs: number): Promise<string | null> {
  const deadline = performance.now() + timeoutMs;
  stopMonitors(root, name);
  for (;;) {
    const { left, code } = rmdirAll(hierarchyDirs(root, name));
    if (left === 0) return null;
    if (performance.now() >= deadline) {
      const run = parentRunId(name);
      return `cgroup ${name}: ${left} director${left === 1 ? 'y' : 'ies'} left (${code}); run reapbench clean${run === null ? '' : ` --run ${run}`} once its container is gone`;
    }
    await delay(20);
  }
}

/**
 * SIGKILL what is left in the parent's monitor cgroup (`<parent>/conmon`): Podman 4.3 leaves the
 * conmon of an exec session running after its container was removed (seen after every timed-out
 * exec probe), and its tasks keep the parent from being removed. Only when every task of the
 * parent is in that cgroup (no container runs under it: they monitor nothing), and only
 * processes whose comm is `conmon`; read in the pids hierarchy, where the counts are.
 */
function stopMonitors(root: string, name: string): void {
  for (const dir of hierarchyDirs(root, name)) {
    let procs: string;
    try {
      procs = readFileSync(`${dir}/${MONITOR_CGROUP}/cgroup.procs`, 'utf8');
      // A container still running under the parent (another run's, met by a sweep) keeps its monitor.
      if (readFileSync(`${dir}/pids.current`, 'utf8').trim() !== readFileSync(`${dir}/${MONITOR_CGROUP}/pids.current`, 'utf8').trim())
        continue;
    } catch {
      continue; // no monitor cgroup (Docker), not the pids hierarchy, or gone
    }
    for (const pid of procs.split('\n').filter(Boolean).map(Number)) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'conmon') process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
  }
}

/** One synchronous pass of rmdir over `dirs` and their children. @returns what is left, and the last errno code. */
function rmdirAll(dirs: string[]): { left: number; code: string } {
  let left = 0;
  let code = '';
  for (const dir of dirs.flatMap(depthFirst)) {
    try {
      rmdirSync(dir);
    } catch (err) {
      const c = (err as NodeJS.ErrnoException).code ?? 'error';
      if (c === 'ENOENT') continue;
      left += 1;
      code = c;
    }
  }
  return { left, code };
}

/**
 * Remove, at once and synchronously, the owned parents of run `runId` that hold no task (the
 * last resort of a second Ctrl-C, when there is no time for the engine).
 * @returns how many directories are left.
 */
export function removeOwnedParentsNow(runId: string, root = CGROUP_ROOT): number {
  return rmdirAll(ownedParentDirs(runId, root)).left;
}

/**
 * Remove parent cgroups that reapbench runs left behind (a crash, a SIGKILL) and that no longer
 * hold a task, in every hierarchy. `keepRunId` (this run's id) is never touched; with
 * `onlyRunId` only that run's parents are. `waitMs`: how long each may take to empty (default 0:
 * a parent that still holds a task is left; a container just removed may keep its cgroup, and
 * Podman's conmon the parent, for a moment after the removal returns). Without `onlyRunId`, a
 * parent younger than `minAgeMs` (default 60 s) stays: its run may be about to use it.
 * @returns the number of parents removed.
 */
export async function sweepOwnedParents(
  root = CGROUP_ROOT,
  opts: { keepRunId?: string; onlyRunId?: string; waitMs?: number; minAgeMs?: number } = {},
): Promise<number> {
  const dirs = ownedParentDirs(opts.onlyRunId ?? null, root);
  const names = new Set(dirs.map((d) => path.basename(d)));
  // Any run's parents: one made in the last minute may be about to get its container (a run
  // still going makes it empty, then creates the container in it), so it stays.
  const minAge = opts.onlyRunId ? 0 : (opts.minAgeMs ?? YOUNG_PARENT_MS);
  const young = new Set(dirs.filter((d) => Date.now() - ctimeMs(d) < minAge).map((d) => path.basename(d)));
  let removed = 0;
  for (const n of names) {
    if (opts.keepRunId && parentRunId(n) === opts.keepRunId) continue;
    if (young.has(n)) continue;
    if ((await removeOwned(root, n, opts.waitMs ?? 0)) === null) removed += 1;
  }
  return removed;
}

/**
 * Remove the owned parents of other runs (not `keepRunId`'s) that hold no task at all
 * (`pids.current` 0 in the pids hierarchy: no container, no Podman monitor) and are older than
 * `minAgeMs`. Unlike {@link sweepOwnedParents} it never signals anything and never touches a
 * parent with a task in it, so that it is safe beside runs still going, of this engine or
 * another: a run removes its parent with its container, and one made in the last `minAgeMs` may
 * be about to get its container. A parent whose `pids.current` cannot be read is left.
 * @param root the cgroup mount (tests point it at a folder).
 * @param opts `minAgeMs` (default a minute); `tasksIn`, the reading of a parent's task count
 *   (default: its `pids.current`; tests, whose folders cannot hold a counter and be removed, pass theirs).
 * @returns the names of the parents removed (`reapbench-<run id>-<n>`).
 */
export function sweepEmptyParents(
  root = CGROUP_ROOT,
  keepRunId: string,
  opts: { minAgeMs?: number; tasksIn?: (name: string) => string | null } = {},
): string[] {
  const minAgeMs = opts.minAgeMs ?? YOUNG_PARENT_MS;
  const tasksIn = opts.tasksIn ?? ((n: string) => parentTasks(root, n));
  const names = new Set(ownedParentDirs(null, root).map((d) => path.basename(d)));
  const removed: string[] = [];
  for (const n of names) {
    if (parentRunId(n) === keepRunId) continue;
    const dirs = hierarchyDirs(root, n);
    if (dirs.some((d) => Date.now() - ctimeMs(d) < minAgeMs)) continue;
    if (tasksIn(n) !== '0') continue;
    if (rmdirAll(dirs).left === 0) removed.push(n);
  }
  return removed;
}

/** `pids.current` of owned parent `name` (v1: in the pids hierarchy; v2: at the root), or null when unreadable. */
function parentTasks(root: string, name: string): string | null {
  try {
    return readFileSync(
      existsSync(`${root}/pids/${name}`) ? `${root}/pids/${name}/pids.current` : `${root}/${name}/pids.current`,
      'utf8',
    ).trim();
  } catch {
    return null;
  }
}

/** How old an owned parent of another run must be before a sweep of every run's parents removes it, ms. */
const YOUNG_PARENT_MS = 60_000;

/** A directory's ctime, ms since the epoch (0 when it is gone: old enough). */
function ctimeMs(dir: string): number {
  try {
    return statSync(dir).ctimeMs;
  } catch {
    return 0;
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Reads a container's pids cgroup from the moment it exists until {@link PidsSampler.finish}:
 * tightly (every `fastMs`) until the cgroup appears, then every `intervalMs`, so that a
 * container that lives a few milliseconds is still read once where the timing allows; with an
 * {@link OwnedParent} the peak does not depend on that.
 */
export class PidsSampler {
  private timer: NodeJS.Timeout | undefined;
  private path: string | null = null;
  private busy: Promise<void> | null = null;
  private stopped = false;
  private readonly figures = {
    peak: null as number | null,
    max: null as number | 'max' | null,
    last: null as number | null,
    eventsMax: null as number | null,
    samples: 0,
  };

  /**
   * @param containerId full container id.
   * @param intervalMs sampling period once the cgroup exists, ms (default 50 ms = 20 Hz).
   * @param parent the container's owned parent, or null for the engine's default parent.
   * @param root cgroup filesystem root.
   * @param fastMs period of the search for the cgroup before it appears, ms.
   * @param knownPath the container's cgroup directory when the caller made it (the namespace
   *   runtime), instead of a search among the engines' layouts.
   */
  constructor(
    private readonly containerId: string,
    private readonly intervalMs = 50,
    private readonly parent: OwnedParent | null = null,
    private readonly root = CGROUP_ROOT,
    private readonly fastMs = 2,
    private readonly knownPath: string | null = null,
  ) {}

  /** Start reading; call before the container starts, so that its first instants are seen. */
  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      void this.sample().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.path ? this.intervalMs : this.fastMs);
      });
    };
    tick();
  }

  /** Take one reading now (also called on a timer); a reading already under way is awaited. */
  async sample(): Promise<void> {
    if (this.busy) return this.busy;
    this.busy = this.read().finally(() => {
      this.busy = null;
    });
    return this.busy;
  }

  private async read(): Promise<void> {
    this.path ??= this.knownPath ?? findPidsCgroup(this.containerId, this.root, this.parent?.name);
    if (!this.path) return;
    const [current, max, peak, eventsMax] = await Promise.all([
      readNumber(`${this.path}/pids.current`),
      readValue(`${this.path}/pids.max`),
      readNumber(`${this.path}/pids.peak`),
      readEventsMax(`${this.path}/pids.events`),
    ]);
    // The cgroup went away between the files: a partial reading is no reading.
    if (current === null || max === null) return;
    const f = this.figures;
    f.samples += 1;
    f.last = current;
    f.max = max;
    f.peak = Math.max(f.peak ?? 0, current, peak ?? 0);
    if (eventsMax !== null) f.eventsMax = Math.max(f.eventsMax ?? 0, eventsMax);
  }

  /** The figures so far (a copy), with the method and note they would have if the run ended now. */
  snapshot(): PidsFigures {
    const f = this.figures;
    return {
      ...f,
      path: this.path,
      method: this.path ? 'sampled' : 'unavailable',
      note: this.path ? null : 'no pids cgroup of the container was found on this host',
    };
  }

  /** Stop reading (idempotent); the figures stay as they are. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /**
   * Stop reading, take the final readings (the container's cgroup if it still exists, then the
   * owned parent's) and return the figures with their method and a note on what is missing.
   */
  async finish(): Promise<PidsFigures> {
    this.stop();
    await this.sample();
    const f = { ...this.figures };
    const parent = this.parent ? await this.parent.read() : null;
    const notes: string[] = [];
    if (parent?.monitor)
      notes.push(
        "the engine's container monitor (Podman's conmon) shares the parent cgroup, so the container's own cgroup was read instead",
      );
    let method: PidsMethod = this.path ? 'sampled' : 'unavailable';
    // Rejections counted in the parent (v2 ≥ 6.11) are exact; a 0 there may also mean "not
    // propagated" (v1, older v2), so only the readings of the container's cgroup can tell.
    let exactRejections = false;
    if (parent && parent.peak !== null) {
      method = 'owned-parent';
      f.peak = parent.peak;
      if (parent.eventsMax !== null && parent.eventsMax > 0) {
        f.eventsMax = Math.max(f.eventsMax ?? 0, parent.eventsMax);
        exactRejections = true;
      }
    } else if (this.parent && !parent?.monitor) {
      notes.push(`the owned parent ${this.parent.dir} had no pids.peak (kernel < 6.1, or the engine did not create it)`);
    }
    if (f.samples === 0 && method === 'unavailable') {
      notes.push('no pids cgroup of the container was found on this host (remote engine or unknown cgroup layout)');
    } else if (f.samples === 0) {
      notes.push("the container's cgroup was removed before a first reading: pids.max, pids.current and pids.events were not read");
    } else if (method === 'sampled') {
      notes.push(
        `peak and fork rejections are the highest of ${f.samples} reading${f.samples === 1 ? '' : 's'} while the container lived: lower bounds`,
      );
    } else if (!exactRejections) {
      notes.push(
        `fork rejections are the highest of ${f.samples} reading${f.samples === 1 ? '' : 's'} while the container lived: a lower bound`,
      );
    }
    return { ...f, path: this.path, method, note: notes.length > 0 ? notes.join('; ') : null };
  }
}
