/**
 * ts-reaper's options: command line (commander) and environment variables, normalized in one
 * place into {@link ReaperOptions}. One validator per option, one message template:
 * "Expected `--grace-ms` to be …, got `x`". The command line wins over the environment.
 *
 * Start-up: commander is imported only when the command line has options (it costs ~9 ms of
 * module evaluation and parsing here, a quarter of ts-reaper's own start-up). The usual
 * container form `ts-reaper -- cmd …` or `ts-reaper cmd …` needs no parser: everything after
 * `--`, or from the first word that is not an option, is the command.
 */
import type { Command } from 'commander';
import { FORWARDED_SIGNALS, GLIBC_INTERNAL, REWRITABLE, UNFORWARDABLE, parseSignal } from './signals.js';
import { expected, parseErrorLine, UsageError } from '../validate.js';
import type { LogFormat } from './log.js';

/** What to do with descendants that are still alive when the main child has exited. */
export type ShutdownMode = 'none' | 'group' | 'all';

/** Whether to register as a child subreaper when ts-reaper is not PID 1. */
export type SubreaperMode =
  /** Register when not PID 1; warn on failure (default). */
  | 'auto'
  /** Register when not PID 1; failure is fatal (`-s`, `TS_REAPER_SUBREAPER=1`). */
  | 'require'
  /** Never register (`--no-subreaper`, `TS_REAPER_SUBREAPER=0`); warns when not PID 1. */
  | 'off';

/** Normalized options of one ts-reaper run. */
export interface ReaperOptions {
  /** The command and its arguments (`argv[0]` is searched in `PATH`). Never empty. */
  command: string[];
  /** Subreaper registration policy. */
  subreaper: SubreaperMode;
  /**
   * Send forwarded signals to the child's whole process group instead of the child alone (the
   * child always leads a group of its own: main.ts).
   */
  pgroup: boolean;
  /** Signal rewrites applied before forwarding: received number → sent number (0: drop). */
  rewrite: Map<number, number>;
  /** Exit codes of the main child (after the 128+signal mapping) that ts-reaper turns into 0. */
  remapExit: Set<number>;
  /**
   * Also send every forwarded signal (after the rewrites) to the adopted processes: ts-reaper's
   * children other than the command, orphans re-parented to it (adopted.ts).
   */
  signalAdopted: boolean;
  /** Shutdown of the remaining descendants after the main child exits. */
  shutdown: ShutdownMode;
  /** Time to wait after SIGTERM before SIGKILL in a shutdown, milliseconds (≥ 0). */
  graceMs: number;
  /** Log each reaped pid, forwarded signal and the shutdown steps on stderr. */
  verbose: boolean;
  /** Format of ts-reaper's lines on stderr: `text` (default) or `json`, one object per line (log.ts). */
  logFormat: LogFormat;
  /** Number of inherited fds after stdio (3 … 3+n−1) passed on to the child. */
  preserveFds: number;
  /** Nice value for the wait thread only (−20…19; 0: unchanged). Negative needs CAP_SYS_NICE. */
  waitNice: number;
  /**
   * EEVDF slice requested for the wait thread, µs (100–100000; 0: the kernel's default). Short
   * slices let the thread preempt a CPU-bound task when it wakes; needs no capability (Linux ≥
   * 6.12 honours it, older kernels ignore it). Default {@link DEFAULT_WAIT_SLICE_US}.
   */
  waitSliceUs: number;
  /** True when the slice was given (`--wait-slice-us` or its variable): failing to set it warns. */
  waitSliceExplicit: boolean;
}

// A usage error: printed as one line on stderr, exit status 2 (the one class of all three programs).
export { UsageError } from '../validate.js';

/** The outcome of {@link parseOptions}: options to run with, or text to print and an exit code. */
export type ParseResult = { kind: 'run'; options: ReaperOptions } | { kind: 'exit'; code: number; stdout: string };

/**
 * package.json's version, put in place of this name by scripts/build.mjs when it bundles
 * ts-reaper (esbuild `define`); not declared at run time anywhere else.
 */
declare const __TS_REAPER_VERSION__: string | undefined;

/**
 * ts-reaper's version, as `--version` prints it: package.json's at build time, embedded in the
 * bundle (no file is read at run time: an image holds the bundle alone). The tsc output and
 * the sources under test, which esbuild never saw, say `unknown`.
 */
export const VERSION: string =
  typeof __TS_REAPER_VERSION__ === 'string' ? __TS_REAPER_VERSION__ : 'unknown (not bundled by scripts/build.mjs)';

