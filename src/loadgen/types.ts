/**
 * The load generator's output, as the bench harness reads it: one NDJSON file whose lines are
 * {@link LoadgenEvent}s, in this order: one `start`, then `orphan`, `sample` and `fork_failure`
 * lines interleaved as they happen, and last one `summary` ({@link LoadgenSummary}), which is also
 * printed to stdout as a single JSON line.
 *
 * Naming: snake_case, units in the name (`_us` microseconds, `_ms` milliseconds, `_s` seconds,
 * `_kb` KiB, `_per_s` per second). Every time `*_us` / `t_us` is relative to `t0`, the moment the
 * load generator told the helper to start production, on CLOCK_MONOTONIC (the clock of `process.hrtime.bigint()` and of
 * the C helper). Fractional microseconds are kept (ns resolution, 3 decimals).
 *
 * The file is written as `<out>.partial` and renamed to `<out>` only after the summary line is
 * written, so a file named `<out>` always ends with a summary; an interrupted run leaves only
 * the `.partial` file. `schema` in `start` and `summary` changes when a field changes meaning.
 */

/** Version of this format. */
export const LOADGEN_SCHEMA = 1;

/** Where a fork failed. `helper`: Node could not start the helper; `intermediate`: the helper
 * could not fork the intermediate; `orphan`: the intermediate could not fork the orphan. */
export type ForkLevel = 'helper' | 'intermediate' | 'orphan';

/**
 * How a zombie's lifetime was measured.
 * - `pidfd-hup`: edge-triggered epoll on a pidfd, `EPOLLIN` at exit and `EPOLLHUP` at reap
 *   (Linux ≥ 6.9, `pidfd_poll()` in `kernel/fork.c` / `fs/pidfs.c`). Resolution: the watcher's lag.
 * - `pidfd-poll`: `EPOLLIN` at exit, then `pidfd_send_signal(fd, 0)` every `poll_interval_us`
 *   until `ESRCH` (older kernels, or `--watch-method poll`). Resolution: the poll interval.
 */
export type WatchMethod = 'pidfd-hup' | 'pidfd-poll';

/** What finally happened to an orphan, as far as the watcher saw. */
export type OrphanState =
  /** exited and was reaped (by PID 1 or a subreaper) */
  | 'reaped'
  /** exited and was still a zombie when the run ended */
  | 'zombie'
  /** still running when the run ended */
  | 'live'
  /** gone (already reaped) before its pidfd could be opened: `pidfd_open` failed with ESRCH */
  | 'missed';

/** First line of the file: what was run, where. */
export interface StartEvent {
  type: 'start';
  /** {@link LOADGEN_SCHEMA} */
  schema: number;
  /** Wall-clock start time, ISO 8601 UTC. */
  started_at: string;
  /** Options after validation (see {@link LoadgenOptionsRecord}). */
  options: LoadgenOptionsRecord;
  /** The load generator's pid in its pid namespace (1: it is PID 1, the "no init" case). */
  pid: number;
  /** Contents of /proc/1/comm: which program is PID 1 (tini, dumb-init, node…). */
  pid1_comm: string;
  /** `os.release()` */
  kernel: string;
  /** The pids cgroup directory read for samples, or null with `--no-cgroup`. */
  cgroup_dir: string | null;
  /** 1 or 2, or null with `--no-cgroup`. */
  cgroup_version: 1 | 2 | null;
  /** Latency method used for every orphan of this run. */
  watch_method: WatchMethod;
}

