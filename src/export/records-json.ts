/**
 * records.json: the results of a run in full, as the view holds them, for `reapbench merge`.
 *
 * runs.csv and scenarios.csv are for people and spreadsheets and leave out what has no column:
 * the zombie series and latency histograms the charts are drawn from, who held the zombies, a
 * scenario's observation and expectation. A merge must redraw the charts and rewrite every file
 * of the joined runs exactly as a single run would, so it reads them back from here.
 */
import type { RunRecord } from '../model/records.js';
import type { ScenarioResult } from '../scenarios/types.js';
import type { ReportMeta } from './scenarios-md.js';
import type { ResultsView } from './view.js';

/** Version of the records.json layout; a reader refuses any other. */
export const RECORDS_SCHEMA = 1;

/** File name of the records in a results folder. */
export const RECORDS_FILE = 'records.json';

/** What records.json holds. */
export interface RecordsFile {
  /** {@link RECORDS_SCHEMA}. */
  schema: number;
  /** The load part: every recorded run in full (series and histograms included), and why it ended partial (absent: it did not). Null: no load part. */
  load: { runs: RunRecord[]; partialReason?: string } | null;
  /** The scenario part: every result in full and the header of scenarios.md. Null: no scenario part. */
  scenarios: { results: ScenarioResult[]; meta: ReportMeta } | null;
}

/** records.json's text for a view: one line of JSON (it is read by programs). Pure. */
export function serializeRecords(view: ResultsView): string {
  const file: RecordsFile = {
    schema: RECORDS_SCHEMA,
    load: view.load && {
      runs: [...view.load.runs],
      ...(view.load.partialReason !== undefined ? { partialReason: view.load.partialReason } : {}),
    },
    scenarios: view.scenarios && { results: [...view.scenarios.results], meta: view.scenarios.meta },
  };
  return `${JSON.stringify(file)}\n`;
}

/**
 * Parse records.json's text (pure).
 * @throws Error with one line saying what is wrong: not JSON, another schema, or a part that is
 *   not of the expected shape (its runs or results not an array).
 */
export function parseRecords(text: string): RecordsFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const d = data as Partial<RecordsFile> | null;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw new Error('not an object');
  if (d.schema !== RECORDS_SCHEMA) throw new Error(`schema ${String(d.schema)}, expected ${RECORDS_SCHEMA}`);
  if (d.load !== null && !Array.isArray(d.load?.runs)) throw new Error('`load.runs` is not an array');
  if (d.scenarios !== null && (!Array.isArray(d.scenarios?.results) || typeof d.scenarios?.meta !== 'object'))
    throw new Error('`scenarios` has no results array or meta');
  return d as RecordsFile;
}
