/**
 * The scenario library (S1–S7): real-world process-tree patterns run under every PID 1 choice.
 * Importing this module registers the scenario names with the bench's `--scenario` option.
 */
import { registerScenarios } from '../bench/matrix.js';
import { SCENARIOS } from './library.js';

registerScenarios(SCENARIOS.map((s) => s.name));

export { SCENARIOS, scenarioByName, resolveParams } from './library.js';
export { runScenario, runScenarioMatrix, planMatrix, parseObservation, compose, type RunScenarioOptions, type MatrixOptions, type PlannedRun } from './run.js';
export { renderMarkdown, scenarioMatrixMarkdown, detailMarkdown, toCsv, rowKey, type ReportMeta } from './report.js';
export { traitsOf, type ScenarioDef, type InitTraits } from './def.js';
export * from './types.js';
