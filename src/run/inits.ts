/** `--inits`: the PID 1 choices a run compares, from the command line or a matrix file. */
import { usageError } from '../errors.js';
import { INITS, type InitName } from '../model/inits.js';

/**
 * Parse a comma-separated list of inits (`all` for every one), keeping the canonical order.
 * @throws ReapbenchError (exit 2) naming an unknown init and listing the valid ones.
 */
export function parseInits(list: string): InitName[] {
  const items = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw usageError(`Expected \`--inits\` to list at least one of ${INITS.join(', ')}`);
  if (items.includes('all')) return [...INITS];
  for (const item of items) {
    if (!(INITS as readonly string[]).includes(item)) {
      throw usageError(`unknown init \`${item}\`: expected one of ${INITS.join(', ')} (or all)`);
    }
  }
  return INITS.filter((i) => items.includes(i));
}
