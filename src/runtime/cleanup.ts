/**
 * Containers do not outlive reapbench: every container carries the label
 * `reapbench.run=<run id>`, is tracked while it exists, and is force-removed, with the parent
 * cgroup reapbench gave it, on normal exit, on error, on timeout, and when the command layer
 * asks for it on SIGINT/SIGTERM (src/run/interrupt.ts, through the runtime's `removeRun`).
 * `reapbench clean --run <run id>` sweeps by label whatever a run left, and nothing of another
 * run's.
 */
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { parentRunId, sweepEmptyParents, sweepOwnedParents, type OwnedParent } from './host-cgroup.js';
import { usageError } from '../errors.js';

/** Label that marks every container reapbench creates. */
export const RUN_LABEL = 'reapbench.run';

/** This process's run id (12 hex chars), used as the label value. */
export const RUN_ID = randomBytes(6).toString('hex');

/**
 * A process's start time, clock ticks after boot (`/proc/<pid>/stat` field 22, `starttime`,
 * proc(5)), or null when it does not exist: with the pid, it names one process for good, since
 * the kernel may give the pid to another process later but not with the same start time.
 */
export function processStartTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the comm, which may hold spaces and parentheses: field 3 is the first.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/**
 * Labels naming the process that owns a container, so that a later run can tell a run that is
 * gone (its process ended: a crash, a kill -9, an engine that died under it) from one still
 * measuring: the host (a remote engine may serve several), the pid and its start time.
 */
export const OWNER_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'reapbench.host': hostname(),
  'reapbench.pid': String(process.pid),
  'reapbench.started': processStartTicks(process.pid) ?? '',
});

/** Live containers by id, each with the parent cgroup reapbench made for it (or null). */
const active = new Map<string, { container: Docker.Container; parent: OwnedParent | null }>();

/** Record a container (and its owned parent cgroup) as live, so that an interrupt removes both. */
export function track(container: Docker.Container, parent: OwnedParent | null = null): void {
  active.set(container.id, { container, parent });
}

/** Forget a container (after it has been removed). */
export function untrack(id: string): void {
  active.delete(id);
}

/** How many containers of this run are tracked (created and not yet removed). */
export function activeCount(): number {
  return active.size;
}

/**
 * Force-remove one container (kill + remove, volumes too) and return once it is gone. When
 * another removal of it is already under way (409, or Podman's 500 "container state improper":
 * the interrupt handler's and the run's own can meet), wait until the engine reports it gone (404), up to `timeoutMs`: returning at the
 * 409 would let reapbench exit while the engine still holds a running container.
 * The removal request itself gets at most max(`timeoutMs`, 2 s): an engine that hangs must not
 * hold the harness (what is left is swept by the next run, or `reapbench clean`).
 * @returns null when the container is gone, else one line saying why not.
 */
export async function removeContainer(c: Docker.Container, timeoutMs = 10_000): Promise<string | null> {
  const why = (err: unknown): string => `container ${c.id.slice(0, 12)}: ${(err as Error).message ?? String(err)}`;
  const requestMs = Math.max(timeoutMs, 2_000);
  try {
    const done = await Promise.race([c.remove({ force: true, v: true }).then(() => true), delay(requestMs, false, { ref: false })]);
    return done ? null : `container ${c.id.slice(0, 12)}: the engine did not answer the removal within ${requestMs / 1000} s`;
  } catch (err) {
    const e = err as { statusCode?: number; message?: string };
    if (e.statusCode === 404) return null;
    // Podman 4.3 answers the same meeting with a 500: it cannot kill a container that the other
    // removal has just stopped ("container state improper").
    const busy = e.statusCode === 409 || (e.statusCode === 500 && /state improper/.test(e.message ?? ''));
    if (!busy) return why(err);
  }
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      await c.inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) return null;
      return why(err);
    }
    if (performance.now() > deadline) return `container ${c.id.slice(0, 12)}: still being removed after ${timeoutMs / 1000} s`;
    await delay(50);
  }
}

/**
 * Force-remove every tracked container ({@link removeContainer}), then its owned parent cgroup.
 * Errors are collected, not thrown: cleanup must try every container.
 * @returns the messages of the removals that failed (empty when all succeeded).
 */
export async function removeAllTracked(): Promise<string[]> {
  const failures: string[] = [];
  await Promise.all(
    [...active.values()].map(async ({ container: c, parent }) => {
      const failed = await removeContainer(c);
      if (failed) failures.push(failed);
      // A container that could not be removed keeps its cgroup: no point in waiting for it.
      const left = parent ? await parent.remove(failed ? 0 : 5_000) : null;
      if (left) failures.push(left);
      active.delete(c.id);
    }),
  );
  return failures;
}

/** A run id as {@link RUN_ID} makes them (12 lowercase hex digits); `clean --run` accepts nothing else. */
export const RUN_ID_PATTERN = /^[0-9a-f]{12}$/;

/**
 * `clean --run`'s value: a run id ({@link RUN_ID_PATTERN}).
 * @returns the run id.
 * @throws ReapbenchError (exit 2) "Expected `--run` to be a run id (12 hex digits, …), got `x`".
 */
export function checkRunId(value: string): string {
  if (!RUN_ID_PATTERN.test(value))
    throw usageError(`Expected \`--run\` to be a run id (12 hex digits, as env.json's run_id), got \`${value}\``);
  return value;
}

/** Container states in which a container may still belong to a run in progress (Docker's `State`). */
const LIVE_STATES = new Set(['running', 'paused', 'restarting']);