/** Default grace period between SIGTERM and SIGKILL in a shutdown, milliseconds. */
export const DEFAULT_GRACE_MS = 5000;

/**
 * Default EEVDF slice of the wait thread, µs: the kernel's minimum (0.1 ms, `kernel/sched/
 * syscalls.c`). The thread runs a few tens of µs per wake-up, so it never uses a whole slice;
 * measured with `npm run bench:reaper -- --contend` (README, "ts-reaper").
 */
export const DEFAULT_WAIT_SLICE_US = 100;

const ENV_HELP = `
Environment variables (the command line wins):
  TS_REAPER_SUBREAPER=1|0    like -s / --no-subreaper
  TS_REAPER_PGROUP=1         like -g
  TS_REAPER_VERBOSE=1        like -v
  TS_REAPER_LOG_FORMAT=text|json         like --log-format
  TS_REAPER_REWRITE=SIG:SIG[,SIG:SIG…]   like -r, comma-separated
  TS_REAPER_REMAP_EXIT=CODE[,CODE…]      like -e, comma-separated
  TS_REAPER_SIGNAL_ADOPTED=1 like --signal-adopted
  TS_REAPER_SHUTDOWN=none|group|all      like --shutdown
  TS_REAPER_GRACE_MS=MS      like --grace-ms
  TS_REAPER_PRESERVE_FDS=N   like --preserve-fds
  TS_REAPER_WAIT_NICE=N      like --wait-nice
  TS_REAPER_WAIT_SLICE_US=N  like --wait-slice-us

Behaviour:
  ts-reaper starts the command as its child, reaps every child it gets (its own and adopted
  orphans), forwards signals, and exits with the child's exit code, or 128+N when signal N
  killed it. When it is not PID 1 it registers as a child subreaper (PR_SET_CHILD_SUBREAPER) so
  that orphans of the command still come to it, and warns when it can be neither.
  Forwarded: every signal Node can listen to except SIGCHLD (${FORWARDED_SIGNALS.length} signals),
  but SIGTTIN and SIGTTOU are dropped unless rewritten (as tini ignores them).
  Not forwarded: ${UNFORWARDABLE.join(', ')}, and real-time signals (Node cannot listen to them).
  A rewrite (-r FROM:TO) must start from a forwarded signal (SIGTTIN and SIGTTOU included) and
  cannot send 32 or 33, glibc's own: any other rule could never fire, and is a usage error.
  Process group and terminal: the command always leads a process group of its own, as tini's
  does. When ts-reaper holds the terminal (stdin is a terminal whose foreground group is
  ts-reaper's), that group takes the terminal before the command runs: the terminal's signals
  (Ctrl-C, Ctrl-\\, Ctrl-Z) then reach the command once, from the terminal, and not ts-reaper,
  and the command can read the terminal. -g changes only where forwarded signals go.
  Stopping (-g, --signal-adopted, --shutdown, --grace-ms):
    A signal ts-reaper forwards (docker stop's SIGTERM, SIGINT, SIGHUP, ...; after -r) goes to
      the command alone by default, to its process group with -g, and with --signal-adopted also
      to every adopted process (an orphan re-parented to ts-reaper: its children other than the
      command, listed from /proc when the signal arrives and signalled just before the command;
      with -g, those in the command's group get it once, with the group). Not to their children.
    When the command exits (of that signal or not):
      --shutdown none   (default) ts-reaper exits at once with the command's status. As PID 1,
                        the kernel then SIGKILLs whatever is left in the namespace (no grace);
                        as a subreaper, what is left lives on, adopted by the next reaper up.
      --shutdown group  SIGTERM to the command's process group (implies -g), then wait up to
                        --grace-ms (default ${DEFAULT_GRACE_MS}) for the group to be gone, SIGKILL what is
                        left, wait (at most 5 s more) for it to be reaped, exit with the status.
      --shutdown all    the same for every process: kill(-1) as PID 1, every descendant found
                        in /proc otherwise; done once ts-reaper has no child left at all.
    Every process waited for: --signal-adopted --shutdown all, with --grace-ms below the
    engine's own (docker stop -t, 10 s by default). A process that got the forwarded SIGTERM and
    is still there when the command exits gets the shutdown's SIGTERM as well.
  Log format (--log-format json): every line ts-reaper writes on stderr (usage errors aside) is
    one JSON object. With -v, one {"event":"reap"} per reaped process: time (ISO 8601), pid,
    comm, role ("command" or "adopted"), exit_status (code, or 128+signal), exit_code, signal
    (name), core_dumped, seen_to_reaped_us; other
    lines are {"event":"message", time, level ("info", "warning", "error"), text}. comm is read
    from /proc/<pid>/comm while the process is a zombie, between the wait thread's
    waitid(WNOWAIT) and its reap: best effort, null when that read fails.
    seen_to_reaped_us is the verbose 'zombie' time below, that read included: the read keeps
    each zombie ~25 us longer (measured here, README). Without --log-format json the lines are
    unchanged.
  Signal state: the command starts with the signals ts-reaper was started with ignored still
  ignored (nohup, trap '' HUP), ts-reaper's own signal mask, and every other signal at its
  default action, as tini's does (ts-reaper still forwards such a signal; the command ignores
  it). Node resets both at start-up, so the ts-reaper command is a launcher that reads them
  first and passes them to node in TS_REAPER_INHERITED_SIGNALS (removed from the command's
  environment). Run as node ts-reaper.cjs, ts-reaper sees only signals 32 and 34-64 and passes
  the rest on at the default, unblocked; -v says which.
  Working directory: the command runs in the one ts-reaper was started in; ts-reaper never
  changes it (nor do tini and dumb-init), so a container's WORKDIR or the shell's directory
  applies to the command. ts-reaper finds its own files beside itself, not there.
  File descriptors: the child inherits stdin, stdout, stderr and the fds named by
  --preserve-fds. Node marks the fds it inherited (0 up to the first closed one after 15)
  close-on-exec at startup, so unlike tini ts-reaper cannot tell them from its own and passes
  them only when asked; higher inherited fds pass through.
  Differences from tini and dumb-init that remain, and why:
    - Cost: start-up ~85 ms (tini ~9 ms), RSS ~53 MiB (under 1 MiB), 6-9 tasks in the pids
      budget (1): ts-reaper is TypeScript on Node, which is the point of it.
    - Not forwarded: SIGILL, SIGBUS, SIGFPE, SIGSEGV (Node keeps them for its own faults) and the
      real-time signals 34-64 (Node cannot listen to them). tini forwards the real-time ones
      but not these four (nor SIGABRT, SIGTRAP, SIGSYS, which ts-reaper forwards); dumb-init
      forwards both. Sent to ts-reaper from outside, one of the four does nothing when it is
      PID 1 (the command gets nothing) and kills it otherwise (exit 128+n, the command left
      running, adopted by the next reaper up), as it does to tini.
    - SIGTSTP is forwarded as it is and ts-reaper never stops itself; SIGTTIN and SIGTTOU are
      dropped, as tini ignores them. dumb-init (without -c) sends SIGSTOP to the group for all
      three and stops itself: a stopped init reaps nothing.
    - The command leads a process group of its own (as tini's), not a new session (dumb-init's
      setsid). -g signals that group, as dumb-init does by default; without -g the command
      alone gets signals, as with dumb-init -c.
    - When the command exits, dumb-init (without -c) sends SIGTERM to the group and exits at
      once; ts-reaper's --shutdown group waits for the group up to --grace-ms, then SIGKILLs
      it. As PID 1, exiting at once has the kernel SIGKILL the group right away, so the SIGTERM
      would buy no time. Without --shutdown, ts-reaper exits at once, as tini does.
    - Not PID 1, ts-reaper registers as a child subreaper unless told not to (tini needs -s;
      dumb-init cannot): orphans of the command should come to the init that runs it.
    - A command that cannot be run exits 127 (not found) or 126, as with tini (dumb-init: 2).
    - Inherited fds 3 and up pass only with --preserve-fds, up to the first closed one after 15
      (tini and dumb-init pass them all): Node marks them close-on-exec (File descriptors, above).
    - No parent-death signal (tini -p) and no 'warn on reaping' (tini -w; -v logs every reap).
    - Beyond both: --signal-adopted, --shutdown, --log-format json, --wait-nice, --wait-slice-us.
  Verbose 'zombie' time: from the moment ts-reaper's wait thread saw the pid waitable
  (waitid WNOWAIT) to the moment waitpid reaped it, in microseconds. It cannot include the time
  between the exit and that wake-up, which only an outside observer sees (bench/reaper-latency).

Exit status: the child's, remapped by -e; 2 for a usage error; 127 when the command is not
found, 126 when it cannot be executed (from the launcher: when node is not found in PATH, or
cannot be executed); 1 for other failures of ts-reaper itself.
`;

