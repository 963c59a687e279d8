/** `--inits`: the PID 1 choices a run compares, from the command line or a matrix file. */
import { usageError } from '../errors.js';
import { INIT_ALIASES, INIT_GROUPS, INITS, type InitName } from '../model/inits.js';

/** Every name `--inits` accepts, for its one-line error and `--help`: the choices, their aliases and the groups. */
export function initChoices(): string {
  return `${INITS.join(', ')} (${Object.keys(INIT_ALIASES)
    .map((a) => `${a} = ${INIT_ALIASES[a]}`)
    .join('; ')}), or a group: ${Object.keys(INIT_GROUPS).join(', ')}`;
}

/**
 * Parse a comma-separated list of inits, aliases ({@link INIT_ALIASES}: `none:node`) and groups
 * ({@link INIT_GROUPS}: `all` the six defaults, `all-pid1` every choice, `none:*`,
 * `supervisors`), keeping the canonical order and dropping repeats.
 * @throws ReapbenchError (exit 2), one line in validate.ts's template, listing the valid names and
 *   naming the unknown one (e.g. `none:ruby`), or naming the list when an item is empty (`tini,,none`).
 */
export function parseInits(list: string): InitName[] {
  const items = list.split(',').map((s) => s.trim());
  if (items.every((s) => s === '')) throw usageError(`Expected \`--inits\` to list at least one of ${initChoices()}`);
  // An empty item is most likely a name lost in editing (`tini,,none`): say so rather than run without it.
  if (items.includes('')) throw usageError(`Expected \`--inits\` to be a comma-separated list with no empty item, got \`${list}\``);
  const wanted = new Set<string>();
  for (const item of items) {
    const group = INIT_GROUPS[item];
    if (group) for (const i of group) wanted.add(i);
    else if (INIT_ALIASES[item]) wanted.add(INIT_ALIASES[item]);
    else if ((INITS as readonly string[]).includes(item)) wanted.add(item);
    else throw usageError(`Expected \`--inits\` to be a comma-separated list of ${initChoices()}, got \`${item}\``);
  }
  return INITS.filter((i) => wanted.has(i));
}
