import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gcraTake, KeyedGcra } from '../../src/sim/gcra.js';
import { SlidingMax } from '../../src/sim/sliding-count.js';

/** Brute force: the most events inside any window (t - w, t] ending at an event. */
function bruteMax(times: number[], windowMs: number): number {
  let max = 0;
  for (const t of times) max = Math.max(max, times.filter((u) => u > t - windowMs && u <= t).length);
  return max;
}

describe('SlidingMax', () => {
  it('matches brute force on random non-decreasing timestamps', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 300 }), fc.integer({ min: 1, max: 1000 }), (gaps, windowMs) => {
      const times: number[] = [];
      let t = 0;
      for (const g of gaps) times.push((t += g));
      const s = new SlidingMax(windowMs);
      for (const x of times) s.add(x);
      expect(s.max).toBe(bruteMax(times, windowMs));
    }));
  });
  it('stays correct across compactions of a long queue', () => {
    const s = new SlidingMax(1000);
    for (let i = 0; i < 50_000; i++) s.add(i * 0.5); // 2000 events per 1000 ms
    expect(s.max).toBe(2000);
  });
});

describe('GCRA as an oracle', () => {
  it('never lets more than burst + window/interval through in any window (property)', () => {
    fc.assert(fc.property(
      fc.array(fc.double({ min: 0, max: 50, noNaN: true }), { minLength: 1, maxLength: 400 }),
      fc.integer({ min: 1, max: 20 }), fc.double({ min: 1, max: 100, noNaN: true }),
      (gaps, burst, intervalMs) => {
        let t = 0;
        let tat = -Infinity;
        const accepted: number[] = [];
        for (const g of gaps) {
          t += g;
          const next = gcraTake(tat, t, intervalMs, burst);
          if (next >= 0) {
            tat = next;
            accepted.push(t);
          }
        }
        const windowMs = 10 * intervalMs;
        expect(bruteMax(accepted, windowMs)).toBeLessThanOrEqual(burst + Math.ceil(windowMs / intervalMs));
      },
    ));
  });
  it('KeyedGcra keeps keys independent and bounded', () => {
    const g = new KeyedGcra(16);
    for (let k = 0; k < 100; k++) expect(g.take(`k${k}`, 0, 1000, 1)).toBe(true);
    expect(g.size).toBeLessThanOrEqual(16);
    expect(g.take('k99', 0, 1000, 1)).toBe(false); // recent key still remembered
    expect(g.take('k99', 1000, 1000, 1)).toBe(true);
    expect(g.waitMs('k99', 1000, 1000, 1)).toBe(1000);
  });
});