/** What {@link cleanRuns} did: containers removed and kept, owned parent cgroups removed (counts). */
export interface CleanResult {
  removed: number;
  /** Running (or paused, restarting) containers of other runs left alone: they may be measuring. */
  kept: number;
  cgroups: number;
}

/**
 * `reapbench clean`: remove what reapbench runs left behind.
 * - `runId` given: every container labelled with that run, whatever its state, and the run's
 *   owned parent cgroups (`reapbench-<runId>-<n>`) that hold no task;
 * - `runId` null: every exited, created or dead reapbench container of any run; running ones
 *   (another run may be measuring with them) only with `force`; and every owned parent cgroup
 *   of any run that holds no task (a live container's parent holds its tasks, so it stays).
 * Removal errors of single containers are not thrown (a container removed meanwhile is gone).
 * `cgroupRoot`: the cgroup mount (tests point it at a folder).
 * @throws the engine's error when the containers cannot be listed.
 */
export async function cleanRuns(
  docker: Docker,
  opts: { runId: string | null; force: boolean; cgroupRoot?: string; minAgeMs?: number },
): Promise<CleanResult> {
  const filter = opts.runId === null ? RUN_LABEL : `${RUN_LABEL}=${opts.runId}`;
  const list = await docker.listContainers({ all: true, filters: { label: [filter] } });
  const doomed = list.filter((c) => opts.runId !== null || opts.force || !LIVE_STATES.has(c.State));
  await Promise.all(
    doomed.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  const cgroups = await sweepOwnedParents(
    opts.cgroupRoot,
    opts.runId === null ? (opts.minAgeMs === undefined ? {} : { minAgeMs: opts.minAgeMs }) : { onlyRunId: opts.runId },
  );
  return { removed: doomed.length, kept: list.length - doomed.length, cgroups };
}

/** What {@link sweepDeadRuns} removed: containers and owned parent cgroups (counts), and the runs they belonged to. */
export interface DeadRunSweep {
  removed: number;
  cgroups: number;
  /** The run ids whose process is gone, sorted. */
  runs: string[];
}

/**
 * Remove the containers (and owned parent cgroups) of runs whose process is gone: labelled by
 * this host with a pid that no longer runs, or runs another process (its start time differs).
 * Containers of this run, of another host, or without the owner labels (made before they
 * existed) are left to `reapbench clean`. Removal errors of single containers are not thrown.
 * Then the empty parent cgroups of other runs older than a minute, container or not.
 * `cgroupRoot`: the cgroup mount (tests point it at a folder); `emptyParents`: the options of
 * that last step (sweepEmptyParents: its minimum age, its task reading; tests pass theirs).
 * @throws the engine's error when the containers cannot be listed.
 */
export async function sweepDeadRuns(
  docker: Docker,
  cgroupRoot?: string,
  emptyParents: Parameters<typeof sweepEmptyParents>[2] = {},
): Promise<DeadRunSweep> {
  const list = await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } });
  const here = OWNER_LABELS['reapbench.host'];
  const dead = list.filter((c) => {
    const l = c.Labels ?? {};
    const run = l[RUN_LABEL];
    const pid = Number(l['reapbench.pid']);
    if (!run || run === RUN_ID || l['reapbench.host'] !== here || !Number.isInteger(pid) || pid <= 0) return false;
    return processStartTicks(pid) !== l['reapbench.started'];
  });
  await Promise.all(dead.map((c) => removeContainer(docker.getContainer(c.Id))));
  const runs = [...new Set(dead.map((c) => c.Labels[RUN_LABEL]!))].sort();
  let cgroups = 0;
  // Their containers were just removed: give the parents the time a run's own removal gives them.
  for (const run of runs) cgroups += await sweepOwnedParents(cgroupRoot, { onlyRunId: run, waitMs: dead.length > 0 ? 5_000 : 0 });
  // Then every other run's parents that hold no task and are older than a minute: a run removes
  // its parent with its container, so such a parent outlived the process that made it (a kill
  // -9, an engine gone under it), whether or not a container of that run is still listed.
  // Nothing with a task in it is touched (runs still going, of this engine or another).
  const emptied = sweepEmptyParents(cgroupRoot, RUN_ID, emptyParents);
  runs.push(...emptied.map((n) => parentRunId(n) ?? n));
  const orphaned = emptied.length;
  return { removed: dead.length, cgroups: cgroups + orphaned, runs: [...new Set(runs)].sort() };
}

/** The one line a run prints when it removed what runs that are gone left, or null when there was nothing. */
export function deadRunsLine(s: DeadRunSweep): string | null {
  if (s.removed === 0 && s.cgroups === 0) return null;
  const n = (k: number, one: string): string => `${k} ${one}${k === 1 ? '' : 's'}`;
  return `reapbench: removed ${n(s.removed, 'container')} and ${n(s.cgroups, 'parent cgroup')} left by ${n(s.runs.length, 'run')} whose process is gone (${s.runs.join(', ')})`;
}

/** The one line `reapbench clean` prints about a {@link CleanResult}. */
export function cleanSummary(r: CleanResult, runId: string | null): string {
  const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`;
  const removed = `removed ${n(r.removed, 'container', 'containers')} and ${n(r.cgroups, 'parent cgroup', 'parent cgroups')}${runId ? ` of run ${runId}` : ''}`;
  return r.kept > 0
    ? `${removed}; kept ${n(r.kept, 'running container', 'running containers')} of other runs (they may be measuring; --force removes them too)`
    : removed;
}
