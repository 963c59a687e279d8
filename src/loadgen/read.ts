/**
 * Reading a results file back (for the bench harness): split the NDJSON lines by type and check
 * that the file is complete.
 */
import { readFileSync } from 'node:fs';
import type { ForkFailureEvent, LoadgenEvent, LoadgenSummary, OrphanEvent, SampleEvent, StartEvent } from './types.js';
import { LOADGEN_SCHEMA } from './types.js';

/** A results file, split by line type. */
export interface LoadgenResults {
  start: StartEvent;
  orphans: OrphanEvent[];
  samples: SampleEvent[];
  forkFailures: ForkFailureEvent[];
  summary: LoadgenSummary;
}

/**
 * Parse the text of a results file.
 * @throws Error when a line is not JSON, the first line is not `start`, the last is not
 *   `summary` (an incomplete file), or the schema differs from {@link LOADGEN_SCHEMA}.
 */
export function parseLoadgenResults(text: string): LoadgenResults {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const events = lines.map((l, i) => {
    try {
      return JSON.parse(l) as LoadgenEvent;
    } catch {
      throw new Error(`line ${i + 1} is not JSON`);
    }
  });
  const start = events[0];
  const summary = events[events.length - 1];
  if (start?.type !== 'start') throw new Error('the first line is not a start event');
  if (summary?.type !== 'summary') throw new Error('the last line is not a summary: the run did not complete');
  if (start.schema !== LOADGEN_SCHEMA || summary.schema !== LOADGEN_SCHEMA) {
    throw new Error(`schema ${summary.schema} is not the supported ${LOADGEN_SCHEMA}`);
  }
  const r: LoadgenResults = { start, summary, orphans: [], samples: [], forkFailures: [] };
  for (const e of events) {
    if (e.type === 'orphan') r.orphans.push(e);
    else if (e.type === 'sample') r.samples.push(e);
    else if (e.type === 'fork_failure') r.forkFailures.push(e);
  }
  return r;
}

/** {@link parseLoadgenResults} of a file. @throws Error as it does, or the read error. */
export function readLoadgenResults(file: string): LoadgenResults {
  return parseLoadgenResults(readFileSync(file, 'utf8'));
}