/**
 * Parse one `SIG:SIG` rewrite (`TERM:INT`, `15:2`, `USR1:0`) into [from, to]. Only a rule that
 * can fire is accepted: `from` must be a signal ts-reaper forwards ({@link REWRITABLE}: not
 * SIGKILL, SIGSTOP, the faults Node keeps, SIGCHLD, 32, 33 or a real-time signal), and `to` 0
 * (drop) or a signal 1–64 other than glibc's 32 and 33.
 * @throws UsageError with a one-line "Expected `option` to be …, got `x`" message.
 */
export function parseRewrite(spec: string, option = '--rewrite'): [number, number] {
  const parts = spec.split(':');
  if (parts.length !== 2) throw expected(option, 'SIG:SIG such as TERM:INT or USR1:0', spec);
  let from: number;
  let to: number;
  try {
    from = parseSignal(parts[0]!, false);
    to = parseSignal(parts[1]!, true);
  } catch {
    throw expected(option, 'SIG:SIG with known signals, such as TERM:INT or USR1:0 (0 drops)', spec);
  }
  if (!REWRITABLE.has(from))
    throw expected(
      option,
      `SIG:SIG from a signal ts-reaper catches and forwards (not ${UNFORWARDABLE.map((n) => n.replace(/^SIG/, '')).join(', ')}, 32, 33 or 34-64)`,
      spec,
    );
  if (GLIBC_INTERNAL.includes(to)) throw expected(option, "SIG:SIG to 0 (drop) or a signal other than 32 and 33 (glibc's own)", spec);
  return [from, to];
}

