import { defineConfig } from 'vitest/config';

// Three tiers, one folder each, so that a newcomer gets feedback in seconds and CI runs all:
//   unit   (test/unit):   pure code; no build, no root, no engine. Runs anywhere in seconds.
//   local  (test/local):  real processes, PID namespaces and pids cgroups; needs the build and root.
//   engine (test/engine): real containers; needs the build and a Docker engine.
// `npm run test:<tier>` runs one; `npm test` runs all three through scripts/test-tiers.mjs.
//
// The integration tiers start real processes and containers on a 2-core machine: their files run
// one at a time so that they do not compete, and every wait in them waits for an event (a line,
// a file, a /proc state) with a generous deadline rather than a fixed time.
const tier = (name: string, integration: boolean) => ({
  extends: true as const,
  test: {
    name,
    include: [`test/${name}/**/*.test.ts`],
    ...(integration ? { fileParallelism: false, testTimeout: 120_000, hookTimeout: 300_000 } : { testTimeout: 30_000 }),
  },
});

export default defineConfig({
  test: {
    pool: 'forks',
    reporters: ['default'],
    projects: [tier('unit', false), tier('local', true), tier('engine', true)],
  },
});
