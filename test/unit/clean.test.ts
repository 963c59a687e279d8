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
import { cleanRuns, cleanSummary, RUN_ID_PATTERN, RUN_LABEL } from '../../src/runtime/cleanup.js';

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
      const r = await cleanRuns(docker, { runId: null, force: false, cgroupRoot: root });
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
