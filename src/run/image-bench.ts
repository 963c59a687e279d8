/**
 * `reapbench run --image <ref>`: the user's image, as it is and under each PID 1 choice, measured
 * by the kernel instrument; the same results folder as the synthetic bench (runs.csv with
 * scenario `image`, summary.csv, report.md, charts) plus image.csv and a verdict per init in
 * report.md and on the terminal, and the `--fail-on` gate.
 *
 * Order of a run: every input checked (options, the kernel instrument, the image in the engine
 * and its architecture, how each init is injected into it) before the results folder exists;
 * then repetitions × limits × inits in canonical order; then the image id is read again (an
 * injection must leave it unchanged).
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ReapbenchError, usageError } from '../errors.js';
import {
  FAIL_ON,
  failOnLine,
  imageMarkdown,
  imageVerdicts,
  imageVerdictTable,
  serializeImageCsv,
  type FailOn,
} from '../export/image-md.js';
import type { ImageFacts } from '../model/image.js';
import { cleanUpOnInterrupt, interruptExitCode, onInterrupt, untilInterrupted } from './interrupt.js';
import { connectDockerRuntime } from '../runtime/docker.js';
import type { ContainerRuntime } from '../runtime/runtime.js';
import { createOutput } from '../terminal/output.js';
import { instrumentLine } from '../model/instrument.js';
import { tracerAvailability } from '../tracer/index.js';
import { checkNumber } from '../validate.js';
import { environmentRecord, remoteEngine } from './environment.js';
import { RUN_ID } from '../runtime/cleanup.js';
import { checkArchitecture, existingInit, injectionFor, injectionHost, inspectImage, parseArgv, resolveArgv } from './image-target.js';
import { HOST_SAMPLE_MS, runImageOnce, skippedFacts, type ExecWorkload, type ImageMethod } from './image-run.js';
import { resolveMatrix } from './matrix.js';
import type { PlannedRun } from './matrix.js';
import type { RunCliOptions } from './options.js';
import { overridesFromCli } from './request.js';
import { prepareResultsDir } from './results-dir.js';
import { RunResults } from './results.js';

/** The options `--image` adds to `reapbench run` (strings until validated). */
export interface ImageCliOptions {
  /** Image reference (tag or id) in the engine. */
  image?: string;
  /** PID 1's entrypoint: JSON argv or a plain command; resets the image's cmd. */
  entrypoint?: string;
  /** PID 1's cmd: JSON argv or a plain command. */
  cmd?: string;
  /** `--exec-every <s>` (`2` or `2s`). */
  execEvery?: string;
  /** `--exec-timeout <s>`. */
  execTimeout?: string;
  /** `docker stop` grace period, s. */
  stopGraceS?: string;
  /** Comma list of {@link FAIL_ON}. */
  failOn?: string;
}

/** `2`, `2s`, `0.5s` → seconds. @throws ReapbenchError exit 2. */
function seconds(option: string, v: string): number {
  return checkNumber(option, v.trim().replace(/s$/, ''), { minExclusive: 0, max: 3_600 });
}

/** `--fail-on`'s list. @throws ReapbenchError exit 2 for an unknown name. */
export function parseFailOn(v: string | undefined): FailOn[] {
  if (v === undefined) return [];
  const names = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const n of names)
    if (!(FAIL_ON as readonly string[]).includes(n))
      throw usageError(`Expected \`--fail-on\` to be a comma list of ${FAIL_ON.join(', ')}, got \`${n}\``);
  return names as FailOn[];
}

/** The periodic exec from the options and the argv after `--`; null without `--exec-every`. @throws ReapbenchError exit 2. */
export function parseExec(o: ImageCliOptions, argv: readonly string[]): ExecWorkload | null {
  if (o.execEvery === undefined) {
    if (argv.length > 0) throw usageError(`a command after \`--\` needs \`--exec-every <s>\`, got \`${argv.join(' ')}\``);
    if (o.execTimeout !== undefined) throw usageError('`--exec-timeout` needs `--exec-every <s>`');
    return null;
  }
  if (argv.length === 0) throw usageError("`--exec-every` needs the command to run after `--` (e.g. -- sh -c '…')");
  return {
    argv: [...argv],
    everyS: seconds('exec-every', o.execEvery),
    timeoutS: o.execTimeout === undefined ? null : seconds('exec-timeout', o.execTimeout),
  };
}

