/**
 * Command line of the load generator: parsed with commander, normalized and validated in one
 * place, one small validator per option with one message template.
 */
import { Command, CommanderError, Option } from 'commander';
import path from 'node:path';
import { locatePidsCgroup, pidsCgroupAt, type PidsCgroup } from '../procfs/pids-cgroup.js';
import type { LoadgenOptionsRecord } from './types.js';
import { checkNumber, expected, parseErrorLine, UsageError } from '../validate.js';

// A user error: printed as one line, exit status 2, no stack trace (the one class of all three programs).
export { UsageError } from '../validate.js';

/** Validated options (units in the names). */
export interface LoadgenOptions {
  /** Target orphans per second; null: as fast as possible. */
  ratePerS: number | null;
  /** Orphan lifetime, ms (≥ 0). */
  lifetimeMs: number;
  /** Orphans per intermediate, 1–64. */
  batch: number;
  /** Intermediates allowed at once, 1–64. */
  inflight: number;
  /** Total orphans, null: unlimited (then durationS is required). */
  count: number | null;
  /** Production time limit, s; null: unlimited (then count is required). */
  durationS: number | null;
  afterFailure: 'stop' | 'continue';
  /** Production continues this long after the first failure (with stop), ms. */
  graceMs: number;
  /** Wait after production for orphans to exit and be reaped, ms. */
  drainMs: number;
  /** Sample rate, Hz. */
  sampleHz: number;
  /** Run the /proc zombie scan every n-th sample. */
  scanEvery: number;
  /** fork+exit+wait reference loop length, ms (0: skip). */
  forkloopMs: number;
  watchMethod: 'auto' | 'hup' | 'poll';
  /** ESRCH probe interval for the poll method, µs. */
  pollIntervalUs: number;
  /** Nice value of the watcher thread (0: unchanged). */
  watcherNice: number;
  /** SCHED_FIFO priority of the watcher thread, 1–99 (0: ordinary scheduling). */
  watcherRtPriority: number;
  /** The watcher polls its epoll set without sleeping (one CPU kept busy), so that no instant it
   * takes carries a wake-up from idle; for agreement runs with the watcher pinned to its own CPU. */
  watcherSpin: boolean;
  /** CPU pinning, or null: the observer (main thread + watcher) on `observerCpu`; PID 1, the
   * helper and so every orphan on `workloadCpu`, so that a busy workload cannot starve the
   * watcher (measured on 2 cores: a starved watcher sees exit and reap in one wake-up and
   * reads the latency as 0). */
  pin: { observerCpu: number; workloadCpu: number } | null;
  /** Results file (absolute). */
  out: string;
  /** pids cgroup directory override, or null: detect. */
  cgroupDir: string | null;
  /** Run without cgroup samples (pids fields null). */
  noCgroup: boolean;
  /** Refuse to start when rate × lifetime cannot fit the pids budget. */
  checkBudget: boolean;
}

