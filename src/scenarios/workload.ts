/**
 * In-container entry of the scenario library (bundled to dist/scenario.mjs):
 *   node /app/dist/scenario.mjs <scenario> [params-json]   run a scenario's workload
 *   node /app/dist/scenario.mjs stub <argv…>               S5's never-reaping PID 1 stub
 *   node /app/dist/scenario.mjs stop-worker <handler_ms>   S6's worker with a SIGTERM handler
 * The workload prints its observation as one `RB-RESULT {json}` line on stdout.
 */
import { resolveParams, scenarioByName, SCENARIOS } from './library.js';
import { stub } from './s5-init-not-pid1.js';
import { stopWorker } from './s6-stop-latency.js';

async function main(argv: string[]): Promise<number | null> {
  const [name, ...rest] = argv;
  if (name === 'stub') {
    stub(rest);
    return null; // exits with the child's status
  }
  if (name === 'stop-worker') {
    stopWorker(Number(rest[0] ?? 500));
    return null; // runs until signalled
  }
  const def = name ? scenarioByName(name) : undefined;
  if (!def?.workload) {
    process.stderr.write(
      `scenario: expected one of ${SCENARIOS.filter((s) => s.workload)
        .map((s) => s.name)
        .join(', ')}, stub or stop-worker; got \`${name ?? ''}\`\n`,
    );
    return 2;
  }
  const params = resolveParams(def, rest[0] ? (JSON.parse(rest[0]) as Record<string, unknown>) : {});
  await def.workload(params, rest.slice(1));
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`scenario: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
