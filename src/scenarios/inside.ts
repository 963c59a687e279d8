/**
 * The workload side of a scenario run, inside the container: a context that starts the
 * scenario's shells and tools, records every fork failure at the level where it happened,
 * samples zombies and `pids.current`, and prints the final observation as one `RB-RESULT` line.
 *
 * Fork failures are easy to miss: a shell whose background fork fails prints
 * `can't fork` and carries on with exit status 0. So the scripts tag their own background forks
 * ({@link bg}: `$!` unchanged after `&` means the fork failed) and the shells' stderr goes to one
 * log that the sampler scans; Node's `spawn` failures are caught from the `error` event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { countZombies, ownThreads } from '../procfs/scan.js';
import { adopterLabel, containerPids, displayName, listProcesses, sample, type Identity } from './observer.js';
import {
  RESULT_PREFIX,
  type ForkFailures,
  type Observation,
  type ObserverSample,
  type ParentClass,
  type ScenarioName,
  type ScenarioParams,
} from './types.js';

/** Scratch folder inside the container (scripts, logs). */
export const WORK_DIR = '/tmp/rb';

/**
 * Shell snippet (builtins only, no fork) that appends `exit role=<role> pid=<own pid>
 * ppid=<parent now>` to `$RB_LOG`: who the process's parent is at the moment it exits, i.e. who
 * adopted it if it was orphaned. `/proc/self` is read by the shell itself, so in a subshell it is
 * the subshell.
 */
export function rec(role: string): string {
  return `read -r _p _c _s _pp _r </proc/self/stat; echo "exit role=${role} pid=$_p ppid=$_pp" >>"$RB_LOG"`;
}

/**
 * Shell snippet: run `body` in a background subshell and, if the fork failed (`$!` unchanged),
 * log `rb-forkfail level=<level>` on stderr. A failed background fork is otherwise silent. The
 * subshell's own stderr goes to `err.<level>`, so forks that fail inside it are attributed to it.
 */
export function bg(level: string, body: string, redirect = ''): string {
  return `_b=$!; ( ${body} ) ${redirect} 2>>${WORK_DIR}/err.${level} & [ "$!" != "$_b" ] || echo "rb-forkfail level=${level}" >&2`;
}

/**
 * Shell snippet: `sleep` for `ms`, logging `rb-forkfail level=<level>` when the sleep could not
 * be started (busybox `sleep` is not a builtin: it is a fork too).
 */
export function nap(level: string, ms: number): string {
  return `sleep ${(ms / 1000).toFixed(2)} || echo "rb-forkfail level=${level}" >&2`;
}

/** How a started process ended. */
export type Exit = { code: number | null; signal: NodeJS.Signals | null; error: string | null };

/** The context of one workload run (see module doc). */
export class WorkloadContext {
  readonly t0 = performance.now();
  readonly adoptLog = `${WORK_DIR}/adopt.log`;
  readonly errLog = `${WORK_DIR}/err.log`;
  private readonly errFd: number;
  private readonly failures: ForkFailures = { count: 0, first_s: null, firstLevel: null, firstErrno: null, messages: [] };
  private spawnFailures = 0;
  private readonly series: ObserverSample[] = [];
  private zombiesPeak = 0;
  private pidsPeak: number | null = null;
  private readonly baseline: number | null;
  private sampler: NodeJS.Timeout | undefined;
  private readonly cycleMarks: { k: number; zombies: number; failed: boolean }[] = [];
  /** Pids the workload started itself (its own children are not "adopted orphans"). */
  readonly ownChildren = new Set<number>();
  readonly identity: Identity;

  constructor(
    readonly scenario: ScenarioName,
    readonly params: ScenarioParams,
    init: number | null = null,
  ) {
    mkdirSync(WORK_DIR, { recursive: true });
    writeFileSync(this.adoptLog, '');
    this.errFd = openSync(this.errLog, 'a');
    this.identity = { app: process.pid, init };
    this.baseline = containerPids().current;
  }

