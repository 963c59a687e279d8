/**
 * Data-quality checks on recorded runs: things that make a figure less trustworthy than its
 * table cell suggests. Each finding is one line for the terminal and report.md.
 */
import { median } from 'simple-statistics';
import { configLabel } from './config-key.js';
import type { RunRecord } from '../model/records.js';

/** Below this share of the target rate a configuration is flagged (0.9 = 90 %). */
export const RATE_SHORTFALL = 0.9;
/** Above this share of unwatched ("missed") orphans a configuration is flagged (0.05 = 5 %). */
export const MISSED_SHARE = 0.05;

/**
 * Warnings per init × configuration over completed runs:
 *  - achieved orphan rate below {@link RATE_SHORTFALL} × target (runs that survived only: a run
 *    that exhausted the table stops producing, so its rate says nothing);
 *  - more than {@link MISSED_SHARE} of the orphans gone before the watcher could open a pidfd;
 *  - the watcher's own p99 lag (µs) above the reaping latency p50 it measured: the latency
 *    figures are then bounded by the instrument, not by the init. This one is a property of the
 *    machine, not of an init, so it is one line for the whole run naming the inits (and
 *    configurations, when there are several) it applies to, last.
 * @returns one-line messages, in run order of first appearance (empty when all is well).
 */
export function qualityWarnings(runs: readonly RunRecord[]): string[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    if (r.state !== 'completed') continue;
    const key = `${r.init} · ${configLabel(r)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: string[] = [];
  const lagging: RunRecord[] = [];
  for (const [key, rs] of groups) {
    const survived = rs.filter((r) => r.first_fork_failure_s === null);
    if (survived.length > 0) {
      const achieved = median(survived.map((r) => r.achieved_rate_per_s));
      const target = rs[0]!.rate_per_s;
      if (achieved < RATE_SHORTFALL * target)
        out.push(
          `${key}: achieved ${achieved.toFixed(0)} orphans/s of the ${target}/s asked for (the workload CPU is saturated); compare rates by achieved_rate_per_s`,
        );
    }
    const made = rs.reduce((a, r) => a + r.orphans_made, 0);
    const missed = rs.reduce((a, r) => a + r.missed, 0);
    if (made > 0 && missed / made > MISSED_SHARE)
      out.push(
        `${key}: ${missed} of ${made} orphans (${((100 * missed) / made).toFixed(0)} %) exited before they could be watched; raise --lifetime-ms`,
      );
    const lag = rs.map((r) => r.watcher_lag_p99_us).filter((v): v is number => v !== null);
    const p50 = rs.map((r) => r.reap_latency_p50_us).filter((v): v is number => v !== null);
    if (lag.length > 0 && p50.length > 0 && median(lag) > median(p50)) lagging.push(rs[0]!);
  }
  if (lagging.length > 0) {
    const oneConfig = new Set(lagging.map((r) => configLabel(r))).size === 1;
    const which = lagging.map((r) => (oneConfig ? r.init : `${r.init} (${configLabel(r)})`)).join(', ');
    out.push(
      `the watcher's p99 lag exceeds the latency p50 under ${which}: their latencies are upper bounds set by the instrument (lag and p50 per init in report.md, "How measured")`,
    );
  }
  return out;
}
