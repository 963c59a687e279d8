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
