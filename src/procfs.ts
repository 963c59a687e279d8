/**
 * Reading one process's `/proc/<pid>/stat` (proc(5)), for ts-reaper and the scenario observer.
 * The load generator's sampler keeps its own allocation-free reader: it scans every process at
 * 10 Hz inside the measured container (src/loadgen/sampler.ts).
 */
import { readFileSync } from 'node:fs';

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
