/**
 * The bucketed sliding window against a true sliding window (exact event timestamps): it never
 * counts fewer events, and at a steady or random arrival rate it counts under 1 % more.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../src/core/index.js';

const T0 = 1_700_000_000_000;

describe('sliding window resolution', () => {
  it('never undercounts and overcounts by < 1 % on average', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(15_000, 60_000, 3_600_000),
        fc.integer({ min: 200, max: 2_000 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        async (windowMs, eventsPerWindow, seed) => {
          const c = await loadCore({ gcraKeys: 8, windowKeys: 8, uniqueKeys: 8, repeatKeys: 8 });
          let rnd = seed;
          const random = (): number => ((rnd = (Math.imul(rnd, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
          const meanGapMs = windowMs / eventsPerWindow;
          const times: number[] = [];
          let t = T0;
          let relErrSum = 0;
          let samples = 0;
          let oldest = 0;
          while (t < T0 + 4 * windowMs) {
            t += -Math.log(1 - random()) * meanGapMs; // Poisson arrivals
            expect(c.window.take('k', windowMs, 1e9, t)).toBe(0);
            times.push(t);
            if (t > T0 + 1.5 * windowMs) {
              while (times[oldest]! <= t - windowMs) oldest++;
              const exact = times.length - oldest;
              const bucketed = c.window.count('k', windowMs, t);
              expect(bucketed).toBeGreaterThanOrEqual(exact);
              relErrSum += (bucketed - exact) / exact;
              samples++;
            }
          }
          expect(relErrSum / samples).toBeLessThan(0.01);
        },
      ),
      { numRuns: 4 },
    );
  });
});
