/**
 * The shapes that flow from the matrix runner to statistics and export. One {@link RunRecord}
 * per container run; one {@link SummaryRow} per init × configuration, aggregated over
 * repetitions. Units are in the field names: `_us` microseconds, `_ms` milliseconds,
 * `_s` seconds, `_per_s` per second, `_kib` KiB; plain names are counts.
 */
import type { RunConfig } from './config.js';
import type { InitName } from './inits.js';

/** How a run ended (tinybench-style discriminant). */
export type RunState = 'completed' | 'failed' | 'timed-out' | 'aborted';

/** Zombie series resolution in the record, ms: the kernel's series has one point per change; charts need far fewer. */
export const SERIES_BUCKET_MS = 20;

/**
 * How a run's zombie series was read, in words for a chart's title: from the kernel instrument's
 * events, each point the most zombies at once in a {@link SERIES_BUCKET_MS} bucket; otherwise
 * sampled by the load generator inside the container (a zombie reaped between two samples is
 * not seen).
 */
export function seriesMethod(latencyMethod: string | null): string {
  return latencyMethod === 'ebpf' ? `kernel events, most at once per ${SERIES_BUCKET_MS} ms` : 'sampled in the container';
}

/** One point of the zombie/pids time series, sampled inside the container. */
export interface SeriesPoint {
  /** Seconds since orphan production started. */
  t_s: number;
  /** Processes in state Z in the container's PID namespace (count). */
  zombies: number;
  /** `pids.current` of the container's pids cgroup (tasks, threads included). */
  pids_current: number | null;
}

/** One histogram bin of per-orphan reaping latency. */
export interface LatencyBin {
  /** Lower bound of the bin, µs (inclusive). */
  lo_us: number;
  /** Upper bound of the bin, µs (exclusive). */
  hi_us: number;
  /** Orphans whose exit → reaped latency fell in the bin (count). */
  count: number;
}

/**
 * The zombies one kind of parent held in a run: the parents of one comm, PID 1 apart from the
 * others. From the kernel instrument's events: a zombie's parent is the process SIGCHLD went to
 * at its exit (`kernel/exit.c` `exit_notify()`), the original parent or the init that adopted it.
 */
export interface ZombieHolder {
  /** The parents' comm (`tini`, `node`, `orphanage`). */
  comm: string;
  /** Whether the parent is the container's PID 1. */
  pid1: boolean;
  /** Distinct parents of that comm and role (count). */
  parents: number;
  /** Children that became zombies under them (count). */
  zombies: number;
  /** Most zombies any one of them held at once (count). */
  peak: number;
  /** Of those zombies, the ones still zombies when the run ended (count). */
  unreaped_at_end: number;
}

