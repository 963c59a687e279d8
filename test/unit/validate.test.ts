import { describe, expect, it } from 'vitest';
import { checkChoice, checkNumber, describeRule, expected, parseErrorLine, UsageError } from '../../src/validate.js';
import { UsageError as LoadgenUsageError } from '../../src/loadgen/options.js';
import { UsageError as ReaperUsageError } from '../../src/reaper/options.js';
import { checkNumber as runCheckNumber } from '../../src/run/matrix.js';
import { ReapbenchError } from '../../src/errors.js';

describe('one validation module for reapbench run, the load generator and ts-reaper', () => {
  it('says what a rule asks for in words', () => {
    expect(describeRule({})).toBe('a number');
    expect(describeRule({ minExclusive: 0 })).toBe('a positive number');
    expect(describeRule({ integer: true, min: 0 })).toBe('a non-negative integer');
    expect(describeRule({ min: 0, max: 600_000 })).toBe('a non-negative number ≤ 600000');
    expect(describeRule({ integer: true, min: 1, max: 64 })).toBe('an integer from 1 to 64');
    expect(describeRule({ integer: true, min: -20, max: 19 })).toBe('an integer from -20 to 19');
    expect(describeRule({ minExclusive: 1 })).toBe('a number > 1');
    expect(describeRule({ minExclusive: 0, max: 3600 })).toBe('a positive number ≤ 3600');
  });

  it('checks numbers, and refuses with the one template', () => {
    expect(checkNumber('--rate', '250', { minExclusive: 0 })).toBe(250);
    expect(checkNumber('--seed', 7, { integer: true, min: 0 })).toBe(7);
    for (const bad of ['', ' ', 'abc', 'Infinity', '-1', '1.5']) {
      expect(() => checkNumber('--batch', bad, { integer: true, min: 1, max: 64 })).toThrow(
        `Expected \`--batch\` to be an integer from 1 to 64, got \`${bad}\``,
      );
    }
    expect(expected('--pin', 'OBS:WORK', 'x')).toBeInstanceOf(UsageError);
  });

  it('is the one error class of the load generator and ts-reaper; the run command maps it to its own exit-2 error', () => {
    expect(LoadgenUsageError).toBe(UsageError);
    expect(ReaperUsageError).toBe(UsageError);
    const err = (() => {
      try {
        return runCheckNumber('p50-factor', '1', { minExclusive: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ReapbenchError);
    expect((err as ReapbenchError).exitCode).toBe(2);
    expect((err as Error).message).toBe('Expected `--p50-factor` to be a number > 1, got `1`');
  });
});

describe('choices and parse errors in the same template', () => {
  it('checks a choice', () => {
    expect(checkChoice('--base', 'offline', ['auto', 'offline'] as const)).toBe('offline');
    expect(() => checkChoice('--base', 'cloud', ['auto', 'offline'])).toThrow(
      new UsageError('Expected `--base` to be one of auto, offline, got `cloud`'),
    );
  });

  it("puts commander's refusals on one line: Expected …, got …; see <command> --help", () => {
    const line = (code: string, message: string): string => parseErrorLine({ code, message }, 'reapbench run', ['run', 'merge']);
    expect(line('commander.unknownOption', "error: unknown option '--limit'\n(Did you mean --limits?)")).toBe(
      'Expected an option of reapbench run, got `--limit` (did you mean --limits?); see reapbench run --help',
    );
    expect(line('commander.unknownCommand', "error: unknown command 'rnu'\n(Did you mean run?)")).toBe(
      'Expected a command (run, merge), got `rnu` (did you mean run?); see reapbench run --help',
    );
    expect(
      line('commander.invalidArgument', "error: option '--base <mode>' argument 'x' is invalid. Allowed choices are auto, offline."),
    ).toBe('Expected `--base` to be one of auto, offline, got `x`');
    expect(line('commander.optionMissingArgument', "error: option '-o, --out <dir>' argument missing")).toBe(
      'Expected `--out` to be followed by <dir>, got nothing; see reapbench run --help',
    );
    expect(line('commander.excessArguments', "error: too many arguments for 'run'. Expected 1 argument but got 3.")).toBe(
      'Expected at most 1 argument after reapbench run, got 3; see reapbench run --help',
    );
    // A refusal this module does not know: commander's words, still on one line.
    expect(line('commander.conflictingOption', "error: option '--a' cannot be used with option '--b'\nmore")).toBe(
      "option '--a' cannot be used with option '--b' more; see reapbench run --help",
    );
  });
});
