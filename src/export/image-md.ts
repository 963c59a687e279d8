/**
 * The verdict per init of a `reapbench run --image` run, in the words of the scenario table
 * (`ok`, `leaks N zombies (held by <comm>)`, `fork failed at t s (EAGAIN, <comm>)`,
 * `stop took X s (SIGKILL, 137)`, `skipped: <reason>`), its markdown section of report.md, the
 * image.csv rows, and the `--fail-on` gate. Pure.
 */
import { stringify } from 'csv-stringify/sync';
import type { ImageFacts } from '../model/image.js';
import { INITS } from '../model/inits.js';

/** What `--fail-on` can gate on. */
export const FAIL_ON = ['leak', 'fork-failure', 'slow-stop'] as const;
/** One `--fail-on` condition. */
export type FailOn = (typeof FAIL_ON)[number];

/** The verdict of one init (× pids limit) over its repetitions. */
export interface ImageVerdict {
  init: ImageFacts['init'];
  pids_limit: number;
  /** One line: problems joined by `; `, `ok`, `skipped: …` or `failed: …`. */
  verdict: string;
  /** The conditions found (for `--fail-on`). */
  problems: FailOn[];
  /** Most zombies left at the stop over repetitions (kernel; count), null when none ran. */
  leaked: number | null;
  /** The same from the host's /proc. */
  leaked_proc: number | null;
  /** Longest stop, ms, and the exit status of that run. */
  stop_ms: number | null;
  exit_code: number | null;
  /** "already has <init>" for `none` when the entrypoint is an init; else null. */
  note: string | null;
}

const s1 = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/**
 * Verdicts per init × pids limit, canonical init order. A stop is slow when PID 1 had to be
 * killed (137: SIGKILL after the grace period, i.e. it did not exit on SIGTERM).
 * @param facts every planned run's facts (skipped ones included).
 * @param note for `none`: "already has <init>" when the image's entrypoint is an init.
 */
export function imageVerdicts(facts: readonly ImageFacts[], note: string | null = null): ImageVerdict[] {
  const keys = new Map<string, ImageFacts[]>();
  for (const f of facts) {
    const k = `${f.init}\u0000${f.pids_limit}`;
    keys.set(k, [...(keys.get(k) ?? []), f]);
  }
  const out: ImageVerdict[] = [];
  for (const group of keys.values()) {
    const first = group[0]!;
    const ran = group.filter((f) => f.status === 'ran');
    const base = { init: first.init, pids_limit: first.pids_limit, note: first.init === 'none' ? note : null };
    if (ran.length === 0) {
      const why = first.reason ?? 'no run completed';
      out.push({
        ...base,
        verdict: first.status === 'skipped' ? `skipped: ${why}` : `failed: ${why}`,
        problems: [],
        leaked: null,
        leaked_proc: null,
        stop_ms: null,
        exit_code: null,
      });
      continue;
    }
    const max = (xs: Array<number | null>): number | null =>
      xs.reduce<number | null>((m, x) => (x === null ? m : m === null ? x : Math.max(m, x)), null);
    const leaked = max(ran.map((f) => f.zombies_at_stop));
    const leakedProc = max(ran.map((f) => f.zombies_at_stop_proc));
    const parts: string[] = [];
    const problems: FailOn[] = [];
    if ((leaked ?? 0) > 0) {
      const holder = ran.find((f) => f.zombies_at_stop === leaked)?.held_by;
      parts.push(`leaks ${leaked} zombie${leaked === 1 ? '' : 's'}${holder ? ` (held by ${holder})` : ''}`);
      problems.push('leak');
    }
    const forked = ran.filter((f) => f.fork_failure_s !== null).sort((a, b) => a.fork_failure_s! - b.fork_failure_s!)[0];
    if (forked) {
      // The host's readings date a refusal to the reading after it and cannot name who forked.
      const when = forked.method === 'host' ? `by ${forked.fork_failure_s!.toFixed(2)} s` : `at ${forked.fork_failure_s!.toFixed(2)} s`;
      parts.push(`fork failed ${when} (EAGAIN, ${forked.fork_failure_comm ?? 'comm unknown'})`);
      problems.push('fork-failure');
    }
    const slowest = [...ran].sort((a, b) => (b.stop_latency_ms ?? -1) - (a.stop_latency_ms ?? -1))[0]!;
    const killed = ran.find((f) => f.exit_code === 137 && f.stop_latency_ms !== null);
    if (killed) {
      parts.push(`stop took ${s1(killed.stop_latency_ms!)} (SIGKILL, 137)`);
      problems.push('slow-stop');
    }
    const failed = group.length - ran.length;
    if (failed > 0) parts.push(`${failed} of ${group.length} runs failed`);
    out.push({
      ...base,
      verdict: parts.length === 0 ? 'ok' : parts.join('; '),
      problems,
      leaked,
      leaked_proc: leakedProc,
      stop_ms: killed?.stop_latency_ms ?? slowest.stop_latency_ms,
      exit_code: killed?.exit_code ?? slowest.exit_code,
      note: base.note,
    });
  }
  const order = (i: string): number => (INITS as readonly string[]).indexOf(i);
  return out.sort((a, b) => order(a.init) - order(b.init) || a.pids_limit - b.pids_limit);
}