  /** Seconds since the workload started. */
  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  /** Sample zombies and `pids.current` every `ms` (also scans the error log). */
  startSampling(ms: number): void {
    this.takeSample();
    this.sampler = setInterval(() => this.takeSample(), ms);
  }

  private takeSample(): void {
    const s = sample(this.elapsed());
    this.series.push(s);
    this.zombiesPeak = Math.max(this.zombiesPeak, s.zombies);
    if (s.pids_current !== null) this.pidsPeak = Math.max(this.pidsPeak ?? 0, s.pids_current);
    this.scanErrLog();
  }

  /** Fold the shells' stderr into the fork-failure record (first time = first scan that saw it). */
  private scanErrLog(): void {
    // err.log: the workload's direct shells (tags + bare lines); err.<level>: the stderr of the
    // background subshells started by bg(level, …), so a bare "can't fork" there (busybox ash
    // exits the failing shell before any tag can be written) still names its level.
    let files: string[] = [];
    try {
      files = readdirSync(WORK_DIR).filter((f) => f.startsWith('err.') && f !== 'err.log');
    } catch {
      return;
    }
    const read = (f: string): string[] => {
      try {
        return readFileSync(`${WORK_DIR}/${f}`, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    };
    const isCantFork = (l: string): boolean => /can't fork|Resource temporarily unavailable/.test(l) && !l.startsWith('rb-forkfail');
    const lines = read('err.log');
    const tagged = lines.filter((l) => l.startsWith('rb-forkfail'));
    const top = Math.max(tagged.length, lines.filter(isCantFork).length);
    const byLevel = files
      .map((f) => ({ level: f.slice('err.'.length), lines: read(f) }))
      .map((x) => ({ ...x, n: x.lines.filter(isCantFork).length }));
    const count = this.spawnFailures + top + byLevel.reduce((a, x) => a + x.n, 0);
    if (count > 0 && this.failures.first_s === null) {
      this.failures.first_s = this.elapsed();
      const deep = byLevel.find((x) => x.n > 0);
      this.failures.firstLevel = tagged[0] ? tagged[0].replace(/^rb-forkfail level=/, '') : deep ? deep.level : 'shell';
      this.failures.firstErrno = 'EAGAIN';
    }
    this.failures.count = count;
    for (const l of [...lines, ...byLevel.flatMap((x) => x.lines.map((m) => `${x.level}: ${m}`))]) {
      if (this.failures.messages.length >= 5) break;
      if (!l.startsWith('rb-forkfail') && !this.failures.messages.includes(l)) this.failures.messages.push(l);
    }
  }

  /**
   * Mark the end of cycle `k` (1-based): the zombie count then, and whether any fork had failed
   * yet. {@link finish} derives zombies per cycle from the last cycle before the first failure.
   */
  cycleDone(k: number): void {
    this.scanErrLog();
    this.cycleMarks.push({ k, zombies: countZombies(), failed: this.failures.first_s !== null });
  }

  /** Record a fork failure the workload saw directly (a spawn `error`, an errno from posix_spawn). */
  recordFailure(level: string, errno: string, message: string): void {
    this.spawnFailures++;
    this.failures.count++;
    if (this.failures.first_s === null) {
      this.failures.first_s = this.elapsed();
      this.failures.firstLevel = level;
      this.failures.firstErrno = errno;
    }
    if (this.failures.messages.length < 5 && !this.failures.messages.includes(message)) this.failures.messages.push(message);
  }

  /** Environment for a started shell: its role and the adopters' log. */
  env(role: string): NodeJS.ProcessEnv {
    return { ...process.env, RB_ROLE: role, RB_LOG: this.adoptLog };
  }

  /**
   * Start `sh -c script` as a child of the workload (stderr into the shells' log). `exited`
   * resolves when it exits, or with `error` set when the spawn itself failed (recorded as a
   * fork failure at level `spawn`).
   */
  shell(script: string, role: string, stdout: 'ignore' | 'pipe' = 'ignore'): { child: ChildProcess; exited: Promise<Exit> } {
    const child = spawn('sh', ['-c', script], { stdio: ['ignore', stdout, this.errFd], env: this.env(role) });
    if (child.pid !== undefined) this.ownChildren.add(child.pid);
    const exited = new Promise<Exit>((resolve) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        this.recordFailure('spawn', err.code ?? 'unknown', `spawn sh: ${err.message}`);
        resolve({ code: null, signal: null, error: err.code ?? err.message });
      });
      child.once('exit', (code, signal) => resolve({ code, signal, error: null }));
    });
    return { child, exited };
  }

  /** Run `sh -c script` to completion, bounded by `timeoutMs` (then SIGKILL). */
  async run(script: string, role: string, timeoutMs = 10_000): Promise<Exit> {
    const { child, exited } = this.shell(script, role);
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    try {
      return await exited;
    } finally {
      clearTimeout(t);
    }
  }

  /** Write a script file under the work folder and return its path. */
  script(name: string, text: string): string {
    const file = `${WORK_DIR}/${name}`;
    writeFileSync(file, text, { mode: 0o755 });
    return file;
  }

  /**
   * Observe the final state, print it as the `RB-RESULT` line (synchronously, so nothing is
   * lost if PID 1 exits right after) and return it.
   */
  finish(cycles: number, extra: Observation['extra'] = {}): Observation {
    if (this.sampler) clearInterval(this.sampler);
    this.takeSample();
    const procs = listProcesses(this.identity);
    const alive = new Set(procs.filter((p) => p.state !== 'Z').map((p) => p.pid));
    const comms = new Map(procs.map((p) => [p.pid, p.state === 'Z' ? p.comm : displayName(p.pid, p.comm)]));
    const zombies = procs.filter((p) => p.state === 'Z');
    const byParent: Record<ParentClass, number> = { pid1: 0, init: 0, app: 0, other: 0 };
    for (const z of zombies) byParent[z.parent]++;
    const me = this.identity;
    const adoptedBy = (p: (typeof procs)[number]): boolean =>
      (p.parent === 'pid1' || p.parent === 'init') && !this.ownChildren.has(p.pid) && p.pid !== me.app && p.pid !== me.init;
    const orphans = procs.filter((p) => p.state !== 'Z' && p.role !== null && adoptedBy(p));
    const adopters: Record<string, number> = {};
    let log = '';
    try {
      log = readFileSync(this.adoptLog, 'utf8');
    } catch {
      // none
    }
    for (const m of log.matchAll(/^exit role=\S+ pid=(\d+) ppid=(\d+)$/gm)) {
      const label = adopterLabel(Number(m[2]), me, comms, alive);
      adopters[label] = (adopters[label] ?? 0) + 1;
    }
    const pids = containerPids();
    if (this.failures.first_s !== null && extra.per_cycle === undefined) {
      const clean = this.cycleMarks.filter((m) => !m.failed).at(-1);
      extra = { ...extra, per_cycle: clean ? clean.zombies / clean.k : null, cycles_before_failure: clean?.k ?? 0 };
    }
    const obs: Observation = {
      scenario: this.scenario,
      pid: process.pid,
      ppid: process.ppid,
      initPid: me.init,
      pid1Comm: comms.get(1) ?? '?',
      cycles,
      duration_s: this.elapsed(),
      zombies: { total: zombies.length, byParent, list: zombies.slice(0, 40) },
      zombiesPeak: Math.max(this.zombiesPeak, zombies.length),
      liveOrphans: {
        pid1: orphans.filter((p) => p.parent === 'pid1').length,
        init: orphans.filter((p) => p.parent === 'init').length,
        list: orphans.slice(0, 40),
      },
      adopters,
      leftovers: procs.filter((p) => p.pid !== 1 && p.pid !== me.app && p.pid !== me.init).slice(0, 40),
      pids: { current: pids.current, max: pids.max, peak: this.pidsPeak, eventsMax: pids.eventsMax, baseline: this.baseline },
      appThreads: ownThreads(),
      forkFailures: this.failures,
      series: this.series,
      extra,
    };
    writeSync(1, `${RESULT_PREFIX}${JSON.stringify(obs)}\n`);
    closeSync(this.errFd);
    return obs;
  }
}
