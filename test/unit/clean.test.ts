/**
 * `reapbench clean`: with `--run <id>` only that run's containers and parent cgroups go; without
 * it, stopped leftovers of any run go but running containers of other runs (which may be
 * measuring) stay unless `--force`. The engine is a fake that records what was removed.
 */
import { describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import {
  cleanRuns,
  cleanSummary,
  deadRunsLine,
  OWNER_LABELS,
  processStartTicks,
  RUN_ID,
  RUN_ID_PATTERN,
  RUN_LABEL,
  sweepDeadRuns,
} from '../../src/runtime/cleanup.js';

/** A fake engine holding `containers` (id, run label, state); `removed` lists what was removed. */
function fakeEngine(containers: { id: string; run: string; state: string }[]) {
  const removed: string[] = [];
  const docker = {
    listContainers: async (o: { filters: { label: string[] } }) => {
      const [key, value] = o.filters.label[0]!.split('=');
      expect(key).toBe(RUN_LABEL);
      return containers.filter((c) => value === undefined || c.run === value).map((c) => ({ Id: c.id, State: c.state }));
    },
    getContainer: (id: string) => ({
      remove: async () => {
        removed.push(id);
      },
    }),
  } as unknown as Docker;
  return { docker, removed };
}

const MINE = 'aaaaaaaaaaaa';
const OTHER = 'bbbbbbbbbbbb';
const CONTAINERS = [
  { id: 'mine-running', run: MINE, state: 'running' },
  { id: 'mine-exited', run: MINE, state: 'exited' },
  { id: 'other-running', run: OTHER, state: 'running' },
  { id: 'other-created', run: OTHER, state: 'created' },
];

async function cgroupRoot(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'reapbench-clean-'));
  for (const n of [`reapbench-${MINE}-1`, `reapbench-${OTHER}-1`, 'docker']) await mkdir(path.join(root, 'pids', n), { recursive: true });
  return root;
}