/**
 * Parse and validate `argv` (without `node` and the script). The environment variable
 * `REAPBENCH_PIDS_CGROUP` is a default for `--cgroup-dir`.
 * @throws UsageError on any invalid or missing option (message fit for one terminal line).
 */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): LoadgenOptions {
  const program = new Command('loadgen')
    .description('Make orphans at a controlled rate and measure what PID 1 does with them.')
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: (s) => process.stdout.write(s) })
    .option('--rate <n>', 'target orphans per second, or "max"', '1000')
    .option('--lifetime-ms <ms>', 'how long each orphan lives before exiting', '2')
    .option('--batch <n>', 'orphans per intermediate process (1–64)', '1')
    .option('--inflight <n>', 'intermediate processes allowed to run at once (1–64)', '1')
    .option('--count <n>', 'total orphans to attempt (failed forks count too)')
    .option('--duration-s <s>', 'production time limit')
    .addOption(new Option('--after-failure <what>', 'after the first fork failure').choices(['stop', 'continue']).default('stop'))
    .option('--grace-ms <ms>', 'with --after-failure stop: keep producing this long', '500')
    .option('--drain-ms <ms>', 'after production, wait this long at most for exits and reaps', '2000')
    .option('--sample-hz <hz>', 'sample rate', '50')
    // A scan reads /proc/<pid>/stat of every process: ~10–40 µs each here, i.e. 1–13 ms with a
    // few hundred zombies. At 50 Hz that is up to half a core taken from the init under test,
    // so by default it runs at 1/5 of the sample rate (10 Hz).
    .option('--scan-every <n>', 'run the /proc zombie scan on every n-th sample', '5')
    .option('--forkloop-ms <ms>', 'length of the fork+exit+wait reference loop (0: skip)', '250')
    .addOption(new Option('--watch-method <m>', 'latency method').choices(['auto', 'hup', 'poll']).default('auto'))
    .option('--poll-interval-us <us>', 'ESRCH probe interval of the poll method', '1000')
    .option('--watcher-nice <n>', 'nice value of the watcher thread only (-20…19; 0: unchanged)', '0')
    .option('--watcher-rt <prio>', 'run the watcher thread SCHED_FIFO at this priority (1–99; 0: off)', '0')
    .option('--watcher-spin', 'the watcher polls without sleeping (keeps one CPU busy; use with --pin)')
    .option('--pin <obs:work>', 'pin the observer (main thread, watcher) to CPU obs and PID 1 + helper + orphans to CPU work, e.g. 0:1')
    .option('--cgroup-dir <dir>', 'pids cgroup directory (default: detected; env REAPBENCH_PIDS_CGROUP)')
    .option('--no-cgroup', 'do not read a pids cgroup (pids fields null)')
    .option('--no-check-budget', 'start even when rate × lifetime cannot fit pids.max')
    .requiredOption('--out <file>', 'results file (NDJSON)')
    .allowExcessArguments(false);
  try {
    program.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') throw err;
      throw new UsageError(parseErrorLine(err, 'loadgen', []));
    }
    throw err;
  }
  const o = program.opts<Record<string, string | boolean | undefined>>();
  const s = (k: string): string => String(o[k]);

  const ratePerS = s('rate') === 'max' ? null : checkNumber('--rate', s('rate'), { minExclusive: 0 });
  const lifetimeMs = checkNumber('--lifetime-ms', s('lifetimeMs'), { min: 0 });
  const batch = checkNumber('--batch', s('batch'), { integer: true, min: 1, max: 64 });
  const inflight = checkNumber('--inflight', s('inflight'), { integer: true, min: 1, max: 64 });
  const count = o.count === undefined ? null : checkNumber('--count', s('count'), { integer: true, min: 1, max: 10_000_000 });
  const durationS = o.durationS === undefined ? null : checkNumber('--duration-s', s('durationS'), { minExclusive: 0 });
  if (count === null && durationS === null) throw new UsageError('Expected `--count` or `--duration-s` (or both), got neither');
  const sampleHz = checkNumber('--sample-hz', s('sampleHz'), { minExclusive: 0, max: 1000 });
  const out = s('out');
  if (out.trim() === '') throw expected('--out', 'a file path', out);
  const cgroupDir = typeof o.cgroupDir === 'string' ? o.cgroupDir : (env.REAPBENCH_PIDS_CGROUP ?? null);
  return {
    ratePerS,
    lifetimeMs,
    batch,
    inflight,
    count,
    durationS,
    afterFailure: s('afterFailure') as 'stop' | 'continue',
    graceMs: checkNumber('--grace-ms', s('graceMs'), { min: 0 }),
    drainMs: checkNumber('--drain-ms', s('drainMs'), { min: 0 }),
    sampleHz,
    scanEvery: checkNumber('--scan-every', s('scanEvery'), { integer: true, min: 1, max: 1_000_000 }),
    forkloopMs: checkNumber('--forkloop-ms', s('forkloopMs'), { min: 0 }),
    watchMethod: s('watchMethod') as 'auto' | 'hup' | 'poll',
    pollIntervalUs: checkNumber('--poll-interval-us', s('pollIntervalUs'), { integer: true, min: 100, max: 1_000_000 }),
    watcherNice: checkNumber('--watcher-nice', s('watcherNice'), { integer: true, min: -20, max: 19 }),
    watcherRtPriority: checkNumber('--watcher-rt', s('watcherRt'), { integer: true, min: 0, max: 99 }),
    watcherSpin: o.watcherSpin === true,
    pin: parsePin(o.pin),
    out: path.resolve(out),
    cgroupDir: o.cgroup === false ? null : cgroupDir,
    noCgroup: o.cgroup === false,
    checkBudget: o.checkBudget !== false,
  };
}

/** Parse `--pin OBS:WORK` (two different CPU numbers). */
function parsePin(v: unknown): LoadgenOptions['pin'] {
  if (v === undefined || v === null || v === false) return null;
  const m = /^(\d{1,4}):(\d{1,4})$/.exec(String(v));
  if (!m || m[1] === m[2]) throw expected('--pin', 'two different CPU numbers as OBS:WORK (e.g. 0:1)', String(v));
  return { observerCpu: Number(m[1]), workloadCpu: Number(m[2]) };
}

/** The options as written to the results file. */
export function optionsRecord(o: LoadgenOptions): LoadgenOptionsRecord {
  return {
    rate_per_s: o.ratePerS,
    lifetime_ms: o.lifetimeMs,
    batch: o.batch,
    inflight: o.inflight,
    count: o.count,
    duration_s: o.durationS,
    after_failure: o.afterFailure,
    grace_ms: o.graceMs,
    drain_ms: o.drainMs,
    sample_hz: o.sampleHz,
    scan_every: o.scanEvery,
    forkloop_ms: o.forkloopMs,
    watch_method: o.watchMethod,
    poll_interval_us: o.pollIntervalUs,
    watcher_nice: o.watcherNice,
    watcher_rt_priority: o.watcherRtPriority,
    watcher_spin: o.watcherSpin,
    pin: o.pin === null ? null : `${o.pin.observerCpu}:${o.pin.workloadCpu}`,
    out: o.out,
  };
}

/**
 * The pids cgroup the load generator reads, as the options say: none with `--no-cgroup`, the
 * `--cgroup-dir` (or `REAPBENCH_PIDS_CGROUP`) directory when given, else this process's own
 * (procfs/pids-cgroup.ts).
 * @throws UsageError when the given directory has no pids.current, or none is found.
 */
export function resolvePidsCgroup(o: Pick<LoadgenOptions, 'cgroupDir' | 'noCgroup'>): PidsCgroup | null {
  if (o.noCgroup) return null;
  if (o.cgroupDir !== null) {
    const cg = pidsCgroupAt(o.cgroupDir);
    if (!cg) throw new UsageError(`Expected \`--cgroup-dir\` to contain pids.current, got \`${o.cgroupDir}\``);
    return cg;
  }
  const { cgroup, tried } = locatePidsCgroup();
  if (cgroup) return cgroup;
  throw new UsageError(
    `No pids cgroup files found (tried: ${tried.join(', ') || 'no pids cgroup mount found'}); pass --cgroup-dir <dir>, set REAPBENCH_PIDS_CGROUP, or run with --no-cgroup`,
  );
}
