/**
 * Temporary directories for the tests of one file (or one describe block): each call makes a
 * fresh one under the OS temp dir, and all are removed after the last test of the scope that
 * called {@link scratchDirs} (its `afterAll`), whatever the tests did.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/**
 * Register the clean-up and return the maker.
 * @param prefix the directories' name prefix, e.g. `reapbench-merge-`.
 * @returns a function that makes one more directory and resolves to its path.
 */
export function scratchDirs(prefix: string): () => Promise<string> {
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made) await rm(d, { recursive: true, force: true });
  });
  return async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}
