// A process with one tracked container whose removal never ends, and a notice sink that tags its
// lines on stdout: the test sends SIGINT twice (or more) and reads what the interrupt handler said,
// and where. It says when a second SIGINT stops being a duplicate of the first.
import { RUN_ID, track } from '../../dist/src/runtime/cleanup.js';
import { DockerRuntime } from '../../dist/src/runtime/docker.js';
import { cleanUpOnInterrupt, DUPLICATE_MS, onInterrupt } from '../../dist/src/run/interrupt.js';

const hanging = { id: 'f'.repeat(64), remove: () => new Promise(() => {}), inspect: () => new Promise(() => {}) };
track(hanging);
// No engine is needed: removing this run's containers goes through the tracked ones only.
cleanUpOnInterrupt(new DockerRuntime(null, 'no engine'));
onInterrupt(
  (signal) => {
    process.stdout.write(`first ${signal}\n`);
    // From here on the same signal again is the user's second one, not a duplicate delivery.
    setTimeout(() => process.stdout.write('duplicate window over\n'), DUPLICATE_MS + 20);
  },
  (line) => process.stdout.write(`NOTICE ${line}\n`),
);
process.stdout.write(`ready ${RUN_ID}\n`);
setInterval(() => {}, 1000);
