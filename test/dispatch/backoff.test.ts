import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pairParkMs, retryDelayMs } from '../../src/dispatch/backoff.js';
import { BELOW_CEILING, PROBE_AFTER_MS, PROBE_EVERY_MS, RateControl } from '../../src/dispatch/rate-control.js';

describe('retryDelayMs (full jitter)', () => {
  it('stays within [1, min(max, base·2^(attempt-1))]', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0, max: 0.9999999, noNaN: true }), (attempt, base, max, r) => {
        const d = retryDelayMs(attempt, base, max, () => r);
        const cap = Math.min(max, base * 2 ** (attempt - 1));
        return d >= 1 && d <= Math.max(1, cap);
      }),
    );
  });

  it('the cap doubles per attempt until retryMaxMs', () => {
    const top = () => 0.9999999;
    expect(retryDelayMs(1, 1000, 300_000, top)).toBe(999);
    expect(retryDelayMs(2, 1000, 300_000, top)).toBe(1999);
    expect(retryDelayMs(4, 1000, 300_000, top)).toBe(7999);
    expect(retryDelayMs(20, 1000, 300_000, top)).toBe(299_999);
  });
});

describe('pairParkMs (Meta: 4^X s per consecutive 131056)', () => {
  it('1 s, 4 s, 16 s, 64 s, capped at one hour', () => {
    expect([1, 2, 3, 4].map(pairParkMs)).toEqual([1000, 4000, 16_000, 64_000]);
    expect(pairParkMs(30)).toBe(3_600_000);
  });
});

describe('RateControl (AIMD after 130429, with a learned ceiling)', () => {
  it('halves on a throttle, does not compound within the hold time, recovers linearly to just below the refused rate', () => {
    const rc = new RateControl();
    const t0 = 1_000_000;
    expect(rc.current(72, t0)).toBe(72);
    expect(rc.decrease(72, t0)).toBe(true);
    expect(rc.current(72, t0)).toBe(36);
    // answers to requests already in flight: absorbed
    expect(rc.decrease(72, t0 + 200)).toBe(false);
    expect(rc.current(72, t0 + 200)).toBeCloseTo(36 + 7.2 * 0.2);
    // 10 % of the target per second, up to 95 % of the refused 72 (68.4), reached after 4.5 s
    expect(rc.current(72, t0 + 2500)).toBeCloseTo(54);
    expect(rc.current(72, t0 + 5000)).toBeCloseTo(72 * BELOW_CEILING);
    expect(rc.current(72, t0 + 50_000)).toBeCloseTo(72 * BELOW_CEILING);
  });

  it('probes above the learned ceiling rarely, and forgets it once probing reaches the target', () => {
    const rc = new RateControl();
    const t0 = 0;
    rc.current(80, t0);
    rc.decrease(80, t0); // refused at 80 (the upstream really allows less)
    rc.current(80, t0 + 3000);
    rc.decrease(80, t0 + 3000); // refused again at 40 + 24 = 64
    expect(rc.current(80, t0 + 30_000)).toBeCloseTo(64 * BELOW_CEILING);
    // PROBE_AFTER_MS after the last refusal: one step of 5 % above the ceiling, then one per PROBE_EVERY_MS
    expect(rc.current(80, t0 + 3000 + PROBE_AFTER_MS - 1)).toBeCloseTo(64 * BELOW_CEILING);
    expect(rc.current(80, t0 + 3000 + PROBE_AFTER_MS)).toBeCloseTo(64 * 1.05 * BELOW_CEILING);
    expect(rc.current(80, t0 + 3000 + PROBE_AFTER_MS + PROBE_EVERY_MS)).toBeCloseTo(64 * 1.1 * BELOW_CEILING);
    // enough quiet steps: the ceiling is gone and the target holds again
    expect(rc.current(80, t0 + 3000 + PROBE_AFTER_MS + 10 * PROBE_EVERY_MS)).toBe(80);
    expect(rc.snapshot()).toBeNull();
  });

  it('a second throttle after the hold time lowers further, never below the floor', () => {
    const rc = new RateControl();
    let t = 0;
    for (let i = 0; i < 20; i++) {
      rc.decrease(100, t);
      t += 1000;
    }
    // each decrease halves what recovered in the second since; the floor (5 %) holds it up
    expect(rc.current(100, t - 1000)).toBeGreaterThanOrEqual(5);
    expect(rc.current(100, t - 1000)).toBeLessThan(25);
  });

  it('snapshot and restore carry the slow-down and the ceiling over to a new instance (a restart)', () => {
    const rc = new RateControl();
    rc.decrease(80, 1000);
    const copy = new RateControl();
    copy.restore(JSON.parse(JSON.stringify(rc.snapshot())));
    for (const t of [1000, 2500, 9000, 70_000]) expect(copy.current(80, t)).toBeCloseTo(rc.current(80, t));
  });
});
