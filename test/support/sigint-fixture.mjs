// Starts a long container through the built runtime and waits; the test sends SIGINT.
import { connectEngine } from '../../dist/src/runtime/engine.js';
import { runContainer } from '../../dist/src/runtime/container.js';
import { installHandlers } from '../../dist/src/runtime/cleanup.js';

// The handlers' lines (runtime/ writes to no stream itself) go to stderr, as reapbench's output object does.
installHandlers((line) => process.stderr.write(`${line}\n`));
const d = await connectEngine();
await runContainer(d, {
  image: process.argv[2],
  cmd: ['sleep', '1000'],
  timeoutMs: 120_000,
  onStarted: (id) => console.log(`started ${id}`),
});
