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

/**
 * Check that `value` is one of `choices`.
 * @param option the option's name as the user typed it, e.g. `--base`.
 * @returns the value, typed as the choice it is.
 * @throws UsageError "Expected `<option>` to be one of <choices>, got `<value>`".
 */
export function checkChoice<T extends string>(option: string, value: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(value)) throw expected(option, `one of ${choices.join(', ')}`, value);
  return value as T;
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

/** The fields of a commander error this module reads (a `CommanderError`). */
export interface ParseError {
  /** commander's code, e.g. `commander.unknownOption`. */
  code: string;
  /** commander's message, e.g. `error: unknown option '--colour'\n(Did you mean --color?)`. */
  message: string;
}

/**
 * The one-line message of a commander parse error, without the `reapbench: ` prefix. Pure.
 *
 * commander's parse errors (an unknown option or command, a missing value or argument, a value
 * outside an option's choices) in this module's template, so that the three programs' parsers
 * speak like their validators: one line, "Expected <what is valid>, got <what was given>", then
 * where the valid ones are listed when the line cannot hold them ("; see reapbench run --help").
 * commander's own wording ("error: option '--out <dir>' argument missing", a suggestion on a
 * second line) would be the one message in another style. The patterns follow the wording of
 * the commander version package.json pins; one they do not match keeps commander's text.
 * @param command the command that was parsing, as typed: `reapbench` or `reapbench run`.
 * @param commands the subcommands of `reapbench` (for an unknown command), e.g. `['run', 'merge']`.
 * @returns e.g. "Expected an option of reapbench run, got `--colour` (did you mean --color?); see
 *   reapbench run --help". An error this module does not know keeps commander's text, joined
 *   onto one line, with the same ending.
 */
export function parseErrorLine(err: ParseError, command: string, commands: readonly string[]): string {
  const text = err.message.replace(/^error: /, '');
  // commander puts its "(Did you mean …?)" on a line of its own.
  const [first = '', ...rest] = text.split('\n');
  const hint = rest
    .join(' ')
    .trim()
    .replace(/^\(Did you mean/, '(did you mean');
  const withHint = (s: string): string => (hint ? `${s} ${hint}` : s);
  const see = `; see ${command} --help`;
  const quoted = (re: RegExp): string | undefined => re.exec(first)?.[1];
  switch (err.code) {
    case 'commander.unknownOption': {
      const flag = quoted(/^unknown option '(.*)'$/);
      if (flag !== undefined) return `${withHint(`Expected an option of ${command}, got \`${flag}\``)}${see}`;
      break;
    }
    case 'commander.unknownCommand': {
      const name = quoted(/^unknown command '(.*)'$/);
      if (name !== undefined) return `${withHint(`Expected a command (${commands.join(', ')}), got \`${name}\``)}${see}`;
      break;
    }
    case 'commander.optionMissingArgument': {
      const flags = quoted(/^option '(.*)' argument missing$/);
      if (flags !== undefined) {
        const [name, value = 'a value'] = flags.split(/[ ,]+/).filter((f) => f.startsWith('--') || f.startsWith('<'));
        return `Expected \`${name ?? flags}\` to be followed by ${value}, got nothing${see}`;
      }
      break;
    }
    case 'commander.missingMandatoryOptionValue': {
      const flags = quoted(/^required option '(.*)' not specified$/);
      if (flags !== undefined) return `Expected \`${flags}\` (it is required), got none${see}`;
      break;
    }
    case 'commander.missingArgument': {
      const name = quoted(/^missing required argument '(.*)'$/);
      if (name !== undefined) return `Expected <${name}> after ${command}, got none${see}`;
      break;
    }
    case 'commander.invalidArgument': {
      // An option's .choices(): "option '--x <v>' argument 'y' is invalid. Allowed choices are a, b."
      const m = /^option '(\S+)[^']*' argument '(.*)' is invalid\. Allowed choices are (.*)\.$/.exec(first);
      if (m) return `Expected \`${m[1]}\` to be one of ${m[3]}, got \`${m[2]}\``;
      break;
    }
    case 'commander.excessArguments': {
      const m = /Expected (\d+) arguments? but got (\d+)\.$/.exec(first);
      if (m)
        return `Expected ${m[1] === '0' ? 'no argument' : `at most ${m[1]} argument${m[1] === '1' ? '' : 's'}`} after ${command}, got ${m[2]}${see}`;
      break;
    }
  }
  return `${withHint(first.trim())}${see}`;
}
