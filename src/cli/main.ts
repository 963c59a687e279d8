#!/usr/bin/env node
/**
 * `reapbench`: the command line. Parses options, then hands over to the run command (src/run/).
 * Errors a user can act on print one line (`reapbench: …`) and exit non-zero; `--verbose`
 * adds the stack and causes.
 */
import { Command, Option, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { asUsage, formatError, ReapbenchError, usageError } from '../errors.js';
import { checkChoice, parseErrorLine } from '../validate.js';
import { initChoices } from '../run/inits.js';
import { ciFromEnv, RUN_DEFAULTS, type RunCliOptions } from '../run/options.js';
import type { ImageCliOptions } from '../run/image-bench.js';
import type { MergeCliOptions } from '../run/merge.js';
// Only light modules at the top: `--help` must not load the engine client (dockerode and its
// ssh2/gRPC dependencies); the commands import what they need when they run.
import { scenarioChoices } from '../run/matrix.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function program(): Command {
  const cmd = new Command('reapbench')
    .description("Measure what zombie processes do to a container's PID table, and which PID 1 prevents it best.")
    .version(pkg.version)
    // Parser errors are not printed by commander: each command's exit override (below) turns
    // them into a usage error, printed by main in the one-line form of every other error.
    .configureOutput({ outputError: () => undefined });

  cmd
    // Not the default command: a bare `reapbench` shows help (see main) rather than starting a
    // benchmark of minutes, and a mistyped command is an unknown command, not an argument of run.
    .command('run')
    .description('run the benchmark matrix and write a report under results/<UTC timestamp>/')
    .addOption(new Option('--preset <name>', 'starting matrix: quick (default, < 2 min) or full (rate sweep, several limits)'))
    .option('--inits <list>', `PID 1 choices, comma-separated: ${initChoices()}; all: the six default ones; all-pid1: every one`)
    .option('--scenario <list>', `scenarios, comma-separated, or all: ${scenarioChoices()} (by id, any case, or name)`)
    .option('--limits <list>', 'pids limits (pids.max, tasks), comma-separated')
    .option('--rates <list>', 'target orphan rates per second, comma-separated')
    .option('--lifetime-ms <ms>', 'how long each orphan lives before it exits, ms')
    .option('--duration-s <s>', 'orphan production time per run, s')
    .option('--repetitions <n>', 'recorded repetitions of every cell')
    .option('--no-warmup', 'do not run (and discard) a warm-up run first')
    .option('--seed <n>', 'seed of the per-repetition order shuffle (reproduces an order)')
    .option('--run-timeout-s <s>', 'hard timeout of one container run, s')
    .option('--matrix <file>', 'read axes from a JSON or YAML file (command-line options win)')
    .option(
      '--shard <i/n>',
      'measure slice i of n of the matrix (whole configurations, every init of each; join the slices with reapbench merge)',
    )
    .addOption(
      new Option('--base <mode>', 'base image: auto, offline (assembled from this host) or registry (node:20-slim)')
        .argParser(baseMode)
        .default(RUN_DEFAULTS.base),
    )
    .option('--out <dir>', 'results root directory', RUN_DEFAULTS.out)
    .option('--ci', 'CI mode: no progress bar, JSON summary on stdout, report appended to $GITHUB_STEP_SUMMARY', ciFromEnv())
    .option(
      '--baseline <summary.csv>',
      'compare with a stored summary.csv; exit 1 on a regression, or when none of its configurations was measured (nothing compared)',
    )
    .option(
      '--p50-factor <x>',
      'with --baseline: a reap latency p50 worse by more than this factor is a regression',
      String(RUN_DEFAULTS.p50Factor),
    )
    .option('--export-bmf <file>', 'also write the load summary as Bencher Metric Format JSON, with the final report (trend tracking)')
    .option(
      '--export-benchmark-action <file>',
      "also write the load summary as github-action-benchmark's customSmallerIsBetter JSON, with the final report",
    )
    .option('--no-progress', 'hide the progress bar')
    .option('--no-pin', 'do not pin the watcher and the workload (PID 1, orphans) to different CPUs')
    .option(
      '--instrument <how>',
      "latency instrument: ebpf (kernel tracepoints, outside the container; root), pidfd (watcher inside the container), both, or auto (ebpf where it loads, else pidfd); with --image: auto, ebpf, or host (the host's /proc and pids cgroup, sampled)",
      RUN_DEFAULTS.instrument,
    )
    .option('-v, --verbose', 'print stack traces and engine build output', RUN_DEFAULTS.verbose)
    // Your own image (src/run/image-bench.ts): measured as it is and under each init.
    .option('--image <ref>', 'measure this image (in the engine; never pulled) as it is and under each init, instead of the synthetic load')
    .option('--entrypoint <argv>', "with --image: PID 1's entrypoint, a JSON array or a plain command (resets the image's cmd)")
    .option('--cmd <argv>', "with --image: PID 1's cmd, a JSON array or a plain command")
    .option('--exec-every <s>', 'with --image: exec the command given after -- inside the container every <s> seconds')
    .option(
      '--exec-timeout <s>',
      'with --exec-every: stop waiting for an exec after <s> seconds (it keeps running, as a timed-out probe does)',
    )
    .option('--stop-grace-s <s>', 'with --image: grace period of the docker stop at the end, s (default 10)')
    .option('--fail-on <list>', 'with --image: exit 1 when an init does any of leak, fork-failure, slow-stop (comma list)')
    .argument('[command...]', 'with --exec-every: the command to exec, after --')
    .option(
      '--engine <name>',
      "container engine: auto (DOCKER_HOST, CONTAINER_HOST, Docker's socket, Podman's, then as root the namespace runtime), docker, podman, or namespace (no engine: PID, mount and network namespaces and a pids cgroup; root)",
      'auto',
    )
    .action(async (command: string[], opts: RunCliOptions & ImageCliOptions & { engine: string }) => {
      (await import('../runtime/engine.js')).useEngine(opts.engine);
      if (opts.image !== undefined && opts.engine === 'namespace')
        throw usageError('`--image <ref>` runs your image, which needs a container engine: use --engine docker or --engine podman');
      if (opts.image !== undefined) {
        // An image bench is one configuration: there is nothing to split.
        if (opts.shard !== undefined) throw usageError('`--shard` splits the synthetic matrix; it does not go with --image');
        // The trend files hold the load summary, which an image bench does not make.
        for (const [given, name] of [
          [opts.exportBmf, '--export-bmf'],
          [opts.exportBenchmarkAction, '--export-benchmark-action'],
        ] as const)
          if (given !== undefined) throw usageError(`\`${name}\` exports the synthetic matrix's summary; it does not go with --image`);
        const { runImageBench } = await import('../run/image-bench.js');
        process.exitCode = await runImageBench(opts, command);
        return;
      }
      // The --image options mean nothing to the synthetic matrix: a CI job that gates with
      // --fail-on must not pass silently because --image was forgotten.
      for (const [given, name] of [
        [opts.entrypoint, '--entrypoint'],
        [opts.cmd, '--cmd'],
        [opts.execEvery, '--exec-every'],
        [opts.execTimeout, '--exec-timeout'],
        [opts.stopGraceS, '--stop-grace-s'],
        [opts.failOn, '--fail-on'],
      ] as const)
        if (given !== undefined)
          throw usageError(`\`${name}\` goes with --image <ref> (a user's image); the synthetic matrix has no use for it`);
      if (command.length > 0)
        throw usageError(`unexpected argument \`${command.join(' ')}\` (a command after -- goes with --image and --exec-every)`);
      const { runBench } = await import('../run/bench.js');
      process.exitCode = await runBench(opts);
    });

  cmd
    .command('merge')
    .description(
      'join the results folders of the shards of one matrix (run --shard i/n) into one results folder; a missing shard makes the report PARTIAL',
    )
    .argument('<dirs...>', 'results folders of the shards (each with its env.json; results/latest is followed)')
    .requiredOption('--out <dir>', 'the merged results folder (created; must not exist, or be empty)')
    .option('--ci', 'CI mode: JSON summary on stdout, report appended to $GITHUB_STEP_SUMMARY', ciFromEnv())
    .option(
      '--baseline <summary.csv>',
      'compare the merged summary with a stored summary.csv, as run does; exit 1 on a regression, or when nothing was compared',
    )
    .option(
      '--p50-factor <x>',
      'with --baseline: a reap latency p50 worse by more than this factor is a regression',
      String(RUN_DEFAULTS.p50Factor),
    )
    .option('--export-bmf <file>', 'also write the merged load summary as Bencher Metric Format JSON')
    .option(
      '--export-benchmark-action <file>',
      "also write the merged load summary as github-action-benchmark's customSmallerIsBetter JSON",
    )
    .option('-v, --verbose', 'print stack traces', RUN_DEFAULTS.verbose)
    .action(async (dirs: string[], opts: MergeCliOptions) => {
      const { runMerge } = await import('../run/merge.js');
      process.exitCode = await runMerge(dirs, opts);
    });

  cmd
    .command('images')
    .description('build (or reuse) the images and print their tags')
    .addOption(new Option('--base <mode>', 'base image: auto, offline or registry').argParser(baseMode).default('auto'))
    .option('-v, --verbose', 'print stack traces', false)
    .option(
      '--engine <name>',
      "container engine: auto (DOCKER_HOST, CONTAINER_HOST, Docker's socket, Podman's, then as root the namespace runtime), docker, podman, or namespace (no engine: PID, mount and network namespaces and a pids cgroup; root)",
      'auto',
    )
    .action(async (opts: { base: 'auto' | 'offline' | 'registry'; engine: string }) => {
      const { useEngine } = await import('../runtime/engine.js');
      useEngine(opts.engine);
      if (opts.engine === 'namespace') throw usageError('the namespace runtime runs no images: `images` needs --engine docker or podman');
      const { connectDockerRuntime } = await import('../runtime/docker.js');
      const { ensureImages } = await import('../images/build.js');
      const images = await ensureImages(await connectDockerRuntime(), {
        base: opts.base,
        onProgress: (l) => process.stderr.write(`${l}\n`),
      });
      process.stdout.write(`${JSON.stringify(images)}\n`);
    });

  cmd
    .command('clean')
    .description(
      'remove what reapbench runs left: with --run <id>, every container and parent cgroup of that run; ' +
        'without, stopped containers of any run (running ones, which may be measuring, only with --force)',
    )
    .option('--run <id>', "only this run's containers and cgroups (its id: env.json's run_id, or the hint after a second Ctrl-C)")
    .option('--force', 'without --run: remove running containers of other runs too')
    .option('-v, --verbose', 'print stack traces', false)
    .option(
      '--engine <name>',
      "container engine: auto (DOCKER_HOST, CONTAINER_HOST, Docker's socket, Podman's, then as root the namespace runtime), docker, podman, or namespace (no engine: PID, mount and network namespaces and a pids cgroup; root)",
      'auto',
    )
    .action(async (opts: { run?: string; force?: boolean; engine: string }) => {
      const { checkRunId } = await import('../runtime/cleanup.js');
      if (opts.run !== undefined) checkRunId(opts.run);
      const { useEngine } = await import('../runtime/engine.js');
      useEngine(opts.engine);
      const { connectRuntime } = await import('../runtime/connect.js');
      const { cleanSummary } = await import('../runtime/cleanup.js');
      const runId = opts.run ?? null;
      // Cleaning needs no image stand-in: nothing is run.
      const { runtime } = await connectRuntime(() => null);
      const result = await runtime.clean({ runId, force: opts.force === true });
      process.stdout.write(`${cleanSummary(result, runId)}\n`);
    });
  for (const c of [cmd, ...cmd.commands]) {
    const name = c === cmd ? 'reapbench' : `reapbench ${c.name()}`;
    c.exitOverride((err) => {
      // Help and --version end with 0 and are no error.
      if (err.exitCode === 0) throw err;
      throw usageError(
        parseErrorLine(
          err,
          name,
          cmd.commands.map((s) => s.name()),
        ),
      );
    });
  }
  return cmd;
}

/** The base image modes of `--base`. */
const BASE_MODES = ['auto', 'offline', 'registry'] as const;

/**
 * `--base`'s value, checked as it is parsed.
 * @throws ReapbenchError (exit 2) "Expected `--base` to be one of auto, offline, registry, got `x`".
 */
function baseMode(value: string): (typeof BASE_MODES)[number] {
  return asUsage(() => checkChoice('--base', value, BASE_MODES));
}

async function main(argv: string[]): Promise<void> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    // No command: the help, on stdout, exit 0 (commander would print it as an error, exit 1).
    if (argv.length <= 2) {
      program().outputHelp();
      return;
    }
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help or --version, already printed (parse errors arrive as usage errors: see program).
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`${formatError(err, verbose)}\n`);
    process.exitCode = err instanceof ReapbenchError ? err.exitCode : 1;
  }
}

await main(process.argv);
// The command is over: leave now, with the exit status it set. Requests to an engine that
// stopped answering (a wait, an attach stream) stay pending for ever and would otherwise keep
// the process alive after its last line. Writes to stdout and stderr are synchronous on Linux
// for files, pipes and terminals, so nothing printed is lost.
process.exit();