/** Parse an exit code 0–255. @throws Error with a one-line "Expected `option` to be …, got `x`" message. */
export function parseExitCode(spec: string, option = '--remap-exit'): number {
  if (!/^\d+$/.test(spec.trim()) || Number(spec) > 255) throw expected(option, 'an exit code between 0 and 255', spec);
  return Number(spec);
}

/** Parse a non-negative integer number of milliseconds (at most one day). @throws Error with a one-line "Expected `option` to be …, got `x`" message. */
export function parseGraceMs(spec: string, option = '--grace-ms'): number {
  if (!/^\d+$/.test(spec.trim()) || Number(spec) > 86_400_000) throw expected(option, 'a whole number of milliseconds (0–86400000)', spec);
  return Number(spec);
}

/** Parse a count of fds to preserve (0–1000). @throws Error with a one-line "Expected `option` to be …, got `x`" message. */
export function parsePreserveFds(spec: string, option = '--preserve-fds'): number {
  if (!/^\d+$/.test(spec.trim()) || Number(spec) > 1000) throw expected(option, 'a number of file descriptors (0–1000)', spec);
  return Number(spec);
}

/** Parse a nice value (−20…19). @throws Error with a one-line "Expected `option` to be …, got `x`" message. */
export function parseNice(spec: string, option = '--wait-nice'): number {
  if (!/^-?\d+$/.test(spec.trim()) || Number(spec) < -20 || Number(spec) > 19)
    throw expected(option, 'a nice value between -20 and 19', spec);
  return Number(spec);
}

/** Parse a slice length, µs: 0 (kernel default) or 100–100000. @throws Error with a one-line "Expected `option` to be …, got `x`" message. */
export function parseSliceUs(spec: string, option = '--wait-slice-us'): number {
  const n = Number(spec);
  if (!/^\d+$/.test(spec.trim()) || (n !== 0 && (n < 100 || n > 100_000)))
    throw expected(option, '0 (kernel default) or a slice between 100 and 100000 microseconds', spec);
  return n;
}

/** Parse a log format, `text` or `json`. @throws Error with a one-line "Expected `option` to be …, got `x`" message. */
export function parseLogFormat(spec: string, option = '--log-format'): LogFormat {
  if (spec === 'text' || spec === 'json') return spec;
  throw expected(option, 'text or json', spec);
}

/** Parse a shutdown mode. @throws Error with a one-line "Expected `option` to be …, got `x`" message. */
export function parseShutdown(spec: string, option = '--shutdown'): ShutdownMode {
  if (spec === 'none' || spec === 'group' || spec === 'all') return spec;
  throw expected(option, 'one of none, group, all', spec);
}

function parseBool(name: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  throw expected(name, '1 or 0', v);
}

