/**
 * Run the scenario library × every init × the relevant variants against the real engine and
 * write `scenarios.md` and `scenarios.csv` into a folder (rewritten after every run, so a later
 * failure loses nothing), then print the markdown.
 *
 *   npm run build && node dist/bench/scenarios.js results/scenarios [--scenarios a,b] [--inits a,b] [--base-only]
 */
import { Command } from 'commander';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { parseInits } from '../src/run/inits.js';
import { ensureImages } from '../src/images/build.js';
import { connectEngine, engineInfo } from '../src/runtime/engine.js';
import { formatError } from '../src/errors.js';
import { planMatrix, renderMarkdown, runScenarioMatrix, toCsv, type ScenarioResult } from '../src/scenarios/index.js';

async function main(): Promise<void> {
  const program = new Command('scenarios')
    .argument('<out-dir>', 'folder for scenarios.md and scenarios.csv')
    .option('--scenarios <list>', 'comma-separated scenario names (default: all)')
    .option('--inits <list>', 'comma-separated inits (default: all)')
    .option('--base-only', 'only the plain variant of every init')
    .parse();
  const outDir = path.resolve(program.args[0]!);
  const o = program.opts<{ scenarios?: string; inits?: string; baseOnly?: boolean }>();
  // Check the output folder before anything runs.
  await mkdir(outDir, { recursive: true });
  await access(outDir, constants.W_OK);
  const docker = await connectEngine();
  const info = await engineInfo(docker);
  const images = await ensureImages(docker, { onProgress: (l) => process.stderr.write(`${l}\n`) });
  const options = {
    ...(o.scenarios ? { scenarios: o.scenarios.split(',').map((s) => s.trim()) } : {}),
    ...(o.inits ? { inits: parseInits(o.inits) } : {}),
    ...(o.baseOnly ? { baseOnly: true } : {}),
  };
  const total = planMatrix(options).length;
  const meta = {
    command: `node dist/bench/scenarios.js ${process.argv.slice(2).join(' ')}`,
    startedAt: new Date().toISOString(),
    image: `${images.app} (${images.baseMode} base)`,
    engine: `Docker ${info.serverVersion}, API ${info.apiVersion}, cgroup v${info.cgroupVersion}, kernel ${info.kernelVersion}, ${info.cpus} CPUs`,
  };
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const write = async (rs: ScenarioResult[]): Promise<void> => {
    await writeFile(path.join(outDir, 'scenarios.md'), renderMarkdown(rs, meta));
    await writeFile(path.join(outDir, 'scenarios.csv'), toCsv(rs));
  };
  const done: ScenarioResult[] = [];
  const t0 = Date.now();
  await runScenarioMatrix(docker, images.app, {
    ...options,
    signal: ac.signal,
    onResult: async (r, i) => {
      done.push(r);
      process.stderr.write(
        `[${i + 1}/${total}] ${r.id} ${r.scenario}${r.case ? `/${r.case}` : ''} × ${r.variant}: ${r.verdict}${r.matches === false ? '  ✗ unexpected' : ''}\n`,
      );
      await write(done);
    },
  });
  await write(done);
  process.stderr.write(`${done.length} runs in ${((Date.now() - t0) / 1000).toFixed(0)} s; reports in ${outDir}\n`);
  process.stdout.write(renderMarkdown(done, meta));
  if (ac.signal.aborted) process.exitCode = 130;
}

main().catch((err: unknown) => {
  process.stderr.write(`${formatError(err, Boolean(process.env.REAPBENCH_VERBOSE))}\n`);
  process.exitCode = (err as { exitCode?: number }).exitCode ?? 1;
});
