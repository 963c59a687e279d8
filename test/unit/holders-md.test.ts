import { describe, expect, it } from 'vitest';
import { zombieHoldersSection } from '../../src/export/holders-md.js';
import { makeRun } from '../support/bench-fixtures.js';

const tini = { comm: 'tini', pid1: true, parents: 1, zombies: 2000, peak: 3, unreaped_at_end: 0 };
const orphanage = { comm: 'orphanage', pid1: false, parents: 4, zombies: 4, peak: 1, unreaped_at_end: 0 };
const node = { comm: 'node', pid1: true, parents: 1, zombies: 126, peak: 126, unreaped_at_end: 126 };

describe("report.md's who held the zombies", () => {
  it('is absent without a run measured by the kernel instrument', () => {
    expect(zombieHoldersSection([makeRun()])).toEqual([]);
  });

  it('sums each kind of parent over an init’s completed runs, keeps the highest peak, and skips failed runs', () => {
    const lines = zombieHoldersSection([
      makeRun({ init: 'tini', zombies_by_parent: [tini, orphanage], zombies_held_by: 'x' }),
      makeRun({ init: 'tini', repetition: 1, zombies_by_parent: [{ ...tini, peak: 5 }], zombies_held_by: 'x' }),
      makeRun({ init: 'tini', state: 'failed', zombies_by_parent: [{ ...tini, zombies: 9999 }], zombies_held_by: 'x' }),
      makeRun({ init: 'none', zombies_by_parent: [node], zombies_held_by: 'x' }),
    ]);
    const rows = lines.filter((l) => l.startsWith('| `'));
    expect(rows).toEqual([
      '| `none` | 1 | `node` (PID 1) | 126 | 126 | 126 |',
      '| `tini` | 2 | `tini` (PID 1) | 4000 | 5 | 0 |',
      '| `tini` | 2 | `orphanage` (not PID 1; 4 parents over the runs) | 4 | 1 | 0 |',
    ]);
    expect(lines[0]).toBe('## Who held the zombies');
    expect(lines.join('\n')).toMatch(/Limits: .*lost_events/);
  });

  it('says so when no process of an init became a zombie', () => {
    const rows = zombieHoldersSection([makeRun({ init: 'tini', zombies_by_parent: [], zombies_held_by: 'none' })]).filter((l) =>
      l.startsWith('| `'),
    );
    expect(rows).toEqual(['| `tini` | 1 | no process became a zombie | 0 | 0 | 0 |']);
  });
});