/** Result of one container run of the load generator under one init. */
export interface RunRecord extends RunConfig {
  /** PID 1 choice. */
  init: InitName;
  /** Repetition index (0-based); the warm-up run is not recorded. */
  repetition: number;
  /** Position of this run in the randomized order of its repetition (0-based). */
  order: number;
  /** How the run ended. */
  state: RunState;
  /** Why it did not complete (one line), or null. */
  failure_reason: string | null;
  /** Wall-clock start, ISO 8601 UTC. */
  started_at: string;
  /** Orphans created (count). */
  orphans_made: number;
  /** Orphans seen exiting (count). */
  orphans_exited: number;
  /** Orphans seen reaped (count). */
  orphans_reaped: number;
  /** Orphans still zombies when the run ended (count). */
  unreaped: number;
  /** Orphans gone before their pidfd was opened, so not measured (count). */
  missed: number;
  /**
   * Orphans made per second of the load phase, per s: orphans_made ÷ the production time when no
   * fork failed, else orphans_before_failure ÷ first_fork_failure_s (the time after the first
   * failed fork, forks failing and orphans draining, left out); 0 for `run --image`.
   */
  achieved_rate_per_s: number;
  /** Time from start of production to the first failed fork, s: of any process in the container
   * (EAGAIN only) with the kernel instrument, of the load generator's own forks with the watcher;
   * null: survived. */
  first_fork_failure_s: number | null;
  /** Orphans the workload made before its first fork failure, by its own count; all of them
   * (`orphans_made`) when it survived (count). */
  orphans_before_failure: number;
  /** Failed forks in the whole run (count). */
  fork_failures: number;
  /** Where the first fork failed (`spawn`, `helper`, `intermediate`, `orphan`), or null. */
  first_failure_level: string | null;
  /** comm of the process whose fork failed first, as the kernel instrument saw it (any process
   * of the container: PID 1's own thread creation too); null without the kernel instrument. */
  first_failure_comm: string | null;
  /** errno name of the first failure (`EAGAIN`), or null. */
  first_failure_errno: string | null;
  /** Highest zombie count sampled (count). */
  zombies_peak: number;
  /** Rate of the zombie count samples, Hz (the load generator's sample rate ÷ its scan interval); null: not recorded. */
  zombie_sample_hz: number | null;
  /** Highest `pids.current` (tasks), read from the host; see `pids_method`. */
  pids_peak: number | null;
  /**
   * How `pids_peak` was read: `owned-parent` (the `pids.peak` of a parent cgroup reapbench gave
   * the container: exact), `sampled` (host readings while the container lived: a lower bound),
   * `loadgen` (the load generator's own samples from inside: a lower bound), or null (none).
   */
  pids_method: 'owned-parent' | 'sampled' | 'loadgen' | null;
  /** Tasks in the container before production started: PID 1 + instrument threads (count). */
  baseline_tasks: number | null;
  /** `pids_limit − baseline_tasks`: processes the workload can have at once (count). */
  effective_budget: number | null;
  /** Tasks the instrument itself adds to the measured container (count). */
  instrument_tasks: number | null;
  /** Per-orphan exit → reaped latency percentiles, µs; null when nothing was reaped. */
  reap_latency_p50_us: number | null;
  reap_latency_p90_us: number | null;
  reap_latency_p99_us: number | null;
  reap_latency_max_us: number | null;
  /**
   * How latency was measured: `ebpf` (the kernel instrument, src/tracer/: SIGCHLD generation →
   * the reaper's wait4/waitid return, outside the container: exact to the ns), `pidfd-hup`
   * (EPOLLIN at exit → EPOLLHUP at reap, Linux ≥ 6.9) or `pidfd-poll` (EPOLLIN, then
   * pidfd_send_signal(0) until ESRCH), both by a watcher inside the container (upper bounds;
   * see src/loadgen/types.ts).
   */
  latency_method: string | null;
  /** With `--instrument both`: the in-container watcher's p50 and p99 of the same run, µs, as a
   * cross-check of the `ebpf` figures; null otherwise. */
  pidfd_latency_p50_us: number | null;
  pidfd_latency_p99_us: number | null;
  /** Events the kernel instrument lost (its ring buffer was full), count; 0 with none lost; null
   * without the kernel instrument or when its loader did not report (killed). */
  lost_events: number | null;
  /** Latency from Little's law (mean zombies ÷ exit rate), µs, as a cross-check; null if n/a. */
  littles_law_latency_us: number | null;
  /** p99 of the watcher's own lag (event → observed), µs. */
  watcher_lag_p99_us: number | null;
  /** CPU time PID 1 used during the run, ms (user + system). */
  pid1_cpu_ms: number | null;
  /** PID 1's peak resident set size, KiB. */
  pid1_rss_kib: number | null;
  /** Exit status of the container (PID 1), 128 + signal when killed. */
  exit_code: number | null;
  /** Wall time of the container run, s. */
  wall_s: number;
  /**
   * Who held the zombies, from the kernel instrument: most zombies first, at most
   * {@link ZOMBIE_HOLDERS_MAX} kinds of parent (not a CSV column: see `zombies_held_by`); empty
   * without the kernel instrument, which alone sees every zombie's parent.
   */
  zombies_by_parent: ZombieHolder[];
  /** `zombies_by_parent` in one line for the CSV, e.g. `tini (PID 1) 2000, peak 3; orphanage ×12 4, peak 1`
   * (zombies, then most at once, then `, N at end` when some were never reaped); null without the kernel instrument. */
  zombies_held_by: string | null;
  /** Zombie count over time (for charts; not a CSV column). */
  series: SeriesPoint[];
  /** Latency histogram (for charts; not a CSV column). */
  latency_histogram: LatencyBin[];
}

/** Kinds of parent kept in {@link RunRecord.zombies_by_parent}. */
export const ZOMBIE_HOLDERS_MAX = 5;

/** Completed runs of a summary row (count): `runs − failed_runs − aborted_runs`. */
export function completedRuns(r: Pick<SummaryRow, 'runs' | 'failed_runs' | 'aborted_runs'>): number {
  return r.runs - r.failed_runs - r.aborted_runs;
}

