/**
 * The scenario library (S1–S7): real-world process-tree patterns run under every PID 1 choice.
 * Importing it has no side effect; `--scenario` takes its names from `SCENARIO_NAMES` in
 * `types.ts`, which loads nothing.
 */
export { SCENARIOS, scenarioByName, resolveParams } from './library.js';
export {
  runScenario,
  runScenarioMatrix,
  planMatrix,
  parseObservation,
  compose,
  type RunScenarioOptions,
  type MatrixOptions,
  type PlannedRun,
} from './run.js';
export { traitsOf, type ScenarioDef, type InitTraits } from './def.js';
export * from './types.js';
