/**
 * The PID 1 choices reapbench compares, in the canonical order of every table, chart and
 * option list.
 */

/** PID 1 choices the benchmark compares. `none`: the load generator itself is PID 1. */
export const INITS = ['none', 'tini', 'dumb-init', 'docker-init', 'catatonit', 'ts-reaper'] as const;
/** One PID 1 choice. */
export type InitName = (typeof INITS)[number];
