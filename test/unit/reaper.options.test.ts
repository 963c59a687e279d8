// ts-reaper option parsing: pure functions, no processes.
import { describe, expect, it } from 'vitest';
import { parseOptions, UsageError, DEFAULT_GRACE_MS, DEFAULT_WAIT_SLICE_US, VERSION } from '../../src/reaper/options.js';
import { FORWARDED_SIGNALS, parseSignal } from '../../src/reaper/signals.js';

const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = await parseOptions(argv, env);
  if (r.kind !== 'run') throw new Error('expected run');
  return r.options;
};

describe('ts-reaper options', () => {
  it('has tini-like defaults', async () => {
    expect(await run(['--', 'sleep', '1'])).toEqual({
      command: ['sleep', '1'],
      subreaper: 'auto',
      pgroup: false,
      rewrite: new Map(),
      remapExit: new Set(),
      signalAdopted: false,
      shutdown: 'none',
      graceMs: DEFAULT_GRACE_MS,
      verbose: false,
      logFormat: 'text',
      preserveFds: 0,
      waitNice: 0,
      waitSliceUs: DEFAULT_WAIT_SLICE_US,
      waitSliceExplicit: false,
    });
    expect(DEFAULT_WAIT_SLICE_US).toBe(100);
  });

  it('--wait-slice-us and TS_REAPER_WAIT_SLICE_US set the slice and mark it explicit', async () => {
    expect(await run(['--wait-slice-us', '0', 'cmd'])).toMatchObject({ waitSliceUs: 0, waitSliceExplicit: true });
    expect(await run(['cmd'], { TS_REAPER_WAIT_SLICE_US: '3000' })).toMatchObject({ waitSliceUs: 3000, waitSliceExplicit: true });
    expect((await run(['--wait-slice-us', '250', 'cmd'], { TS_REAPER_WAIT_SLICE_US: '3000' })).waitSliceUs).toBe(250);
    await expect(parseOptions(['cmd'], { TS_REAPER_WAIT_SLICE_US: 'short' })).rejects.toThrow(/TS_REAPER_WAIT_SLICE_US/);
  });

  it('takes a command line without options as the command, whatever follows (no parser needed)', async () => {
    expect((await run(['--', 'sh', '-c', 'exit 1', '--help'])).command).toEqual(['sh', '-c', 'exit 1', '--help']);
    expect((await run(['sleep', '-v', '--', 'x'])).command).toEqual(['sleep', '-v', '--', 'x']);
    expect(await run(['--', 'x'], { TS_REAPER_VERBOSE: '1', TS_REAPER_SUBREAPER: '1' })).toMatchObject({
      verbose: true,
      subreaper: 'require',
      command: ['x'],
    });
  });

  it('stops option parsing at the command, with or without --', async () => {
    expect((await run(['-v', 'sh', '-c', 'exit 1', '-v'])).command).toEqual(['sh', '-c', 'exit 1', '-v']);
    expect((await run(['--', '-weird-name'])).command).toEqual(['-weird-name']);
  });

  it('parses every option', async () => {
    const o = await run([
      '-s',
      '-g',
      '-r',
      'TERM:INT',
      '-r',
      'usr1:0',
      '-e',
      '143',
      '-e',
      '1',
      '--shutdown',
      'all',
      '--grace-ms',
      '250',
      '-v',
      '--preserve-fds',
      '2',
      'cmd',
    ]);
    expect(o.subreaper).toBe('require');
    expect(o.pgroup).toBe(true);
    expect([...o.rewrite]).toEqual([
      [15, 2],
      [10, 0],
    ]);
    expect([...o.remapExit]).toEqual([143, 1]);
    expect(o.shutdown).toBe('all');
    expect(o.graceMs).toBe(250);
    expect(o.verbose).toBe(true);
    expect(o.preserveFds).toBe(2);
    expect((await run(['--no-subreaper', 'cmd'])).subreaper).toBe('off');
  });

  it('reads environment variables, and the command line wins', async () => {
    const env = {
      TS_REAPER_SUBREAPER: '0',
      TS_REAPER_VERBOSE: '1',
      TS_REAPER_PGROUP: 'yes',
      TS_REAPER_REWRITE: 'TERM:QUIT,HUP:0',
      TS_REAPER_REMAP_EXIT: '3,4',
      TS_REAPER_SHUTDOWN: 'group',
      TS_REAPER_GRACE_MS: '100',
      TS_REAPER_PRESERVE_FDS: '1',
    };
    const o = await run(['cmd'], env);
    expect(o).toMatchObject({ subreaper: 'off', verbose: true, pgroup: true, shutdown: 'group', graceMs: 100, preserveFds: 1 });
    expect([...o.rewrite]).toEqual([
      [15, 3],
      [1, 0],
    ]);
    expect([...o.remapExit]).toEqual([3, 4]);
    const cli = await run(['-s', '--shutdown', 'none', '--grace-ms', '7', '-r', 'TERM:INT', 'cmd'], env);
    expect(cli).toMatchObject({ subreaper: 'require', shutdown: 'none', graceMs: 7 });
    expect(cli.rewrite.get(15)).toBe(2);
  });

  it('--signal-adopted and --log-format, from the command line or the environment (the command line wins)', async () => {
    expect(await run(['--signal-adopted', '--log-format', 'json', 'cmd'])).toMatchObject({ signalAdopted: true, logFormat: 'json' });
    expect(await run(['cmd'], { TS_REAPER_SIGNAL_ADOPTED: '1', TS_REAPER_LOG_FORMAT: 'json' })).toMatchObject({
      signalAdopted: true,
      logFormat: 'json',
    });
    expect((await run(['--log-format', 'text', 'cmd'], { TS_REAPER_LOG_FORMAT: 'json' })).logFormat).toBe('text');
    await expect(parseOptions(['cmd'], { TS_REAPER_LOG_FORMAT: 'yaml' })).rejects.toThrow(
      /Expected `TS_REAPER_LOG_FORMAT` to be text or json, got `yaml`/,
    );
    await expect(parseOptions(['cmd'], { TS_REAPER_SIGNAL_ADOPTED: 'perhaps' })).rejects.toThrow(/TS_REAPER_SIGNAL_ADOPTED/);
    await expect(parseOptions(['--log-format', 'xml', 'cmd'], {})).rejects.toThrow(/xml/);
  });

  it('--shutdown group implies -g: the group it shuts down also gets the forwarded signals', async () => {
    expect((await run(['--shutdown', 'group', 'cmd'])).pgroup).toBe(true);
  });

  it.each([
    [['--bogus', 'cmd'], /^Expected an option of ts-reaper, got `--bogus`; see ts-reaper --help$/],
    [['--shutdown', 'some', 'cmd'], /^Expected `--shutdown` to be one of none, group, all, got `some`$/],
    [[], /missing command/],
    [['--'], /missing command/],
    [[''], /missing command/],
    [['-v'], /missing command/],
    [['-r', 'FOO:1', 'cmd'], /Expected `--rewrite` to be SIG:SIG.*got `FOO:1`/],
    [['-r', 'TERM', 'cmd'], /Expected `--rewrite`/],
    [['-r', 'TERM:99', 'cmd'], /Expected `--rewrite`/],
    // Rules that could never fire: ts-reaper never sees the first signal, or must not send the second.
    [['-r', '40:15', 'cmd'], /Expected `--rewrite` to be SIG:SIG from a signal ts-reaper catches and forwards .*got `40:15`/],
    [
      ['-r', 'KILL:TERM', 'cmd'],
      /from a signal ts-reaper catches and forwards \(not KILL, STOP, SEGV, BUS, FPE, ILL, CHLD, 32, 33 or 34-64\)/,
    ],
    [['-r', 'STOP:TERM', 'cmd'], /from a signal ts-reaper catches/],
    [['-r', 'SIGSEGV:TERM', 'cmd'], /from a signal ts-reaper catches/],
    [['-r', 'bus:TERM', 'cmd'], /from a signal ts-reaper catches/],
    [['-r', 'FPE:TERM', 'cmd'], /from a signal ts-reaper catches/],
    [['-r', 'ILL:TERM', 'cmd'], /from a signal ts-reaper catches/],
    [['-r', 'CHLD:TERM', 'cmd'], /from a signal ts-reaper catches/],
    [['-r', '32:15', 'cmd'], /from a signal ts-reaper catches/],
    [['-r', '33:15', 'cmd'], /from a signal ts-reaper catches/],
    [['-r', '64:15', 'cmd'], /from a signal ts-reaper catches/],
    [
      ['-r', 'TERM:32', 'cmd'],
      /Expected `--rewrite` to be SIG:SIG to 0 \(drop\) or a signal other than 32 and 33 \(glibc's own\), got `TERM:32`/,
    ],
    [['-r', 'TERM:33', 'cmd'], /other than 32 and 33/],
    [['-r', '65:1', 'cmd'], /Expected `--rewrite` to be SIG:SIG with known signals/],
    [['-e', '256', 'cmd'], /Expected `--remap-exit` to be an exit code between 0 and 255, got `256`/],
    [['-e', 'x', 'cmd'], /Expected `--remap-exit`/],
    [['--grace-ms', '-1', 'cmd'], /grace-ms/],
    [['--grace-ms', '1.5', 'cmd'], /Expected `--grace-ms`/],
    [['--shutdown', 'maybe', 'cmd'], /maybe/],
    [['--preserve-fds', 'all', 'cmd'], /Expected `--preserve-fds`/],
    [['--wait-nice', '20', 'cmd'], /Expected `--wait-nice` to be a nice value between -20 and 19, got `20`/],
    [
      ['--wait-slice-us', '50', 'cmd'],
      /Expected `--wait-slice-us` to be 0 \(kernel default\) or a slice between 100 and 100000 microseconds, got `50`/,
    ],
    [['--wait-slice-us', '100001', 'cmd'], /Expected `--wait-slice-us`/],
    [['--wait-slice-us', '-5', 'cmd'], /Expected `--wait-slice-us`/],
  ])('rejects %j with one line', async (argv, message) => {
    await expect(parseOptions(argv, {})).rejects.toThrow(UsageError);
    try {
      await parseOptions(argv, {});
    } catch (e) {
      expect((e as Error).message).toMatch(message);
      expect((e as Error).message).not.toContain('\n');
    }
  });

  it('rejects bad environment values naming the variable', async () => {
    await expect(parseOptions(['cmd'], { TS_REAPER_SHUTDOWN: 'sometimes' })).rejects.toThrow(/TS_REAPER_SHUTDOWN/);
    await expect(parseOptions(['cmd'], { TS_REAPER_GRACE_MS: 'soon' })).rejects.toThrow(/TS_REAPER_GRACE_MS/);
    await expect(parseOptions(['cmd'], { TS_REAPER_VERBOSE: 'maybe' })).rejects.toThrow(/TS_REAPER_VERBOSE/);
    await expect(parseOptions(['cmd'], { TS_REAPER_REWRITE: 'TERM' })).rejects.toThrow(/TS_REAPER_REWRITE/);
    await expect(parseOptions(['cmd'], { TS_REAPER_REWRITE: 'TERM:INT,40:1' })).rejects.toThrow(
      /Expected `TS_REAPER_REWRITE` to be SIG:SIG from a signal/,
    );
    await expect(parseOptions(['cmd'], { TS_REAPER_REMAP_EXIT: '1,300' })).rejects.toThrow(/TS_REAPER_REMAP_EXIT/);
  });

  it('--help is an exit with text, code 0, documenting the environment', async () => {
    const r = await parseOptions(['--help'], {});
    expect(r.kind).toBe('exit');
    if (r.kind === 'exit') {
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('TS_REAPER_SUBREAPER');
      expect(r.stdout).toContain('--shutdown');
      expect(r.stdout).toContain('zombie');
      expect(r.stdout).toMatch(/Working directory: the command runs in the one ts-reaper was started in; ts-reaper never\s+changes it/);
    }
  });

  it('accepts every rule that can fire: from each forwarded signal (TTIN, TTOU too), to any signal but 32 and 33, or 0', async () => {
    for (const name of FORWARDED_SIGNALS) expect((await run(['-r', `${name}:TERM`, 'cmd'])).rewrite.get(parseSignal(name, false))).toBe(15);
    expect([...(await run(['-r', 'TTOU:USR1', '-r', 'TERM:KILL', '-r', 'HUP:40', '-r', 'INT:64', '-r', 'USR2:0', 'cmd'])).rewrite]).toEqual(
      [
        [22, 10],
        [15, 9],
        [1, 40],
        [2, 64],
        [12, 0],
      ],
    );
  });

  it('--version and -V are an exit with `ts-reaper <version>`, code 0, whatever else is on the line', async () => {
    for (const argv of [['--version'], ['-V'], ['-v', '--version', 'cmd'], ['-V', '--', 'cmd']]) {
      const r = await parseOptions(argv, { TS_REAPER_SHUTDOWN: 'not checked' });
      expect(r).toEqual({ kind: 'exit', code: 0, stdout: `ts-reaper ${VERSION}\n` });
    }
    // Unbundled sources have no embedded version; the bundle's is checked in test/local.
    expect(VERSION).toMatch(/^unknown/);
  });

  it('parses signals by number, name and short name', async () => {
    expect(parseSignal('15', false)).toBe(15);
    expect(parseSignal('SIGTERM', false)).toBe(15);
    expect(parseSignal('term', false)).toBe(15);
    expect(parseSignal('0', true)).toBe(0);
    expect(() => parseSignal('0', false)).toThrow();
    expect(() => parseSignal('65', false)).toThrow();
  });

  it('forwards every catchable signal except SIGCHLD and the ones Node reserves', async () => {
    expect(FORWARDED_SIGNALS).toContain('SIGTERM');
    expect(FORWARDED_SIGNALS).toContain('SIGINT');
    expect(FORWARDED_SIGNALS).toContain('SIGWINCH');
    for (const s of ['SIGCHLD', 'SIGKILL', 'SIGSTOP', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL']) expect(FORWARDED_SIGNALS).not.toContain(s);
    expect(new Set(FORWARDED_SIGNALS).size).toBe(FORWARDED_SIGNALS.length);
  });
});