/** One line per orphan, written when it is reaped, missed, or at the end of the run. */
export interface OrphanEvent {
  type: 'orphan';
  /** Pid in the load generator's pid namespace. */
  pid: number;
  /** When the intermediate's fork() returned it, µs since t0. */
  created_us: number;
  /** When its pidfd was opened, µs since t0 (null: missed). */
  watched_us: number | null;
  /** When its exit (EPOLLIN) was observed, µs since t0 (null: not exited, missed, or `late`). */
  exit_us: number | null;
  /** The orphan's own CLOCK_MONOTONIC reading just before `_exit`, µs since t0 (null: its report
   * was not received). The kernel makes it a zombie a few µs later (exit path). Independent of
   * the watcher's scheduling. */
  exit_self_us: number | null;
  /** When its reaping was observed (EPOLLHUP or ESRCH), µs since t0 (null: not reaped). */
  reap_us: number | null;
  /** Zombie lifetime `reap_us − exit_us`, µs (null when either is unknown, and for `coalesced`
   * orphans, whose two observations fell in one wake-up). */
  latency_us: number | null;
  /** `reap_us − exit_self_us`, µs: the zombie lifetime from the orphan's own exit report. An
   * upper bound (adds the exit path and the reap observation lag) that coalescing cannot
   * shrink to 0; null when either is unknown. */
  latency_self_us: number | null;
  state: OrphanState;
  /** It had already exited when its pidfd was opened: exit time unknown, latency null. */
  late: boolean;
  /** Exit and reap were first seen in the same wake-up of the watcher: the latency (≈ 0) is
   * an artefact bounded by the watcher lag; excluded from the latency percentiles. */
  coalesced: boolean;
  method: WatchMethod;
}

/** A periodic sample (default 50 Hz). Cgroup fields are null when no cgroup is read. */
export interface SampleEvent {
  type: 'sample';
  /** µs since t0 (negative before production started). */
  t_us: number;
  /** `pids.current`: tasks (threads, zombies included) in the cgroup. */
  pids_current: number | null;
  /** `pids.max` (tasks); `'max'`: no limit; null: no cgroup or not read. */
  pids_max: number | 'max' | null;
  /** The `max` counter of `pids.events`: forks refused by the limit since the cgroup was made. */
  pids_events_max: number | null;
  /** Processes in state Z in this pid namespace (a /proc scan), excluding the helper's own
   * intermediates; null when this sample skipped the scan (`--scan-every`). */
  zombies: number | null;
  /** Watched orphans not yet exited (watcher counters). */
  orphans_live: number;
  /** Watched orphans exited and not yet reaped (watcher counters). */
  orphans_zombie: number;
  /** CPU time (user + system) of PID 1 since it started, ms (clock-tick resolution, 10 ms). */
  pid1_cpu_ms: number | null;
  /** Resident set size of PID 1, KiB. */
  pid1_rss_kb: number | null;
  /** Threads of the load generator process itself (/proc/self/stat field 20, `num_threads`; procfs/scan.ts). */
  loadgen_threads: number;
  /** Wall time this sample took to collect, ms (the /proc scan dominates). */
  collect_ms: number;
}

/** One line per failed fork, wherever it happened. */
export interface ForkFailureEvent {
  type: 'fork_failure';
  /** µs since t0 (helper-level failures before t0 are negative). */
  t_us: number;
  level: ForkLevel;
  /** errno of the failed fork (11 = EAGAIN: pids.max reached). */
  errno: number;
  /** Symbolic name of `errno` (`EAGAIN`, …). */
  errno_name: string;
  /** Orphans successfully forked before this failure. */
  orphans_made_before: number;
}

/** Options as recorded in the output (units in names). */
export interface LoadgenOptionsRecord {
  /** Target orphans per second (null: `--rate max`, as fast as possible). */
  rate_per_s: number | null;
  /** How long each orphan lives before it exits, ms. */
  lifetime_ms: number;
  /** Orphans per intermediate (all forked together, every batch/rate seconds). */
  batch: number;
  /** Intermediates allowed to run at once (1: the helper waits for each before the next fork).
   * Each running intermediate holds one pids slot while it forks. */
  inflight: number;
  /** Stop after this many orphans attempted, failed forks included (null: no limit). */
  count: number | null;
  /** Stop production after this long, s (null: no limit). */
  duration_s: number | null;
  /** After the first fork failure: `stop` after `grace_ms`, or `continue` (measure recovery). */
  after_failure: 'stop' | 'continue';
  /** With `after_failure: stop`: keep producing this long after the first failure, ms. */
  grace_ms: number;
  /** After production: wait up to this long for orphans to exit and be reaped, ms. */
  drain_ms: number;
  /** Sample rate, Hz. */
  sample_hz: number;
  /** The /proc zombie scan runs on every n-th sample. */
  scan_every: number;
  /** Length of the fork+exit+wait reference loop before production, ms (0: skipped). */
  forkloop_ms: number;
  /** Requested latency method (`auto` picks `pidfd-hup` on Linux ≥ 6.9). */
  watch_method: 'auto' | 'hup' | 'poll';
  /** With `pidfd-poll`: interval between ESRCH probes, µs. */
  poll_interval_us: number;
  /** Nice value given to the watcher thread only (0: unchanged; negative: it preempts ordinary
   * tasks, so it is starved less on a busy machine, at the cost of a few µs per event taken
   * from whatever runs on that CPU, possibly the init under test). */
  watcher_nice: number;
  /** SCHED_FIFO priority of the watcher thread (0: not real-time). A real-time watcher is never
   * starved by ordinary tasks, so exit and reap are observed within µs; it preempts whatever
   * runs on its CPU for the few µs it needs per event. Needs CAP_SYS_NICE (and RT runtime in
   * the container's cgroup); when refused the run goes on and says so in `warnings`. */
  watcher_rt_priority: number;
  /** The watcher polled its epoll set without sleeping (`--watcher-spin`): none of its instants
   * carries a wake-up from idle, and it never coalesces an exit with its reap unless it is
   * preempted; it keeps its CPU busy all along. */
  watcher_spin: boolean;
  /** CPU pinning `observer:workload` (`--pin`), or null: none. */
  pin: string | null;
  /** Results file (final name). */
  out: string;
}

