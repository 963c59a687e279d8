/**
 * Entry point of the load generator (bundled as dist/loadgen.mjs; runs inside the container as
 * the workload, or as PID 1 for "no init").
 *
 *   node dist/loadgen.mjs --rate 1000 --lifetime-ms 2 --count 5000 --out /results/x.ndjson
 *
 * Exit status: 0 run completed (the summary says what happened, fork failures included);
 * 2 bad input or an unusable environment (one line on stderr, no results file under the final
 * name); 1 the instrument itself failed (a `.partial` file, or a summary with `state: "failed"`); 128+signal when aborted by SIGTERM/SIGINT (the file then
 * has a summary with `state: "aborted"`).
 */
import { CommanderError } from 'commander';
import { parseOptions, UsageError, type LoadgenOptions } from './options.js';
import { NdjsonWriter } from './output.js';
import { runLoadgen, type AbortSwitch } from './run.js';

function fail(code: number, message: string): never {
  process.stderr.write(`loadgen: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let opts: LoadgenOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    if (err instanceof CommanderError) process.exit(0); // --help
    fail(2, (err as Error).message);
  }

  let out: NdjsonWriter;
  try {
    out = new NdjsonWriter(opts.out);
  } catch (err) {
    fail(2, `cannot create the results file ${opts.out}.partial: ${(err as Error).message}`);
  }

  // The kernel drops default-action signals sent to a PID namespace's init (kernel/signal.c,
  // sig_task_ignored with SIGNAL_UNKILLABLE): a PID 1 without a handler ignores SIGTERM/SIGINT. Always install
  // one, so that `docker stop` and Ctrl-C end the run with a summary.
  const abort: AbortSwitch = { aborted: false, onAbort: null };
  let signal = 0;
  for (const [name, num] of [
    ['SIGTERM', 15],
    ['SIGINT', 2],
  ] as const) {
    process.on(name, () => {
      if (abort.aborted) return;
      abort.aborted = true;
      signal = num;
      abort.onAbort?.();
    });
  }

  try {
    const summary = await runLoadgen(opts, out, abort);
    out.write(summary);
    out.commit();
    process.stdout.write(JSON.stringify(summary) + '\n');
    process.exit(signal ? 128 + signal : summary.state === 'failed' ? 1 : 0);
  } catch (err) {
    if (err instanceof UsageError) {
      out.discard(); // refused before production: nothing worth keeping
      fail(2, err.message);
    }
    out.abandon();
    // One line; the stack only on request (LOADGEN_DEBUG=1).
    const debug = process.env.LOADGEN_DEBUG === '1' && err instanceof Error ? `\n${err.stack}` : '';
    fail(1, `internal error: ${err instanceof Error ? err.message : String(err)} (results so far in ${out.partialPath})${debug}`);
  }
}

await main();
