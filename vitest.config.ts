import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real-process tests (gateway, simulator, redis-server) bind ports and spawn children;
    // two workers match the two cores these machines have.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'unit-and-e2e', include: ['test/**/*.test.ts'], exclude: ['test/fleet/**'], sequence: { groupOrder: 0 } },
      },
      {
        // Fleet tests run each several gateway processes, Redis and an upstream, and judge timing
        // at the simulator (throughput, pair rate, handover): alone, one file at a time, after the rest.
        extends: true,
        test: { name: 'fleet', include: ['test/fleet/**/*.test.ts'], sequence: { groupOrder: 1 }, fileParallelism: false },
      },
    ],
  },
});
