/**
 * `reapbench clean --run <id>` against the real engine, with containers this test makes and
 * labels itself under two made-up run ids: only the named run's containers go, running ones
 * included; the other run's running container stays. (A plain `clean` is not run here: other
 * users' runs may share the engine; its choice of what to keep is tested in test/unit/clean.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUN_LABEL } from '../../src/runtime/cleanup.js';
import { docker, testImages } from '../support/engine.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/src/cli/main.js');
const target = randomBytes(6).toString('hex');
const bystander = randomBytes(6).toString('hex');

afterAll(async () => {
  const d = await docker();
  for (const run of [target, bystander]) {
    for (const c of await d.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run}`] } }))
      await d.getContainer(c.Id).remove({ force: true });
  }
});

describe('reapbench clean --run (engine)', () => {
  it("removes every container of the named run, and nothing of another run's", async () => {
    const d = await docker();
    const image = (await testImages()).app;
    const make = async (run: string, start: boolean) => {
      const c = await d.createContainer({ Image: image, Cmd: ['sleep', '600'], Labels: { [RUN_LABEL]: run } });
      if (start) await c.start();
      return c.id;
    };
    await make(target, true);
    await make(target, false);
    const kept = await make(bystander, true);

    const r = await execa(process.execPath, [cli, 'clean', '--run', target], { reject: false, timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toMatch(new RegExp(`^removed 2 containers and \\d+ parent cgroups? of run ${target}$`));
    expect(await d.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${target}`] } })).toEqual([]);
    const left = await d.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${bystander}`] } });
    expect(left.map((c) => [c.Id, c.State])).toEqual([[kept, 'running']]);
  });
});