/**
 * Run the image as the CLI asked.
 * @returns the exit code: 0 done; 1 `--fail-on` matched, or no run completed; 130/143 interrupted.
 * @throws ReapbenchError exit 2 for bad input (options, an image the engine does not have, one
 *   built for another architecture, an exec'd command that cannot start), exit 1 for the
 *   environment (no kernel instrument, no engine).
 */
export async function runImageBench(o: Partial<RunCliOptions> & ImageCliOptions, execArgv: readonly string[]): Promise<number> {
  const ref = o.image!;
  const matrix = resolveMatrix(overridesFromCli(o as RunCliOptions));
  const exec = parseExec(o, execArgv);
  const failOn = parseFailOn(o.failOn);
  const stopGraceS = o.stopGraceS === undefined ? 10 : checkNumber('stop-grace-s', o.stopGraceS, { integer: true, min: 0, max: 600 });
  const over = {
    ...(o.entrypoint !== undefined ? { entrypoint: parseArgv('entrypoint', o.entrypoint) } : {}),
    ...(o.cmd !== undefined ? { cmd: parseArgv('cmd', o.cmd) } : {}),
  };
  const requested = o.instrument ?? 'auto';
  const avail = requested === 'host' ? null : tracerAvailability();
  const { method, reason: methodReason } = chooseImageMethod(requested, avail);
  // From here on an interrupt is ours to handle: during the checks below it ends the command with
  // one line, before any folder or container exists.
  const controller = new AbortController();
  const unregister = onInterrupt(() => controller.abort());
  // Once connected, an interrupt also removes what the runtime made for this run.
  let release = (): void => undefined;
  try {
    return await measureImage(o, controller, { ref, matrix, exec, failOn, stopGraceS, over, requested, method, methodReason }, (rt) => {
      release = cleanUpOnInterrupt(rt);
    });
  } finally {
    unregister();
    release();
  }
}

/** What {@link runImageBench} checked of the command line, for {@link measureImage}. */
interface ImageCommand {
  ref: string;
  matrix: ReturnType<typeof resolveMatrix>;
  exec: ExecWorkload | null;
  failOn: FailOn[];
  stopGraceS: number;
  over: { entrypoint?: string[]; cmd?: string[] };
  requested: string;
  method: ImageMethod;
  methodReason: string | null;
}

/**
 * The engine checks, then the runs, then the files (module doc).
 * @returns the exit code of {@link runImageBench}.
 * @throws ReapbenchError as {@link runImageBench}; exit 130 when interrupted before a run ended.
 */
