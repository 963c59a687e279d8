/**
 * The options of `reapbench run`, as the command line (src/cli/main.ts) hands them over. They
 * live with the command, not with the parser, so that the command depends on nothing in cli/.
 */

/** Options of `reapbench run` as commander delivers them (strings until validated). */
export interface RunCliOptions {
  preset?: string;
  inits?: string;
  scenario?: string;
  limits?: string;
  rates?: string;
  lifetimeMs?: string;
  durationS?: string;
  repetitions?: string;
  warmup: boolean;
  seed?: string;
  runTimeoutS?: string;
  matrix?: string;
  base: string;
  out: string;
  ci: boolean;
  baseline?: string;
  p50Factor: string;
  progress: boolean;
  pin: boolean;
  verbose: boolean;
}
