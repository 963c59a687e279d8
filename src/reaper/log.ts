/**
 * The shape of ts-reaper's lines on stderr, in its two formats (`--log-format text|json`). Used
 * by the main thread and the wait thread; pure string building, no I/O.
 *
 * `text` (default) is the historical form, `ts-reaper: <message>`. `json` writes every line as
 * one JSON object, so that a log collector can parse the stream without guessing: a reaped
 * process is a `reap` event with its fields ({@link ReapRecord}); everything else is a
 * `message` event with a level and the same words the text form has.
 */
import { constants } from 'node:os';
import { decodeWaitStatus, exitStatusOf } from '../ffi/wait.js';

/** `text`: `ts-reaper: …` lines. `json`: one JSON object per line. */
export type LogFormat = 'text' | 'json';

/** Severity of a `message` line: `info` is verbose (-v) output, `warning` and `error` always show. */
export type LogLevel = 'info' | 'warning' | 'error';

/** One reaped process, as the wait thread saw it. */
export interface ReapRecord {
  /** The pid waitpid returned, in ts-reaper's PID namespace. */
  pid: number;
  /**
   * Its command name (`/proc/<pid>/comm`, at most 15 bytes), read while it was a zombie, after
   * `waitid(WNOWAIT)` and before `waitpid` reaped it. Null when that read failed.
   */
  comm: string | null;
  /** `command`: the process ts-reaper started. `adopted`: an orphan re-parented to ts-reaper. */
  role: 'command' | 'adopted';
  /** The raw wait status word (glibc `bits/waitstatus.h`). */
  status: number;
  /**
   * Microseconds from the return of the wait thread's `waitid(WNOWAIT)`, the first moment
   * ts-reaper knew the process had exited, to the return of the `waitpid` that reaped it (the
   * comm read included). A lower bound of the zombie's life: the time from the exit to that
   * wake-up is not visible from inside (an outside observer measures it: bench/reaper-latency).
   */
  seenToReapedUs: number;
}

/** Signal number → canonical name (`SIGTERM`), built on first use; aliases keep the first name. */
let signalNames: Map<number, string> | undefined;

function signalNameOf(num: number): string {
  if (signalNames === undefined) {
    signalNames = new Map();
    for (const [name, n] of Object.entries(constants.signals as Record<string, number>))
      if (!signalNames.has(n) && name !== 'SIGIOT' && name !== 'SIGPOLL') signalNames.set(n, name);
  }
  return signalNames.get(num) ?? `SIG${num}`;
}

/**
 * One `message` line with its newline: `ts-reaper: <text>` in the text format; in JSON
 * `{"event":"message","time":…,"level":…,"text":…}`, `time` an ISO 8601 UTC timestamp (ms).
 */
export function formatMessage(format: LogFormat, level: LogLevel, text: string): string {
  if (format === 'text') return `ts-reaper: ${text}\n`;
  return `${JSON.stringify({ event: 'message', time: new Date().toISOString(), level, text })}\n`;
}

/**
 * One JSON `reap` line with its newline. Fields: `event` "reap", `time` (ISO 8601 UTC, ms: when
 * the line was made, just after the reap), `pid`, `comm` (string or null), `role`,
 * `exit_status` (the shell's convention: the exit code, or 128 + the signal number),
 * `exit_code` (number, null when killed by a signal), `signal` (name such as "SIGTERM", null when
 * it exited), `core_dumped`, and `seen_to_reaped_us` (number with
 * 0.1 µs resolution) ({@link ReapRecord} says what each means). Pure apart from the clock.
 */
export function formatReapJson(r: ReapRecord): string {
  const s = decodeWaitStatus(r.status);
  return `${JSON.stringify({
    event: 'reap',
    time: new Date().toISOString(),
    pid: r.pid,
    comm: r.comm,
    role: r.role,
    exit_status: exitStatusOf(s),
    exit_code: s.kind === 'exited' ? s.code : null,
    signal: s.kind === 'signaled' ? signalNameOf(s.signal) : null,
    core_dumped: s.kind === 'signaled' && s.coreDumped,
    seen_to_reaped_us: Math.round(r.seenToReapedUs * 10) / 10,
  })}\n`;
}