function fromEnv<T>(name: string, env: NodeJS.ProcessEnv, parse: (s: string, option: string) => T): T | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  try {
    return parse(v, name);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

type Commander = typeof import('commander');

function buildProgram({ Command, Option }: Commander): Command {
  return new Command('ts-reaper')
    .usage('[options] [--] command [args...]')
    .description('A PID 1 / subreaper for containers: runs a command, reaps every zombie, forwards signals.')
    .option('-s, --subreaper', 'register as a child subreaper when not PID 1; fail if that is impossible')
    .option('--no-subreaper', 'never register as a subreaper (orphans then go to the real PID 1)')
    .option('-g, --pgroup', "send forwarded signals to the command's whole process group instead of the command alone")
    .option(
      '-r, --rewrite <SIG:SIG>',
      'rewrite a received signal before forwarding (repeatable; target 0 drops it; from a forwarded signal only, see below)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '-e, --remap-exit <code>',
      'turn this exit code of the child into 0 (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--signal-adopted',
      'also send every forwarded signal to the adopted processes (orphans re-parented to ts-reaper), see "Stopping" below',
    )
    .addOption(
      new Option(
        '--shutdown <mode>',
        'after the child exits: none (exit at once), group (SIGTERM its process group) or all (every process left), wait up to --grace-ms, SIGKILL the rest; see "Stopping" below',
      ).choices(['none', 'group', 'all']),
    )
    .option('--grace-ms <ms>', `milliseconds between SIGTERM and SIGKILL in a shutdown (default ${DEFAULT_GRACE_MS})`)
    .option('--preserve-fds <n>', 'pass inherited fds 3 … 3+n-1 on to the command (see below)')
    .option('--wait-nice <n>', 'nice value of the wait thread alone (negative: reaps sooner under CPU contention; needs CAP_SYS_NICE)')
    .option(
      '--wait-slice-us <us>',
      `EEVDF time slice requested for the wait thread, microseconds (default ${DEFAULT_WAIT_SLICE_US}; 0: kernel default); shorter slices preempt CPU hogs sooner, no capability needed`,
    )
    .option('-v, --verbose', 'log each reaped pid with its status and zombie time, and forwarded signals, on stderr')
    .addOption(
      new Option(
        '--log-format <format>',
        'text (default) or json: every stderr line one JSON object, a "reap" event per reaped process',
      ).choices(['text', 'json']),
    )
    .argument('[command...]', 'the command to run')
    .passThroughOptions()
    .version(`ts-reaper ${VERSION}`, '-V, --version', 'print ts-reaper and its version, then exit')
    .helpOption('-h, --help', 'show this help')
    .addHelpText('after', ENV_HELP)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
}

/** Raw command-line option values, as commander returns them. */
interface CliValues {
  subreaper?: boolean;
  pgroup?: boolean;
  rewrite: string[];
  remapExit: string[];
  signalAdopted?: boolean;
  shutdown?: string;
  graceMs?: string;
  verbose?: boolean;
  logFormat?: string;
  preserveFds?: string;
  waitNice?: string;
  waitSliceUs?: string;
}

/** The command line split into option values and the command; `print` for --help and --version. */
type CommandLine = { print: string } | { values: CliValues; command: string[]; subreaperGiven: boolean };

/**
 * The command line when it has no options: `-- cmd …` or `cmd …` (the first word is not an
 * option). Null when there are options to parse.
 */
function withoutOptions(argv: readonly string[]): CommandLine | null {
  const first = argv[0];
  if (first === undefined) return null; // let the parser report the missing command
  if (first !== '--' && first.startsWith('-')) return null;
  return { values: { rewrite: [], remapExit: [] }, command: argv.slice(first === '--' ? 1 : 0), subreaperGiven: false };
}

async function parseCommandLine(argv: readonly string[]): Promise<CommandLine> {
  const commander = await import('commander');
  const program = buildProgram(commander);
  try {
    program.parse([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof commander.CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help') return { print: program.helpInformation() + ENV_HELP };
      if (e.code === 'commander.version') return { print: `ts-reaper ${VERSION}\n` };
      throw new UsageError(parseErrorLine(e, 'ts-reaper', []));
    }
    throw e;
  }
  // Subreaper: commander sets `subreaper` true for -s, false for --no-subreaper; with both
  // declared its default is true, so read the raw source to tell "given" from "default".
  return { values: program.opts<CliValues>(), command: program.args, subreaperGiven: program.getOptionValueSource('subreaper') === 'cli' };
}

/**
 * Parse ts-reaper's command line (`argv` without `node` and the script) and environment.
 * @returns `run` with normalized options, or `exit` with text for stdout (`--help`,
 * `--version`) and code 0.
 * @throws UsageError (one line, no stack) for any invalid option, value or missing command
 * (as a rejected promise).
 */
export async function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<ParseResult> {
  const cli = withoutOptions(argv) ?? (await parseCommandLine(argv));
  if ('print' in cli) return { kind: 'exit', code: 0, stdout: cli.print };
  const o = cli.values;
  const command = cli.command;
  if (command.length === 0 || command[0] === '')
    throw new UsageError('missing command: usage is ts-reaper [options] [--] command [args...]');
  const wrap = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw e instanceof UsageError ? e : new UsageError((e as Error).message);
    }
  };

  let subreaper: SubreaperMode = 'auto';
  const envSub = env.TS_REAPER_SUBREAPER;
  if (envSub !== undefined) subreaper = parseBool('TS_REAPER_SUBREAPER', envSub) ? 'require' : 'off';
  if (cli.subreaperGiven) subreaper = o.subreaper ? 'require' : 'off';

  const rewrite = new Map<number, number>();
  const envRewrite = env.TS_REAPER_REWRITE;
  if (envRewrite !== undefined && envRewrite.trim() !== '') {
    for (const item of envRewrite.split(',')) {
      const [from, to] = wrap(() => parseRewrite(item, 'TS_REAPER_REWRITE'));
      rewrite.set(from, to);
    }
  }
  for (const item of o.rewrite) {
    const [from, to] = wrap(() => parseRewrite(item));
    rewrite.set(from, to);
  }

  const remapExit = new Set<number>();
  const envRemap = env.TS_REAPER_REMAP_EXIT;
  if (envRemap !== undefined && envRemap.trim() !== '') {
    for (const item of envRemap.split(',')) remapExit.add(wrap(() => parseExitCode(item, 'TS_REAPER_REMAP_EXIT')));
  }
  for (const item of o.remapExit) remapExit.add(wrap(() => parseExitCode(item)));

  const shutdown =
    o.shutdown !== undefined ? wrap(() => parseShutdown(o.shutdown!)) : (fromEnv('TS_REAPER_SHUTDOWN', env, parseShutdown) ?? 'none');
  const graceMs =
    o.graceMs !== undefined ? wrap(() => parseGraceMs(o.graceMs!)) : (fromEnv('TS_REAPER_GRACE_MS', env, parseGraceMs) ?? DEFAULT_GRACE_MS);
  const pgroup =
    o.pgroup === true ||
    (env.TS_REAPER_PGROUP !== undefined && parseBool('TS_REAPER_PGROUP', env.TS_REAPER_PGROUP)) ||
    shutdown === 'group';
  const verbose = o.verbose === true || (env.TS_REAPER_VERBOSE !== undefined && parseBool('TS_REAPER_VERBOSE', env.TS_REAPER_VERBOSE));
  const logFormat =
    o.logFormat !== undefined ? wrap(() => parseLogFormat(o.logFormat!)) : (fromEnv('TS_REAPER_LOG_FORMAT', env, parseLogFormat) ?? 'text');
  const signalAdopted =
    o.signalAdopted === true ||
    (env.TS_REAPER_SIGNAL_ADOPTED !== undefined && parseBool('TS_REAPER_SIGNAL_ADOPTED', env.TS_REAPER_SIGNAL_ADOPTED));

  const preserveFds =
    o.preserveFds !== undefined
      ? wrap(() => parsePreserveFds(o.preserveFds!))
      : (fromEnv('TS_REAPER_PRESERVE_FDS', env, parsePreserveFds) ?? 0);

  const waitNice = o.waitNice !== undefined ? wrap(() => parseNice(o.waitNice!)) : (fromEnv('TS_REAPER_WAIT_NICE', env, parseNice) ?? 0);

  const givenSlice =
    o.waitSliceUs !== undefined ? wrap(() => parseSliceUs(o.waitSliceUs!)) : fromEnv('TS_REAPER_WAIT_SLICE_US', env, parseSliceUs);
  const waitSliceUs = givenSlice ?? DEFAULT_WAIT_SLICE_US;
  const waitSliceExplicit = givenSlice !== undefined;

  return {
    kind: 'run',
    options: {
      command,
      subreaper,
      pgroup,
      rewrite,
      remapExit,
      signalAdopted,
      shutdown,
      graceMs,
      verbose,
      logFormat,
      preserveFds,
      waitNice,
      waitSliceUs,
      waitSliceExplicit,
    },
  };
}
