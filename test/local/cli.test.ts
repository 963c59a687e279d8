/**
 * The CLI as a user meets it: bad input gives one line and exit 2, a missing engine one line
 * and exit 1, no stack trace without --verbose, and nothing left behind.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');

async function reapbench(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [cli, ...args], { reject: false, env: { CI: '', ...env }, cwd: root, timeout: 60_000 });
}

describe('reapbench CLI errors', () => {
  // Every bad value, unknown name and parser refusal in one style: one line, "Expected <what is
  // valid>, got <what was given>", and where the valid ones are listed when the line cannot.
  it.each([
    [
      ['run', '--inits', 'tini,s6'],
      'reapbench: Expected `--inits` to be a comma-separated list of none, none:python, none:bash, none:sh, tini, dumb-init, docker-init, catatonit, ts-reaper, supervisord, s6-svscan, runit (none:node = none), or a group: all, all-pid1, none:*, supervisors, got `s6`',
    ],
    [['run', '--rates', '-5'], 'reapbench: Expected `--rates` to be a positive number ≤ 100000, got `-5`'],
    [['run', '--lifetime-ms', '-1'], 'reapbench: Expected `--lifetime-ms` to be a non-negative number ≤ 600000, got `-1`'],
    [['run', '--repetitions', '0'], 'reapbench: Expected `--repetitions` to be an integer from 1 to 1000, got `0`'],
    [['run', '--preset', 'huge'], 'reapbench: Expected `--preset` to be one of quick, full, got `huge`'],
    [
      ['run', '--scenario', 'S9'],
      'reapbench: Expected `--scenario` to be all, or a comma-separated list of orphans, S1 killed-parent-tree, S2 tool-leaves-helper, S3 probe-timeout, S4 double-fork-daemon, S5 init-not-pid1, S6 stop-latency, S7 limit-exhaustion (by id or name), got `S9`',
    ],
    [['run', '--instrument', 'bpf'], 'reapbench: Expected `--instrument` to be one of auto, ebpf, pidfd, both, got `bpf`'],
    [['run', '--base', 'cloud'], 'reapbench: Expected `--base` to be one of auto, offline, registry, got `cloud`'],
    [['images', '--base', 'cloud'], 'reapbench: Expected `--base` to be one of auto, offline, registry, got `cloud`'],
    [['run', '--shard', '4/3'], "reapbench: Expected `--shard`'s i to be between 1 and n (3), got `4/3`"],
    [['run', '--p50-factor', '1'], 'reapbench: Expected `--p50-factor` to be a number > 1, got `1`'],
    [['run', '--engine', 'lxc'], 'reapbench: Expected `--engine` to be one of auto, docker, podman, namespace, got `lxc`'],
    [['clean', '--run', 'abc'], "reapbench: Expected `--run` to be a run id (12 hex digits, as env.json's run_id), got `abc`"],
    [['merge', 'a', '--out', 'b', '--p50-factor', 'x'], 'reapbench: Expected `--p50-factor` to be a number > 1, got `x`'],
    // What commander refuses while parsing, in the same form.
    [['run', '--colour'], 'reapbench: Expected an option of reapbench run, got `--colour`; see reapbench run --help'],
    [
      ['run', '--limit', '64'],
      'reapbench: Expected an option of reapbench run, got `--limit` (did you mean --limits?); see reapbench run --help',
    ],
    [['--bogus'], 'reapbench: Expected an option of reapbench, got `--bogus`; see reapbench --help'],
    [['frobnicate'], 'reapbench: Expected a command (run, merge, images, clean), got `frobnicate`; see reapbench --help'],
    [['run', '--rates'], 'reapbench: Expected `--rates` to be followed by <list>, got nothing; see reapbench run --help'],
    [['merge', 'a'], 'reapbench: Expected `--out <dir>` (it is required), got none; see reapbench merge --help'],
    [['merge', '--out', '/tmp/x'], 'reapbench: Expected <dirs> after reapbench merge, got none; see reapbench merge --help'],
    [['images', 'extra'], 'reapbench: Expected no argument after reapbench images, got 1; see reapbench images --help'],
  ])('%j → one line in the one style, exit 2', async (args, line) => {
    const r = await reapbench(args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(line);
    expect(r.stderr.trim()).toMatch(/^reapbench: Expected [^\n]+, got [^\n]+$/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it.each([
    [['run', '--matrix', '/nonexistent/m.yaml'], 'reapbench: cannot read matrix file /nonexistent/m.yaml: ENOENT; check the path'],
    // A gate or an image option without --image must not pass silently.
    [
      ['run', '--fail-on', 'leak'],
      "reapbench: `--fail-on` goes with --image <ref> (a user's image); the synthetic matrix has no use for it",
    ],
    [
      ['run', '--stop-grace-s', '1'],
      "reapbench: `--stop-grace-s` goes with --image <ref> (a user's image); the synthetic matrix has no use for it",
    ],
    [
      ['run', '--entrypoint', '/bin/sh'],
      "reapbench: `--entrypoint` goes with --image <ref> (a user's image); the synthetic matrix has no use for it",
    ],
  ])('%j → one line, exit 2', async (args, line) => {
    const r = await reapbench(args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(line);
    expect(r.stdout).toBe('');
  });

  it('--verbose adds the stack to a bad-input line, also to one the parser found', async () => {
    for (const args of [
      ['run', '--base', 'cloud', '--verbose'],
      ['run', '--preset', 'huge', '-v'],
    ]) {
      const r = await reapbench(args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/^reapbench: Expected `--(base|preset)` to be one of [^\n]+\n/);
      expect(r.stderr).toMatch(/\n\s+at /);
    }
  });

  it('a missing engine says how to start one, exits 1, no stack trace, no results folder left', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'reapbench-cli-'));
    try {
      const r = await reapbench(['run', '--inits', 'tini', '--out', out], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim()).toBe(
        'reapbench: no Docker engine answers at unix:///nonexistent/docker.sock (from DOCKER_HOST): check DOCKER_HOST, or unset it to use /var/run/docker.sock',
      );
      const tcp = await reapbench(['run', '--inits', 'tini', '--out', out], { DOCKER_HOST: 'tcp://127.0.0.1:1' });
      expect(tcp.exitCode).toBe(1);
      expect(tcp.stderr.trim()).toMatch(
        /^reapbench: no Docker engine answers at tcp:\/\/127\.0\.0\.1:1 \(from DOCKER_HOST\): check DOCKER_HOST/,
      );
      const bad = await reapbench(['run', '--inits', 'tini', '--out', out], { DOCKER_HOST: 'garbage://x' });
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr.trim()).toMatch(/^reapbench: DOCKER_HOST=garbage:\/\/x is not an address reapbench can use/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(await readdir(out)).toEqual([]);
      const v = await reapbench(['run', '--inits', 'tini', '--out', out, '--verbose'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
      expect(v.stderr).toMatch(/\n\s+at /);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('a bad --out is bad input (exit 2): empty, a file, nothing created without an engine', async () => {
    const empty = await reapbench(['run', '--out', '']);
    expect([empty.exitCode, empty.stderr.trim()]).toEqual([2, 'reapbench: Expected `--out` to name a folder, got an empty string']);
    const base = await mkdtemp(path.join(tmpdir(), 'reapbench-cli-'));
    try {
      const file = path.join(base, 'afile');
      await writeFile(file, 'x');
      const f = await reapbench(['run', '--out', file]);
      expect([f.exitCode, f.stderr.trim()]).toEqual([
        2,
        `reapbench: Cannot use results folder ${file}: ${file} is a file, not a folder; choose another with --out`,
      ]);
      // No engine: the run cannot start, and the folders --out named are not made.
      const deep = await reapbench(['run', '--inits', 'tini', '--out', path.join(base, 'x', 'deep', 'er')], {
        DOCKER_HOST: 'unix:///nonexistent/docker.sock',
      });
      expect(deep.exitCode).toBe(1);
      expect(await readdir(base)).toEqual(['afile']);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('refuses a results folder under /proc in one line, exit 2, instead of spinning', async () => {
    const r = await reapbench(['run', '--inits', 'tini', '--out', '/proc/1/x']);
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(
      'reapbench: Cannot use results folder /proc/1/x: it is on proc, a kernel pseudo-filesystem that holds no files; choose another with --out',
    );
  });

  it('a mistyped command is an unknown command (exit 2), not an argument of run', async () => {
    const r = await reapbench(['frobnicate']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('reapbench: Expected a command (run, merge, images, clean), got `frobnicate`; see reapbench --help');
    expect(r.stdout).toBe('');
  });

  it('a bare reapbench shows the help and exits 0 instead of starting a benchmark', async () => {
    const r = await reapbench([], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: reapbench \[options\] \[command\]/);
    for (const c of ['run', 'images', 'clean']) expect(r.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
  });

  it('prints help with every axis option', async () => {
    const r = await reapbench(['run', '--help']);
    expect(r.exitCode).toBe(0);
    for (const o of [
      '--inits',
      '--limits',
      '--rates',
      '--lifetime-ms',
      '--duration-s',
      '--repetitions',
      '--matrix',
      '--ci',
      '--baseline',
      '--scenario',
    ])
      expect(r.stdout).toContain(o);
    // The scenario list is complete (S1–S7 with their ids), so it does not end in an ellipsis.
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('S7 limit-exhaustion');
    expect(r.stdout).not.toContain('…');
  });
});