/** Aggregate of the repetitions of one init × configuration (medians over completed runs). */
export interface SummaryRow extends RunConfig {
  init: InitName;
  /** Runs recorded (count). */
  runs: number;
  /** Of those, runs that failed or timed out (count): a failure of the run, not an interrupt. */
  failed_runs: number;
  /** Of those, runs cut short by an interrupt (Ctrl-C, SIGTERM) (count): neither measured nor failed. */
  aborted_runs: number;
  /** Runs in which no fork failed (count). */
  survived_runs: number;
  /** Median time to first fork failure over the runs in which one failed, s; null: all survived. */
  first_fork_failure_s: number | null;
  /** Spread (max − min) of that time, s. */
  first_fork_failure_spread_s: number | null;
  /** Median orphans created before the first fork failure (count). */
  orphans_before_failure: number | null;
  /** Median zombies peak (count). */
  zombies_peak: number | null;
  /** Median of the per-run latency percentiles, µs. */
  reap_latency_p50_us: number | null;
  /** Spread (max − min) over runs of the per-run p50, µs. */
  reap_latency_p50_spread_us: number | null;
  reap_latency_p90_us: number | null;
  reap_latency_p99_us: number | null;
  reap_latency_max_us: number | null;
  /** Median unreaped orphans at the end of a run (count). */
  unreaped: number | null;
  /** Median PID 1 CPU time, ms, and peak RSS, KiB. */
  pid1_cpu_ms: number | null;
  pid1_rss_kib: number | null;
  /** Median achieved orphan rate, per s. */
  achieved_rate_per_s: number | null;
  /** Median baseline tasks and effective budget (counts). */
  baseline_tasks: number | null;
  effective_budget: number | null;
}

/** Environment recorded with every result (env.json). */
export interface EnvironmentRecord {
  reapbench_version: string;
  /** This run's id: every container it made carries the label `reapbench.run=<run_id>`. */
  run_id: string;
  git_commit: string | null;
  node_version: string;
  kernel: string;
  cpu_model: string;
  cpus: number;
  /** `docker`, `podman` or `namespace` (see `--engine`). */
  engine_name: string;
  /** Which runtime `--engine` gave and why (e.g. auto's fallback to the namespace runtime); absent in older records. */
  engine_choice?: string;
  /** The engine's version (`20.10.24`); for the namespace runtime, the util-linux version of its `unshare` (`2.38.1`). */
  engine_version: string;
  /**
   * The Engine API version (`1.41`); null for the namespace runtime, which has no engine. Records
   * written before it was null hold `-` there.
   */
  engine_api_version: string | null;
  /** What the engine's `--init` (the `docker-init` row) runs as PID 1, in words. */
  engine_init: string;
  cgroup_version: 1 | 2;
  image: string;
  image_id: string;
  base_mode: string;
  base_reason: string;
  started_at: string;
  argv: string[];
  /**
   * Clock ticks per second (`getconf CLK_TCK` on the host, the kernel's USER_HZ, the same inside
   * a container): PID 1's CPU time is counted in ticks of 1/clk_tck s. null: getconf failed.
   */
  clk_tck: number | null;
  /** The resolved matrix (JSON of the options). */
  matrix: unknown;
  /** `--instrument` as asked, the instrument used, and why the kernel instrument was not (null when it was). */
  instrument: { requested: string; used: string; reason: string | null };
  /**
   * Which slice of the matrix this run measured (`run --shard`; 1 of 1 without it) and the whole
   * matrix's fingerprint, by which `reapbench merge` knows the shards belong together. Absent in
   * `run --image` results and in a merged folder (which has `merged` instead).
   */
  shard?: ShardRecord;
  /** Set in a folder `reapbench merge` wrote: the shards it joined. The rest of the record is the first shard's. */
  merged?: MergedRecord;
}

/** One run's slice of a sharded matrix (env.json `shard`). */
export interface ShardRecord {
  /** Shard number, 1-based (1 ≤ index ≤ count). */
  index: number;
  /** Shards the matrix was split into (count). */
  count: number;
  /** The whole matrix's fingerprint (16 hex digits): the same in every shard of one matrix. */
  fingerprint: string;
  /**
   * Units (load configurations and named scenarios) of the whole matrix (count): shards numbered
   * above it have nothing to run, by which `reapbench merge` tells them from missing ones.
   * Absent in a folder written before it was recorded (every absent shard then counts as missing).
   */
  units?: number;
}

/** What `reapbench merge` joined (env.json `merged`). */
export interface MergedRecord {
  /** Shards the matrix was split into (count). */
  count: number;
  /** The whole matrix's fingerprint, as in every shard. */
  fingerprint: string;
  /** Shard numbers present, ascending. */
  shards: number[];
  /**
   * Shard numbers absent that had something to run (the merged report says PARTIAL when any
   * is), ascending.
   */
  missing: number[];
  /**
   * Shard numbers that had nothing to run (more shards than units: `run --shard` writes no
   * folder for them), ascending; absent from the merge without making it PARTIAL.
   */
  empty: number[];
  /** Each present shard's own env.json, in shard order (each with its `shard`). */
  environments: EnvironmentRecord[];
}