describe('reapbench clean', () => {
  it('--run <id> removes that run’s containers (running too) and parent cgroups, nothing of another run', async () => {
    const root = await cgroupRoot();
    try {
      const { docker, removed } = fakeEngine(CONTAINERS);
      const r = await cleanRuns(docker, { runId: MINE, force: false, cgroupRoot: root });
      expect(removed.sort()).toEqual(['mine-exited', 'mine-running']);
      expect(r).toEqual({ removed: 2, kept: 0, cgroups: 1 });
      expect((await readdir(path.join(root, 'pids'))).sort()).toEqual(['docker', `reapbench-${OTHER}-1`]);
      expect(cleanSummary(r, MINE)).toBe(`removed 2 containers and 1 parent cgroup of run ${MINE}`);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a plain clean keeps running containers of any run and says so in one line', async () => {
    const root = await cgroupRoot();
    try {
      const { docker, removed } = fakeEngine(CONTAINERS);
      // Just made, the parents are young: a plain clean keeps them (their run may be about to use them).
      expect((await cleanRuns(fakeEngine([]).docker, { runId: null, force: false, cgroupRoot: root })).cgroups).toBe(0);
      const r = await cleanRuns(docker, { runId: null, force: false, cgroupRoot: root, minAgeMs: 0 });
      expect(removed.sort()).toEqual(['mine-exited', 'other-created']);
      expect(r).toEqual({ removed: 2, kept: 2, cgroups: 2 });
      expect(cleanSummary(r, null)).toBe(
        'removed 2 containers and 2 parent cgroups; kept 2 running containers of other runs (they may be measuring; --force removes them too)',
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('--force removes running containers too', async () => {
    const { docker, removed } = fakeEngine(CONTAINERS);
    const r = await cleanRuns(docker, { runId: null, force: true, cgroupRoot: path.join(tmpdir(), 'reapbench-no-such-root') });
    expect(removed).toHaveLength(4);
    expect(cleanSummary(r, null)).toBe('removed 4 containers and 0 parent cgroups');
    expect(cleanSummary({ removed: 1, kept: 1, cgroups: 1 }, null)).toBe(
      'removed 1 container and 1 parent cgroup; kept 1 running container of other runs (they may be measuring; --force removes them too)',
    );
  });

  it('accepts only run ids of the form reapbench makes', () => {
    expect(RUN_ID_PATTERN.test(MINE)).toBe(true);
    for (const bad of ['', 'abc', 'AAAAAAAAAAAA', `${MINE}0`, '../../etc/x1']) expect(RUN_ID_PATTERN.test(bad)).toBe(false);
  });
});

describe('a new run sweeps what runs whose process is gone left', () => {
  const here = OWNER_LABELS['reapbench.host']!;
  /** Owner labels of process `pid` started at `started` on `host`. */
  const owner = (run: string, pid: number, started: string | null, host = here): Record<string, string> => ({
    [RUN_LABEL]: run,
    'reapbench.host': host,
    'reapbench.pid': String(pid),
    'reapbench.started': started ?? '',
  });
  // A live process that is not this one: the test runner's parent.
  const live = process.ppid;
  const liveStarted = processStartTicks(live)!;

  it('removes the containers and cgroups of a run whose pid is gone or now another process; leaves live runs, other hosts, unlabelled ones and this run', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'reapbench-sweep-'));
    const DEAD = 'dddddddddddd';
    const REUSED = 'eeeeeeeeeeee';
    const LIVE = 'ffffffffffff';
    for (const n of [`reapbench-${DEAD}-1`, `reapbench-${LIVE}-1`]) await mkdir(path.join(root, 'pids', n), { recursive: true });
    const removed: string[] = [];
    const labels: Record<string, Record<string, string>> = {
      dead: owner(DEAD, 2 ** 22 + 7, '123'), // above the kernel's PID_MAX_LIMIT: never a live pid
      reused: owner(REUSED, live, `${liveStarted}0`), // the pid lives, but as another process
      live: owner(LIVE, live, liveStarted),
      elsewhere: owner(DEAD, 2 ** 22 + 7, '123', `not-${here}`),
      unlabelled: { [RUN_LABEL]: DEAD },
      mine: owner(RUN_ID, 2 ** 22 + 7, '123'),
    };
    const docker = {
      listContainers: async () => Object.entries(labels).map(([Id, Labels]) => ({ Id, Labels, State: 'running' })),
      getContainer: (id: string) => ({ id, remove: async () => void removed.push(id) }),
    } as unknown as Docker;
    try {
      const s = await sweepDeadRuns(docker, root);
      expect(removed.sort()).toEqual(['dead', 'reused']);
      expect(s).toEqual({ removed: 2, cgroups: 1, runs: [DEAD, REUSED] });
      expect(await readdir(path.join(root, 'pids'))).toEqual([`reapbench-${LIVE}-1`]);
      expect(deadRunsLine(s)).toBe(
        `reapbench: removed 2 containers and 1 parent cgroup left by 2 runs whose process is gone (${DEAD}, ${REUSED})`,
      );
      expect(deadRunsLine({ removed: 0, cgroups: 0, runs: [] })).toBeNull();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("also removes other runs' parent cgroups that hold no task (a kill -9 left them), never one with a task in it, never this run's", async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'reapbench-sweep-'));
    const GONE = 'cccccccccccc';
    const BUSY = '999999999999';
    // The task count of each parent, as its pids.current would say (a test folder cannot hold
    // that file and still be removed).
    const tasks: Record<string, string> = {
      [`reapbench-${GONE}-1`]: '0',
      [`reapbench-${GONE}-2`]: '0',
      [`reapbench-${BUSY}-1`]: '2', // a container (or Podman's monitor) in it: a run going on, maybe another engine's
      [`reapbench-${RUN_ID}-1`]: '0',
    };
    for (const n of [...Object.keys(tasks), 'docker']) await mkdir(path.join(root, 'pids', n), { recursive: true });
    const docker = { listContainers: async () => [], getContainer: () => ({}) } as unknown as Docker;
    const tasksIn = (n: string): string | null => tasks[n] ?? null;
    try {
      // Made just now: may be about to get its container; stays at the default age.
      expect(await sweepDeadRuns(docker, root, { tasksIn })).toEqual({ removed: 0, cgroups: 0, runs: [] });
      // Age 0 stands for "older than a minute": a directory's ctime cannot be set back.
      expect(await sweepDeadRuns(docker, root, { tasksIn, minAgeMs: 0 })).toEqual({ removed: 0, cgroups: 2, runs: [GONE] });
      expect((await readdir(path.join(root, 'pids'))).sort()).toEqual(['docker', `reapbench-${BUSY}-1`, `reapbench-${RUN_ID}-1`].sort());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('labels every container with this process: host, pid and start time', () => {
    expect(OWNER_LABELS).toEqual({
      'reapbench.host': here,
      'reapbench.pid': String(process.pid),
      'reapbench.started': processStartTicks(process.pid),
    });
    expect(OWNER_LABELS['reapbench.started']).toMatch(/^\d+$/);
  });
});
