import { describe, expect, it } from 'vitest';
import { ArrivalAnchor } from '../../src/dispatch/arrival-anchor.js';
import { pushTo } from '../../src/dispatch/limits.js';
import { CoreKey } from '../../src/core/keyhash.js';
import type { Pacer } from '../../src/dispatch/types.js';


describe('ArrivalAnchor', () => {
  it('holds all but the opening burst until the first answer, then moves the burst to when it may have arrived', () => {
    const a = new ArrivalAnchor();
    a.waited(); // no busy period: nothing to hold
    expect(a.holds).toBe(false);
    a.start(1000, 0);
    // Three leave at once (20 mps): the bucket's TAT after the third is 1150.
    for (const tat of [1050, 1100, 1150]) a.departed(tat);
    expect(a.holds).toBe(false); // the bucket let them go: the opening burst
    a.waited(); // the fourth has to wait for the bucket
    expect(a.holds).toBe(true);
    // A request from before the busy period came back: it says nothing about this one.
    expect(a.cameBack(990, 1100)).toBeNaN();
    // The first answer at 1160: the burst may have arrived as late as that.
    expect(a.cameBack(1000, 1160)).toBe(1150 + 160);
    expect(a.opening).toBe(false);
    expect(a.holds).toBe(false);
    // Later answers change nothing.
    expect(a.cameBack(1000, 1170)).toBeNaN();
  });

  it('takes off the usual answer time, and never pulls the bucket forward', () => {
    const a = new ArrivalAnchor();
    a.start(1000, 120);
    a.departed(1050);
    a.departed(1100);
    expect(a.cameBack(1000, 1300)).toBe(1100 + 180);
    a.start(5000, 120);
    a.departed(5050);
    a.departed(5100);
    expect(a.cameBack(5000, 5100)).toBe(5100); // faster than usual: where it was
  });

  it('holds nothing after a single request: one request is no burst', () => {
    const a = new ArrivalAnchor();
    a.start(1000, 0);
    a.departed(1050);
    a.waited();
    expect(a.holds).toBe(false);
    expect(a.opening).toBe(false);
    expect(a.cameBack(1000, 2000)).toBeNaN();
  });
});

/** The GCRA of the WASM core, reduced to one key: what pushTo relies on. */
function gcra(): Pacer & { tat: number } {
  const p = {
    tat: Number.NEGATIVE_INFINITY,
    checkKey(_k: CoreKey, rate: number, burst: number, now: number) {
      const wait = Math.max(p.tat, now) - now - (burst - 1) * (1000 / rate);
      return wait > 0 ? wait : 0;
    },
    takeKey(k: CoreKey, rate: number, burst: number, now: number) {
      const wait = p.checkKey(k, rate, burst, now);
      if (wait === 0) p.tat = Math.max(p.tat, now) + 1000 / rate;
      return wait;
    },
  };
  return p;
}

describe('pushTo', () => {
  const key = CoreKey.of('dispatch:1');

  it('moves a TAT in the future to the target', () => {
    const p = gcra();
    p.tat = 1950;
    pushTo(p, key, 2110, 1000);
    expect(p.tat).toBeCloseTo(2110, 6);
  });

  it('moves a TAT in the past to the target, from now', () => {
    const p = gcra();
    p.tat = 900;
    pushTo(p, key, 1300, 1000);
    expect(p.tat).toBeCloseTo(1300, 6);
  });

  it('never moves a TAT back', () => {
    const p = gcra();
    p.tat = 1950;
    pushTo(p, key, 1500, 1000);
    expect(p.tat).toBe(1950);
  });
});
