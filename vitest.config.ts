import { defineConfig } from 'vitest/config';

// Integration tests start real processes and containers on a 2-core machine: run test files
// one at a time so that timing-sensitive checks do not compete, and give waits generous bounds.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
