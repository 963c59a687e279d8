/**
 * `reapbench --help` stays light: printing usage must not load the engine client (dockerode,
 * which pulls in ssh2, gRPC and protobufjs). The built CLI runs under a tracer that records every
 * module file the process loads (test/support/module-trace.mjs); a control run that does import
 * dockerode shows that the tracer would see it.
 */
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { realpathSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
const tracer = path.join(root, 'test/support/module-trace.mjs');

/** Packages of the engine client; none of them may appear in a `--help` run. */
const ENGINE_CLIENT = /\/node_modules\/(dockerode|docker-modem|ssh2|@grpc\/[^/]+|protobufjs)\//;

/** Run `node --import tracer …args` and return its result and the module files it loaded (URLs). */
async function traced(args: string[]): Promise<{ exitCode: number | undefined; stdout: string; modules: string[] }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'reapbench-trace-'));
  const trace = path.join(dir, 'modules.txt');
  try {
    const r = await execa(process.execPath, ['--import', tracer, ...args], {
      reject: false,
      cwd: root,
      env: { CI: '', REAPBENCH_MODULE_TRACE: trace },
      timeout: 60_000,
    });
    const modules = [...new Set((await readFile(trace, 'utf8').catch(() => '')).split('\n').filter(Boolean))];
    return { exitCode: r.exitCode, stdout: r.stdout, modules };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('reapbench --help', () => {
  it('the tracer sees dockerode and its CommonJS dependencies when they are imported', async () => {
    const r = await traced(['--input-type=module', '-e', "await import('dockerode');"]);
    expect(r.exitCode).toBe(0);
    expect(r.modules.some((m) => /\/node_modules\/dockerode\//.test(m))).toBe(true);
    // ssh2 is reached through require() only: the CommonJS side of the tracer must catch it.
    expect(r.modules.some((m) => /\/node_modules\/ssh2\//.test(m))).toBe(true);
  });

  // `run --help` lists the scenario names, which must come without the scenario library.
  it.each([
    [['--help'], 'Usage: reapbench [options] [command]'],
    [['run', '--help'], 'killed-parent-tree'],
  ])('%j loads no engine client', async (args, shown) => {
    const r = await traced([cli, ...args]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(shown);
    // The loader records real paths: compare with the CLI's, in case the checkout is reached through a link.
    expect(r.modules).toContain(pathToFileURL(realpathSync(cli)).href);
    expect(r.modules.filter((m) => ENGINE_CLIENT.test(m))).toEqual([]);
  });
});
