/**
 * The kernel instrument: eBPF tracepoints, outside the container, that see every
 * zombie's exit and reap instant, its reaper and every failed fork of a container, in
 * CLOCK_MONOTONIC ns. Use:
 *
 *   const a = tracerAvailability();            // { available } or { available: false, reason }
 *   const tracer = await startTracer({ signal });  // before the container starts
 *   … start the container; t0Ns = process.hrtime.bigint(); pidNs = pidNamespaceInode(pid1) …
 *   const trace = await tracer.stop();
 *   const m = matchTrace(trace.events, { pidNsInode: pidNs, t0Ns, stats: trace.stats });
 */
export { tracerAvailability, tracerBinaryPath, type TracerAvailability, type AvailabilityProbe } from './availability.js';
export { startTracer, type StartTracerOptions, type Tracer, type Trace } from './tracer.js';
export {
  matchTrace,
  type MatchOptions,
  type TraceMatch,
  type ProcessRecord,
  type ProcessOutcome,
  type ProcessRef,
  type Reaper,
  type ForkFailure,
  type ZombiePoint,
  type ParentZombies,
} from './match.js';
export { pidNamespaceInode } from './pid-namespace.js';
export {
  parseTracerLine,
  unescapeComm,
  type TracerEvent,
  type ExitEvent,
  type ReapEvent,
  type ForkEvent,
  type FreeEvent,
  type ForkFailEvent,
  type NsPid,
  type TracerStats,
  type TracerLine,
} from './protocol.js';
