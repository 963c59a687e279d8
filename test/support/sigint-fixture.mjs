// Starts a long container through the built runtime and waits; the test sends SIGINT.
import { connectDockerRuntime } from '../../dist/src/runtime/docker.js';
import { cleanUpOnInterrupt, installHandlers } from '../../dist/src/run/interrupt.js';

// The handlers' lines (runtime/ writes to no stream itself) go to stderr, as reapbench's output object does.
installHandlers((line) => process.stderr.write(`${line}\n`));
const runtime = await connectDockerRuntime();
cleanUpOnInterrupt(runtime);
await runtime.run({
  image: process.argv[2],
  cmd: ['sleep', '1000'],
  timeoutMs: 120_000,
  onStarted: (id) => console.log(`started ${id}`),
});
