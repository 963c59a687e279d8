/**
 * Option validation shared by the three programs that parse options: `reapbench run`, the load
 * generator and ts-reaper. One message template (execa's): "Expected `--rate` to be a positive
 * number, got `-1`", one error class, one numeric check. A leaf: it imports nothing, so the
 * in-container bundles that use it stay free of dependencies.
 */

/**
 * A bad option or configuration value. `message` is one terminal line; each program prints it
 * and exits 2 (a usage error).
 */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The one message template: "Expected `<option>` to be <want>, got `<got>`". */
export function expected(option: string, want: string, got: unknown): UsageError {
  return new UsageError(`Expected \`${option}\` to be ${want}, got \`${String(got)}\``);
}

/** Bounds of a numeric option (all optional; inclusive unless named exclusive). */
export interface NumberRule {
  /** Whole numbers only. */
  integer?: boolean;
  /** Smallest value allowed. */
  min?: number;
  /** Values must be greater than this. */
  minExclusive?: number;
  /** Largest value allowed. */
  max?: number;
}

/**
 * What a rule asks for, in words: "a positive number", "a non-negative integer", "an integer
 * from 1 to 1000", "a number > 1", "a number ≤ 600000".
 */
export function describeRule(rule: NumberRule): string {
  const noun = rule.integer ? 'integer' : 'number';
  const kind = rule.integer ? 'an integer' : 'a number';
  let want = kind;
  if (rule.minExclusive !== undefined) want = rule.minExclusive === 0 ? `a positive ${noun}` : `${kind} > ${rule.minExclusive}`;
  else if (rule.min !== undefined) want = rule.min === 0 ? `a non-negative ${noun}` : `${kind} ≥ ${rule.min}`;
  if (rule.max !== undefined)
    want = rule.min !== undefined && rule.min !== 0 ? `${kind} from ${rule.min} to ${rule.max}` : `${want} ≤ ${rule.max}`;
  return want;
}

/**
 * Parse `value` (a number, or a string that is one) and check it against `rule`.
 * @param option the option's name as the user typed it, e.g. `--rate`.
 * @returns the number.
 * @throws UsageError "Expected `<option>` to be <rule in words>, got `<value>`".
 */
export function checkNumber(option: string, value: unknown, rule: NumberRule = {}): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  const bad =
    !Number.isFinite(n) ||
    (rule.integer === true && !Number.isInteger(n)) ||
    (rule.min !== undefined && n < rule.min) ||
    (rule.minExclusive !== undefined && n <= rule.minExclusive) ||
    (rule.max !== undefined && n > rule.max);
  if (bad) throw expected(option, describeRule(rule), value);
  return n;
}
