/**
 * The figures of a run of a user's image (`reapbench run --image`) that the synthetic load's
 * `RunRecord` (records.ts) has no column for: one {@link ImageFacts} per planned run, skipped ones
 * included, written to image.csv and turned into the verdict per init.
 */
import type { InitName } from './inits.js';

/** The image-specific figures of one run (image.csv), beside its `RunRecord` (records.ts). */
export interface ImageFacts {
  init: InitName;
  pids_limit: number;
  repetition: number;
  /** `ran`, or `skipped` (not injectable; see `reason`), or `failed` (see the record's reason). */
  status: 'ran' | 'skipped' | 'failed';
  /** Why it was skipped or failed; for `none` also "already has <init>" when the entrypoint is one. */
  reason: string | null;
  /** Where PID 1 came from. */
  pid1_source: string | null;
  /**
   * How the run was measured: `ebpf` (the kernel instrument: exact) or `host` (the host's /proc and
   * pids cgroup read every 100 ms: a zombie reaped between readings is not seen, the first fork
   * failure is dated to the next reading, its comm and the adopted orphans are unknown); null: not run.
   */
  method: 'ebpf' | 'host' | null;
  /** Zombies in the container when the stop was requested, from the kernel's events (count). */
  zombies_at_stop: number | null;
  /** The same instant read from the host's /proc: processes in state Z in the container's PID namespace (count). */
  zombies_at_stop_proc: number | null;
  /** comm of the process holding most of those zombies (their parent), or null. */
  held_by: string | null;
  /** Adopted orphans (re-parented before they exited) seen during the run (count). */
  adopted_orphans: number | null;
  /** First fork failure with EAGAIN, s since the container started; null: none. */
  fork_failure_s: number | null;
  /** comm of the process whose fork failed first. */
  fork_failure_comm: string | null;
  /** `docker stop` request → PID 1's exit, ms; null when PID 1 exited before. */
  stop_latency_ms: number | null;
  /** PID 1's exit status (128 + signal: 137 SIGKILL after the grace period, 143 SIGTERM). */
  exit_code: number | null;
  /** Execs started, of them timed out, of them that could not start the command (counts). */
  execs: number;
  exec_timeouts: number;
  exec_not_found: number;
  /** The first exec's error output when the command could not be started, else null. */
  exec_error: string | null;
}