/**
 * The `--fail-on` gate: one line naming each init and what it did, or null when nothing that
 * was asked for happened.
 */
export function failOnLine(verdicts: readonly ImageVerdict[], failOn: readonly FailOn[]): string | null {
  const hits = verdicts.filter((v) => v.problems.some((p) => failOn.includes(p)));
  if (hits.length === 0) return null;
  return `--fail-on ${failOn.join(',')}: ${hits.map((v) => `${v.init}: ${v.verdict}`).join(' | ')}`;
}

/** The header of the image section. */
export interface ImageReportMeta {
  /** Image reference and id before/after the run. */
  image: string;
  idBefore: string;
  idAfter: string | null;
  /** argv of the image's PID 1 under `none`. */
  argv: readonly string[];
  /** The periodic exec, described, or null. */
  exec: string | null;
  durationS: number;
  stopGraceS: number;
  /** How the runs were measured (`ebpf` or `host`, see ImageFacts.method), and why when not `ebpf` (one line) or null. */
  method: 'ebpf' | 'host';
  methodReason: string | null;
}

/**
 * The verdict table as markdown (report.md and the terminal).
 * @param method `host`: the zombies column has the host's /proc count only (the two counts are then one).
 */
export function imageVerdictTable(verdicts: readonly ImageVerdict[], method: 'ebpf' | 'host' = 'ebpf'): string {
  const multi = new Set(verdicts.map((v) => v.pids_limit)).size > 1;
  const rows = verdicts.map((v) => {
    const stop = v.stop_ms === null ? '–' : `${s1(v.stop_ms)} (${v.exit_code ?? '?'})`;
    const z = v.leaked === null ? '–' : method === 'host' ? `${v.leaked}` : `${v.leaked} / ${v.leaked_proc ?? '–'}`;
    const verdict = v.note ? `${v.note} — ${v.verdict}` : v.verdict;
    return `| ${v.init}${multi ? ` (L${v.pids_limit})` : ''} | ${verdict.replace(/\|/g, '\\|')} | ${z} | ${stop} |`;
  });
  const zHead = method === 'host' ? 'zombies at stop (/proc)' : 'zombies at stop (kernel / /proc)';
  return [`| init | verdict | ${zHead} | stop (exit) |`, '|---|---|---|---|', ...rows].join('\n');
}

/** report.md's section for an image run. */
export function imageMarkdown(meta: ImageReportMeta, verdicts: readonly ImageVerdict[], facts: readonly ImageFacts[]): string {
  const sources = [...new Map(facts.filter((f) => f.pid1_source).map((f) => [f.init, f.pid1_source!])).entries()];
  const unchanged =
    meta.idAfter === null
      ? 'not checked after the run'
      : meta.idAfter === meta.idBefore
        ? 'unchanged by the run'
        : `CHANGED: ${meta.idAfter}`;
  return [
    `## Your image: ${meta.image}`,
    '',
    `- image id ${meta.idBefore} (${unchanged})`,
    `- PID 1 argv without an init: \`${JSON.stringify(meta.argv)}\``,
    `- workload: the image's own behaviour for ${meta.durationS} s${meta.exec ? `, ${meta.exec}` : ''}, then \`docker stop\` with a ${meta.stopGraceS} s grace period`,
    meta.method === 'ebpf'
      ? "- measured by the kernel instrument (eBPF, outside the container): every exit, reap and failed fork; the /proc count reads the host's /proc at the stop request. Zombies left at the stop: those not reaped within 100 ms of the stop request (in /proc: seen in two readings 100 ms apart), so that a zombie a reaping init was about to reap is not counted"
      : `- measured from the host without the kernel instrument${meta.methodReason ? ` (${meta.methodReason})` : ''}: the container's zombies counted in the host's /proc and its pids cgroup's \`pids.events\` read every 100 ms; zombies left at the stop: those seen in two readings 100 ms apart at the stop request. Limits: a zombie reaped between two readings is not seen (a leaked one is: it stays), a fork failure is dated to the reading after it and the process that failed is unknown, and no latency is measured`,
    '',
    imageVerdictTable(verdicts, meta.method),
    '',
    'Where each PID 1 came from:',
    '',
    ...sources.map(([init, src]) => `- ${init}: ${src}`),
    '',
  ].join('\n');
}

/** image.csv: one row per planned run, skipped ones included. */
export function serializeImageCsv(facts: readonly ImageFacts[]): string {
  const columns = Object.keys(facts[0] ?? { init: '' }) as Array<keyof ImageFacts>;
  return stringify(
    facts.map((f) => columns.map((c) => f[c] ?? '')),
    { header: true, columns: columns as string[] },
  );
}