async function measureImage(
  o: Partial<RunCliOptions> & ImageCliOptions,
  controller: AbortController,
  c: ImageCommand,
  connected: (runtime: ContainerRuntime) => void,
): Promise<number> {
  const { ref, matrix, exec, failOn, stopGraceS, over, requested, method, methodReason } = c;
  const notYet = (): void => {
    if (controller.signal.aborted)
      throw new ReapbenchError('interrupted before the first run ended; nothing was measured', { exitCode: interruptExitCode() });
  };
  // Each engine request gives way to an interrupt: an engine that hangs must not hold Ctrl-C.
  const runtime = await untilInterrupted(connectDockerRuntime(), controller.signal);
  connected(runtime);
  const remote = remoteEngine(await untilInterrupted(runtime.info(), controller.signal));
  // Both methods read this host's kernel (its events or its /proc): a container elsewhere is out of sight.
  if (remote)
    throw new ReapbenchError(`reapbench run --image measures from this host, which cannot see this engine's containers: ${remote}`);
  const info = await untilInterrupted(inspectImage(runtime, ref), controller.signal);
  checkArchitecture(info);
  const argv = resolveArgv(info, over);
  const has = existingInit(argv);
  // The host's files for each init (ldd of the dynamic ones) are looked up once; whether each
  // works in this image (its user, its environment) is decided per init.
  const host = await injectionHost(matrix.inits);
  const injections = new Map(matrix.inits.map((i) => [i, injectionFor(i, argv, host, info)]));

  notYet();
  const dir = await prepareResultsDir(path.resolve(o.out ?? 'results'));
  const out = createOutput({ progress: (o.progress ?? true) && !o.ci });
  try {
    const engine = await untilInterrupted(runtime.info(), controller.signal);
    const env = await environmentRecord(
      engine,
      { image: ref, image_id: info.id, base_mode: 'user image', base_reason: 'reapbench run --image' },
      { ...matrix, image: ref, pid1_argv: argv, exec, stop_grace_s: stopGraceS },
      { requested, used: method, reason: methodReason },
    );
    const plan: PlannedRun[] = [];
    for (let rep = 0; rep < matrix.repetitions; rep++)
      for (const limit of matrix.limits)
        matrix.inits.forEach((init, order) =>
          plan.push({
            init,
            scenario: 'image',
            pids_limit: limit,
            rate_per_s: 0,
            lifetime_ms: 0,
            duration_s: matrix.duration_s,
            repetition: rep,
            order,
          }),
        );
    const planned = plan.filter((r) => !('skipped' in injections.get(r.init)!)).length;
    // The run id first, as `reapbench run` prints it: every container carries it, and it is what
    // `reapbench clean --run` takes.
    out.line(
      `reapbench: run ${RUN_ID}: image ${ref} (${info.id.slice(0, 19)}), PID 1 ${JSON.stringify(argv)}${has ? ` (already has ${has})` : ''}; ${planned} runs (${matrix.inits.join(', ')}; limits ${matrix.limits.join(',')}; ${matrix.duration_s} s each, then docker stop -t ${stopGraceS}), results in ${dir}`,
    );
    out.line(`reapbench: ${instrumentLine(env.instrument)}`);
    if (methodReason) out.line(`reapbench: ${methodReason}`);
    const results = new RunResults(dir, planned, env, out, controller.signal);
    const facts: ImageFacts[] = [];
    const note = has ? `already has ${has}` : null;
    const meta = {
      image: ref,
      idBefore: info.id,
      idAfter: null as string | null,
      argv,
      exec: exec && describeExec(exec),
      durationS: matrix.duration_s,
      stopGraceS,
      method,
      methodReason,
    };
    const save = async (final: boolean): Promise<void> => {
      await results.save(final);
      await writeImageFiles(dir, imageMarkdown(meta, imageVerdicts(facts, note), facts), serializeImageCsv(facts));
    };
    out.start(planned);
    let done = 0;
    try {
      for (const run of plan) {
        if (controller.signal.aborted) break;
        const inj = injections.get(run.init)!;
        if ('skipped' in inj) {
          facts.push(skippedFacts(run, inj.skipped));
          continue;
        }
        // Repetitions from 0, as in runs.csv and image.csv, so that a progress line finds its row.
        const label = `${run.init} L${run.pids_limit} rep ${run.repetition}`;
        out.update(label, done, planned);
        const r = await runImageOnce(
          { method, runtime, image: ref, stopGraceS, exec, runTimeoutS: matrix.duration_s + stopGraceS + 60, signal: controller.signal },
          run,
          inj,
        ).catch((err: unknown) => {
          // After an interrupt the interrupt is why the run ended: what failed while it was torn
          // down (an engine that hangs stops answering) is said, the exit status stays the signal's.
          if (!controller.signal.aborted || !(err instanceof ReapbenchError)) throw err;
          out.line(`reapbench: ${err.message}`);
          return null;
        });
        // A run the interrupt cut measured nothing: it is left out, as the runs that never started.
        if (r === null || controller.signal.aborted) break;
        facts.push(run.init === 'none' && note && r.facts.status === 'ran' ? { ...r.facts, reason: note } : r.facts);
        results.records.push(r.record);
        // This run's verdict alone, in the words of the verdict table.
        const outcome = imageVerdicts([r.facts])[0]!.verdict;
        out.finished({ label, index: done, total: planned, outcome, notable: r.facts.status === 'failed' });
        done++;
        await save(false);
        if (r.facts.exec_not_found > 0 && r.facts.execs === r.facts.exec_not_found)
          throw usageError(
            `--exec-every: \`${exec!.argv.join(' ')}\` could not be started in ${ref}: ${r.facts.exec_error ?? 'not found'}`,
          );
      }
    } finally {
      out.stop();
    }
    if (controller.signal.aborted && results.empty)
      throw new ReapbenchError('interrupted before the first run ended; nothing was measured', { exitCode: interruptExitCode() });
    meta.idAfter = (await inspectImage(runtime, ref).catch(() => null))?.id ?? null;
    await save(true);
    const verdicts = imageVerdicts(facts, note);
    if (o.ci)
      process.stdout.write(
        `${JSON.stringify({ results: dir, partial: controller.signal.aborted, image: { ref, id: info.id, unchanged: meta.idAfter === info.id }, verdicts })}\n`,
      );
    else process.stdout.write(`\n${imageVerdictTable(verdicts, method)}\n\nreport: ${path.join(dir, 'report.md')}\n`);
    if (controller.signal.aborted) {
      out.line(`reapbench: interrupted; partial report in ${dir}`);
      return interruptExitCode();
    }
    if (meta.idAfter !== null && meta.idAfter !== info.id)
      out.line(`reapbench: warning: image ${ref} changed during the run (${info.id} → ${meta.idAfter})`);
    const ran = facts.filter((f) => f.status !== 'skipped');
    if (ran.length > 0 && ran.every((f) => f.status === 'failed')) {
      out.line(`reapbench: every run failed (first reason: ${ran[0]!.reason ?? 'unknown'}); see ${path.join(dir, 'report.md')}`);
      return 1;
    }
    const gate = failOnLine(verdicts, failOn);
    if (gate) {
      out.line(`reapbench: ${gate}`);
      return 1;
    }
    return 0;
  } catch (err) {
    if (!existsSync(path.join(dir, 'runs.csv'))) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * How `--image` runs are measured: `--instrument host` asks for the host's readings; `ebpf` needs
 * the kernel instrument; `auto` takes it where it loads, else the host's readings with the reason.
 * @param requested `--instrument` as given (undefined: auto).
 * @param avail the kernel instrument's availability (null when not checked: `host` asked).
 * @returns the method, and why it is not `ebpf` when the user did not ask for that (one line) or null.
 * @throws ReapbenchError exit 2 for another `--instrument`; exit 1 for `ebpf` where it cannot load.
 */
export function chooseImageMethod(
  requested: string,
  avail: { available: true } | { available: false; reason: string } | null,
): { method: ImageMethod; reason: string | null } {
  if (requested !== 'auto' && requested !== 'ebpf' && requested !== 'host')
    throw usageError(
      `\`--image\` measures with the kernel instrument or the host's readings (--instrument auto, ebpf or host), got \`${requested}\``,
    );
  if (requested === 'host' || avail === null) return { method: 'host', reason: null };
  if (avail.available) return { method: 'ebpf', reason: null };
  if (requested === 'ebpf')
    throw new ReapbenchError(
      `--instrument ebpf: the kernel instrument is unavailable here: ${avail.reason}; --instrument host reads the host's /proc instead`,
    );
  return {
    method: 'host',
    reason: `the kernel instrument is unavailable (${avail.reason}); zombies and fork failures are read from the host's /proc and pids cgroup every ${HOST_SAMPLE_MS} ms, lower bounds`,
  };
}

/** `--exec-every` in words for the report. */
function describeExec(e: ExecWorkload): string {
  return `\`${e.argv.join(' ')}\` exec'd every ${e.everyS} s${e.timeoutS === null ? '' : ` (given up after ${e.timeoutS} s, the process left running)`}`;
}

/**
 * image.csv, and the image section put into report.md after its title (report.md is rewritten
 * by every save, so the section is put back each time). Each file is written to a temporary
 * name and renamed, as the results writer does.
 */
async function writeImageFiles(dir: string, section: string, csv: string): Promise<void> {
  const put = async (name: string, text: string): Promise<void> => {
    const tmp = path.join(dir, `.${name}.tmp`);
    await writeFile(tmp, text);
    await rename(tmp, path.join(dir, name));
  };
  await put('image.csv', csv);
  const report = path.join(dir, 'report.md');
  const md = existsSync(report) ? await readFile(report, 'utf8') : '# reapbench report\n';
  const at = md.indexOf('\n') + 1;
  await put('report.md', `${md.slice(0, at)}\n${section}\n${md.slice(at)}`);
}