/** Percentiles of a set of durations, all µs; null fields when the set is empty. */
export interface Percentiles {
  /** number of values */
  n: number;
  p50_us: number | null;
  p90_us: number | null;
  p99_us: number | null;
  max_us: number | null;
  mean_us: number | null;
}

/** First fork failure of the run (anywhere). */
export interface FirstForkFailure {
  /** µs since t0. */
  t_us: number;
  level: ForkLevel;
  errno: number;
  errno_name: string;
  /** Orphans successfully forked before it: compare with `effective_budget`. */
  orphans_made_before: number;
}

/**
 * The final line of the file, and the one JSON line on stdout. Counts are orphans unless the
 * name says otherwise.
 */
export interface LoadgenSummary {
  type: 'summary';
  /** {@link LOADGEN_SCHEMA} */
  schema: number;
  /** `completed`: production and drain ran to the end; `aborted`: stopped by SIGTERM/SIGINT;
   * `failed`: the watcher thread broke (see `warnings`). Counts are what was seen until then. */
  state: 'completed' | 'aborted' | 'failed';
  /** Options as validated. */
  options: LoadgenOptionsRecord;
  /** Whether the load generator itself was PID 1 ("no init"). */
  is_pid1: boolean;
  /** /proc/1/comm at start. */
  pid1_comm: string;
  kernel: string;
  cgroup_dir: string | null;
  cgroup_version: 1 | 2 | null;

  // --- production
  /** Orphans forked successfully (an `O` report from the helper). */
  orphans_made: number;
  /** Orphans whose exit was observed (EPOLLIN), plus `late` ones seen already exited. */
  orphans_exited: number;
  /** Orphans whose reaping was observed. */
  orphans_reaped: number;
  /** Orphans exited but not reaped when the run ended (the zombies left behind). */
  orphans_zombie: number;
  /** Orphans still running when the run ended. */
  orphans_live: number;
  /** Orphans gone before their pidfd could be opened (never watched). */
  orphans_missed: number;
  /** Orphans already exited when their pidfd was opened (exit time unknown). */
  orphans_late: number;
  /** Orphans whose exit and reap were seen in one wake-up (latency unknown, ≤ watcher lag). */
  orphans_coalesced: number;
  /** Orphans made but neither reaped, zombie, live nor missed: should be 0. */
  orphans_unaccounted: number;
  /** t0 itself, CLOCK_MONOTONIC ns (an integer below 2^53 for ~104 days of uptime): places every
   * `*_us` of this file on the machine's clock, e.g. beside the kernel instrument's timestamps,
   * which are CLOCK_MONOTONIC ns too. */
  t0_ns: number;
  /** Time from t0 to the end of production (last batch or stop), s. */
  production_s: number;
  /**
   * Orphans made per second of the load phase (stats.ts `loadPhaseRate`): orphans_made ÷
   * production_s when no fork failed, else first_fork_failure.orphans_made_before ÷ its t_us (in
   * s): the time after the first failed fork, when forks fail and the orphans drain, is left out.
   */
  achieved_rate_per_s: number;
  /** The reference: plain fork+_exit+waitpid loop of one small static process just before
   * production, iterations per second (null: `--forkloop-ms 0` or it failed). */
  forkloop_rate_per_s: number | null;

