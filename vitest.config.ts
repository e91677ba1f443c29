import { defineConfig } from 'vitest/config';

/**
 * Tests that judge timing at the simulator run alone, one file at a time, after the rest: the fleet
 * tests (several gateway processes, Redis and an upstream: throughput, pair rate, handover) and the
 * pacing test (the full rate with only 50 ms of jitter tolerance, which a neighbour's burst of CPU
 * on these 2 cores can exceed: it refused one message in 2 of 8 CI runs while sharing the machine).
 */
const ALONE = ['test/fleet/**/*.test.ts', 'test/dispatch/pacing.test.ts', 'test/dispatch/late-arrival.test.ts'];

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
        test: { name: 'unit-and-e2e', include: ['test/**/*.test.ts'], exclude: [...ALONE], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'alone', include: [...ALONE], sequence: { groupOrder: 1 }, fileParallelism: false },
      },
    ],
  },
});
