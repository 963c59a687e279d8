/**
 * One cell of the benchmark matrix: the configuration a container run is made under, and the
 * fields that identify it in every table, key and file.
 */
import type { InitName } from './inits.js';

/** The configuration of one cell of the matrix (everything but init and repetition). */
export interface RunConfig {
  /** Scenario name (`orphans` for the plain load, or one of the S1–S7 scenarios). */
  scenario: string;
  /** `pids.max` of the container (tasks). */
  pids_limit: number;
  /** Target orphan rate, orphans per second. */
  rate_per_s: number;
  /** How long each orphan lives before it exits, ms. */
  lifetime_ms: number;
  /** Length of orphan production, s. */
  duration_s: number;
}

/** Fields of {@link RunConfig}, in the order they are grouped, sorted and printed. */
export const CONFIG_FIELDS = [
  'scenario',
  'pids_limit',
  'rate_per_s',
  'lifetime_ms',
  'duration_s',
] as const satisfies readonly (keyof RunConfig)[];

/** The fields that identify one init × configuration cell of the matrix. */
export type CellKey = RunConfig & { init: InitName };