  // --- fork failures
  /** Failed forks at any level. */
  fork_failures: number;
  /** Failed forks per level. */
  fork_failures_by_level: Record<ForkLevel, number>;
  /** The first failure, or null: no fork failed (the run "survived"). */
  first_fork_failure: FirstForkFailure | null;
  /** = first_fork_failure.t_us, or null. */
  time_to_first_fork_failure_us: number | null;
  /** Increase of the `pids.events` max counter during the run (null: no cgroup). */
  pids_events_max_delta: number | null;

  // --- budget
  /** `pids.current` just before production: PID 1, the load generator's threads, the helper,
   * anything else in the cgroup (null: no cgroup). */
  baseline_tasks: number | null;
  /** `pids.max` (tasks); `'max'`: no limit; null: no cgroup or not read. */
  pids_max: number | 'max' | null;
  /** pids_max − baseline_tasks: orphans that fit (one fewer while an intermediate exists). */
  effective_budget: number | null;
  /** Tasks the instrument adds to the measured cgroup: load generator threads + 1 helper. */
  instrument_tasks: number;
  /** Threads of the load generator at the baseline measurement. */
  loadgen_threads: number;
  /** Most threads of the load generator seen in any sample. */
  loadgen_threads_max: number;

  // --- latency (zombie lifetime, exit → reap)
  /** How latencies were measured. */
  latency_method: WatchMethod;
  /** Resolution of the method, µs: the poll interval for `pidfd-poll`; for `pidfd-hup` the
   * watcher lag bounds it (see `watcher_lag`). */
  latency_resolution_us: number | null;
  /** Zombie lifetimes `latency_us` of reaped orphans (not late, not coalesced), µs. */
  latency: Percentiles;
  /** `latency_self_us` of every reaped orphan whose exit report arrived (coalesced included), µs:
   * an upper bound of the zombie lifetime, biased up by about `exit_observation_lag`. */
  latency_self: Percentiles;
  /** `exit_us − exit_self_us` of non-late orphans, µs: how late the watcher observed real exits
   * (the exit path, a few µs, included). Per event, unlike `watcher_lag`. */
  exit_observation_lag: Percentiles;
  /** Watcher lag: delay between a 100 Hz CLOCK_MONOTONIC timerfd expiry in the watcher's own
   * epoll set and its observation, µs. Every exit/reap observation is late by about this much. */
  watcher_lag: Percentiles;
  /** Delay from an orphan's fork to its pidfd being opened, µs: must stay below the lifetime. */
  watch_delay: Percentiles;
  /** Main thread event-loop delay (perf_hooks), µs: how late the sampler ran. */
  event_loop_delay: Percentiles;

  // --- second method: Little's law (L = λ·W) over the production window
  /** Mean zombie count of the /proc scans in the window (L). */
  little_mean_zombies: number | null;
  /** Orphan exits per second in the window (λ). */
  little_exit_rate_per_s: number | null;
  /** W = L ÷ λ, µs: mean zombie lifetime by Little's law (null when not applicable: fewer than
   * 90 % of exited orphans reaped, i.e. no steady state, or no scans). */
  little_latency_us: number | null;
  /** little_latency_us ÷ latency.mean_us (1 = agreement). Meaningful when L ≳ 1; with mean
   * latencies of tens of µs, L is ~0.01 and the ratio is noise. */
  little_ratio: number | null;
  /** Length of the window, s. */
  little_window_s: number | null;

  // --- samples and PID 1
  /** Samples taken. */
  samples: number;
  /** Mean time to collect one sample, ms. */
  sample_collect_mean_ms: number | null;
  /** Most zombies seen by a /proc scan. */
  zombies_max: number | null;
  /** PID 1 CPU time used during the run, ms (clock-tick resolution). */
  pid1_cpu_ms: number | null;
  /** Largest PID 1 RSS seen, KiB. */
  pid1_rss_kb_max: number | null;

  /** Problems that did not stop the run but weaken its figures (one line each, with a hint). */
  warnings: string[];
  /** Whole run, start to summary, s. */
  wall_s: number;
  /** Final results file. */
  out: string;
}

/** Any line of the results file. */
export type LoadgenEvent = StartEvent | OrphanEvent | SampleEvent | ForkFailureEvent | LoadgenSummary;
