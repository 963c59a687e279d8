/**
 * `/proc/<pid>/stat` (proc(5)) parsed into the fields reapbench uses, one process at a time or
 * every process of the caller's PID namespace. For ts-reaper (its child's state, its descendants
 * at shutdown), the scenario observer and the tests. The load generator's 10 Hz sampler uses the
 * allocation-free scans of scan.ts instead.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of `/proc/<pid>/stat` that reapbench uses (proc(5) fields 1–6 and 19). */
export interface ProcStat {
  pid: number;
  /** The command name, without its parentheses; may hold spaces and parentheses. */
  comm: string;
  /** State letter: `R`, `S`, `D`, `T` (stopped), `Z` (zombie), `X`, … */
  state: string;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** Session id. */
  sid: number;
  /** Nice value, −20…19 (per thread when read as /proc/<tid>/stat). */
  nice: number;
}

/** Parse the text of `/proc/<pid>/stat`: comm is parenthesised and may hold spaces. Null when malformed. */
export function parseStat(text: string): ProcStat | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const rest = text.slice(close + 2).split(' ');
  return {
    pid: Number(text.slice(0, open).trim()),
    comm: text.slice(open + 1, close),
    state: rest[0] ?? '?',
    ppid: Number(rest[1]),
    pgid: Number(rest[2]),
    sid: Number(rest[3]),
    nice: Number(rest[16]),
  };
}

/**
 * Read and parse `/proc/<pid>/stat`; null when the process is gone (or the file malformed). A
 * thread id works too (`/proc/<tid>` exists though it is not listed), giving that thread's state
 * and nice value.
 */
export function readStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return null;
  }
}

/**
 * Every process of the caller's PID namespace, zombies included, in `/proc` order. A process
 * that goes between the listing and its read is skipped; one that appears meanwhile is missed
 * (callers that must see all repeat the scan).
 */
export function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}
