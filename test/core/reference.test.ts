import { describe, expect, it } from 'vitest';
import { createReferenceCore } from '../../src/core/reference.js';

const T0 = 1_700_000_000_000;

describe('reference model', () => {
  it('gcra: burst exactly used, one over, refill', () => {
    const c = createReferenceCore();
    for (let i = 0; i < 80; i++) expect(c.gcra.take('n', 80, 80, T0)).toBe(0);
    expect(c.gcra.check('n', 80, 80, T0)).toBe(13); // 12.5 ms rounded up
    expect(c.gcra.take('n', 80, 80, T0)).toBe(13);
    expect(c.gcra.take('n', 80, 80, T0 + 12.5)).toBe(0);
  });

  it('window: limit then a slot frees when the oldest bucket leaves', () => {
    const c = createReferenceCore();
    for (let i = 0; i < 3; i++) expect(c.window.take('w', 12_800, 3, T0)).toBe(0);
    const wait = c.window.take('w', 12_800, 3, T0);
    expect(wait).toBeGreaterThan(12_800 - 1);
    expect(wait).toBeLessThanOrEqual(12_900);
    expect(c.window.take('w', 12_800, 3, T0 + wait)).toBe(0);
  });

  it('unique: idempotent, refuses beyond the limit, release gives the slot back', () => {
    const c = createReferenceCore();
    expect(c.unique.charge('p', 'a', 2, T0)).toBe(0);
    expect(c.unique.charge('p', 'a', 2, T0)).toBe(0);
    expect(c.unique.charge('p', 'b', 2, T0)).toBe(0);
    expect(c.unique.count('p', T0)).toBe(2);
    expect(c.unique.charge('p', 'c', 2, T0)).toBeGreaterThan(86_400_000 - 1);
    c.unique.release('p', 'b', T0);
    expect(c.unique.charge('p', 'c', 2, T0)).toBe(0);
  });

  it('repeat: distinct recipients per fingerprint', () => {
    const c = createReferenceCore();
    const fp = c.fingerprintOf('Hi Ana, code 1');
    expect(c.repeat.charge('s', fp, 'a', 60_000, 2, T0)).toBe(0);
    expect(c.repeat.charge('s', fp, 'b', 60_000, 2, T0)).toBe(0);
    expect(c.repeat.charge('s', fp, 'a', 60_000, 2, T0)).toBe(0);
    expect(c.repeat.charge('s', fp, 'c', 60_000, 2, T0)).toBeGreaterThan(0);
    expect(c.repeat.charge('other', fp, 'c', 60_000, 2, T0)).toBe(0);
  });
});
