// A process with one tracked container whose removal never ends, and a notice sink that tags its
// lines on stdout: the test sends SIGINT twice and reads what the interrupt handler said, and where.
import { onInterrupt, RUN_ID, track } from '../../dist/src/runtime/cleanup.js';

const hanging = { id: 'f'.repeat(64), remove: () => new Promise(() => {}), inspect: () => new Promise(() => {}) };
track(hanging);
onInterrupt(
  (signal) => process.stdout.write(`first ${signal}\n`),
  (line) => process.stdout.write(`NOTICE ${line}\n`),
);
process.stdout.write(`ready ${RUN_ID}\n`);
setInterval(() => {}, 1000);
