/**
 * How reaping latency is measured (`reapbench run --instrument`):
 * - `ebpf`: the kernel instrument (src/tracer/), outside the container: eBPF tracepoints see the
 *   SIGCHLD generation of each exit and the return of the reaper's wait4/waitid, in
 *   CLOCK_MONOTONIC ns; the container holds only the workload (`orphanage solo`);
 * - `pidfd`: the load generator's watcher inside the container (pidfd + epoll): upper bounds set
 *   by its own wake-up lag, and 8–13 of the container's tasks;
 * - `both`: the load generator with its watcher and the kernel instrument together, for a
 *   cross-check of the two methods on the same orphans.
 */
export const INSTRUMENTS = ['ebpf', 'pidfd', 'both'] as const;

/** One of {@link INSTRUMENTS}. */
export type Instrument = (typeof INSTRUMENTS)[number];

/** What each instrument is and where it looks from, one clause each (the run's first lines name it); `host` is `--image`'s fallback. */
export const INSTRUMENT_DESCRIPTIONS: Readonly<Record<Instrument | 'host', string>> = {
  host: "the host's /proc and the container's pids cgroup, read every 100 ms: sampled, so zombies reaped between readings are not seen",
  ebpf: 'kernel tracepoints, outside the container: exact, and nothing of it runs in the container',
  pidfd:
    "a pidfd watcher inside the container: latencies are upper bounds set by its wake-up lag, and it takes some of the container's tasks",
  both: 'kernel tracepoints outside the container, with the pidfd watcher inside it as a cross-check',
};

/**
 * The one line that names a run's instrument, e.g. `instrument: ebpf (kernel tracepoints,
 * outside the container: …), chosen by --instrument auto`: the instrument used, what it is, and
 * the `--instrument` value that chose it when that was not the instrument itself (`auto`). Why
 * the kernel instrument was not used is `choice.reason`, a line of its own. Pure.
 * @param choice env.json's `instrument` record: `--instrument` as asked, the instrument used.
 */
export function instrumentLine(choice: { requested: string; used: string }): string {
  const what = (INSTRUMENT_DESCRIPTIONS as Readonly<Record<string, string>>)[choice.used];
  const chosen = choice.requested !== choice.used ? `, chosen by --instrument ${choice.requested}` : '';
  return `instrument: ${choice.used}${what ? ` (${what})` : ''}${chosen}`;
}
