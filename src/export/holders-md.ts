/**
 * report.md's "Who held the zombies" section: per init, the kinds of parent the zombies of its
 * completed runs belonged to, from the kernel instrument's events (`zombies_by_parent` of each
 * run). Pure.
 */
import type { RunRecord, ZombieHolder } from '../model/records.js';
import { initIndex } from '../stats/config-key.js';
import { formatNumber, plural } from './format.js';

/** One row: an init and one kind of parent, over that init's completed kernel-measured runs. */
interface HolderRow {
  init: string;
  holder: ZombieHolder;
  runs: number;
}

/**
 * The section, or nothing when no completed run was measured by the kernel instrument (the
 * in-container watcher sees only its own orphans, so it cannot say who else held zombies).
 * @param runs every run record of the report.
 * @returns markdown lines, ending with an empty line; [] when there is nothing to show.
 */
export function zombieHoldersSection(runs: readonly RunRecord[]): string[] {
  const measured = runs.filter((r) => r.state === 'completed' && r.zombies_held_by !== null);
  if (measured.length === 0) return [];
  const rows: HolderRow[] = [];
  const inits = [...new Set(measured.map((r) => r.init))].sort((a, b) => initIndex(a) - initIndex(b));
  for (const init of inits) {
    const mine = measured.filter((r) => r.init === init);
    const byKind = new Map<string, ZombieHolder>();
    for (const h of mine.flatMap((r) => r.zombies_by_parent)) {
      const key = `${h.pid1 ? 1 : 0}:${h.comm}`;
      const g = byKind.get(key) ?? { ...h, parents: 0, zombies: 0, peak: 0, unreaped_at_end: 0 };
      g.parents += h.parents;
      g.zombies += h.zombies;
      g.peak = Math.max(g.peak, h.peak);
      g.unreaped_at_end += h.unreaped_at_end;
      byKind.set(key, g);
    }
    const kinds = [...byKind.values()].sort((a, b) => b.zombies - a.zombies || Number(b.pid1) - Number(a.pid1));
    if (kinds.length === 0)
      rows.push({ init, holder: { comm: '', pid1: false, parents: 0, zombies: 0, peak: 0, unreaped_at_end: 0 }, runs: mine.length });
    for (const holder of kinds) rows.push({ init, holder, runs: mine.length });
  }
  const head = ['init', 'runs', 'parent', 'zombies', 'most at once (one parent)', 'never reaped'];
  return [
    '## Who held the zombies',
    '',
    "From the kernel instrument's events: a zombie's parent is the process its exit's SIGCHLD went to, its original parent or the init that adopted it " +
      '(`kernel/exit.c`). Summed over the init\'s completed runs measured by `ebpf`; "most at once" is the highest count one parent held at one instant in one run. ' +
      "Every zombie counts, the workload's own children too: with the synthetic load, the intermediates `orphanage solo` forks (one per orphan, or per batch) are zombies of solo until it reaps them, µs later, so they make the `orphanage` row under a reaping init; under `none` solo is PID 1, so its row holds its intermediates (also those whose orphan fork failed) as well as the adopted orphans it never reaps (`unreaped` in the summary). " +
      'Limits: a process whose exit or reap was lost (`lost_events` > 0) may be missing; "never reaped" counts zombies still there when the container ended, whose parent was alive until then.',
    '',
    `| ${head.join(' | ')} |`,
    `|---|--:|---|--:|--:|--:|`,
    ...rows.map(({ init, holder: h, runs: n }) => {
      const who =
        h.zombies === 0
          ? 'no process became a zombie'
          : h.pid1
            ? `\`${h.comm}\` (PID 1)`
            : `\`${h.comm}\` (not PID 1; ${plural(h.parents, 'parent')} over the runs)`;
      return `| \`${init}\` | ${n} | ${who} | ${formatNumber(h.zombies)} | ${formatNumber(h.peak)} | ${formatNumber(h.unreaped_at_end)} |`;
    }),
    '',
  ];
}
