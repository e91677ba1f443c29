/** Known answers at the edges, through the WASM core (the differential test holds the reference to the same). */
import { describe, expect, it } from 'vitest';
import { loadCore, type Core } from '../../src/core/index.js';

const T0 = 1_700_000_000_000;
const DAY_MS = 86_400_000;
const small = (): Promise<Core> => loadCore({ gcraKeys: 64, windowKeys: 64, uniqueKeys: 64, repeatKeys: 64 });

describe('gcra', () => {
  it('admits exactly the burst at one instant, refuses one over with the interval as wait', async () => {
    const c = await small();
    for (let i = 0; i < 80; i++) expect(c.gcra.take('n', 80, 80, T0)).toBe(0);
    expect(c.gcra.check('n', 80, 80, T0)).toBe(13); // interval 12.5 ms, rounded up
    expect(c.gcra.take('n', 80, 80, T0)).toBe(13);
    expect(c.gcra.take('n', 80, 80, T0 + 12)).toBe(1); // refusals charged nothing
    expect(c.gcra.take('n', 80, 80, T0 + 12.5)).toBe(0);
  });

  it('check charges nothing', async () => {
    const c = await small();
    for (let i = 0; i < 10; i++) expect(c.gcra.check('n', 1, 1, T0)).toBe(0);
    expect(c.gcra.take('n', 1, 1, T0)).toBe(0);
    expect(c.gcra.check('n', 1, 1, T0)).toBe(1000);
  });

  it('refills fully after idle and then holds a full burst again', async () => {
    const c = await small();
    for (let i = 0; i < 5; i++) c.gcra.take('n', 10, 5, T0);
    expect(c.gcra.take('n', 10, 5, T0)).toBe(100);
    const later = T0 + 500; // 5 intervals of 100 ms
    for (let i = 0; i < 5; i++) expect(c.gcra.take('n', 10, 5, later)).toBe(0);
    expect(c.gcra.take('n', 10, 5, later)).toBe(100);
  });

  it('applies a rate change to the next decision', async () => {
    const c = await small();
    expect(c.gcra.take('pair', 1, 1, T0)).toBe(0);
    expect(c.gcra.take('pair', 1, 1, T0 + 500)).toBe(500);
    // TAT is T0 + 1000; at 1/6 s the next slot is TAT + 6000 - 6000 = TAT.
    expect(c.gcra.take('pair', 1 / 6, 1, T0 + 500)).toBe(500);
    expect(c.gcra.take('pair', 1 / 6, 1, T0 + 1000)).toBe(0);
    expect(c.gcra.take('pair', 1 / 6, 1, T0 + 1000)).toBe(6000);
    // A bigger burst admits at once.
    expect(c.gcra.take('pair', 1 / 6, 3, T0 + 1000)).toBe(0);
  });

  it('keys are independent and a clock step back is read as no time passed', async () => {
    const c = await small();
    expect(c.gcra.take('a', 1, 1, T0)).toBe(0);
    expect(c.gcra.take('b', 1, 1, T0)).toBe(0);
    expect(c.gcra.take('a', 1, 1, T0 - 60_000)).toBe(1000);
  });

  it('takeMany answers like take, key by key, across scratch chunks', async () => {
    const c = await loadCore({ gcraKeys: 40_000, windowKeys: 8, uniqueKeys: 8, repeatKeys: 8 });
    const keys = Array.from({ length: 20_000 }, (_, i) => `+55119${String(i % 10_000).padStart(8, '0')}`);
    const out = new Float64Array(keys.length);
    c.gcra.takeMany(keys, 1, 1, T0, out);
    expect(out.subarray(0, 10_000).every((v) => v === 0)).toBe(true);
    expect(out.subarray(10_000).every((v) => v === 1000)).toBe(true);
  });

  it('takeMany takes keys containing NUL or lone surrogates like any other key', async () => {
    const c = await small();
    const keys = ['a', 'b\0c', 'b', '\ud800', '\udc00'];
    const out = new Float64Array(keys.length);
    c.gcra.takeMany(keys, 1, 1, T0, out);
    expect([...out]).toEqual([0, 0, 0, 0, 0]);
    c.gcra.takeMany(keys, 1, 1, T0, out);
    expect([...out]).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(c.gcra.take('b\0', 1, 1, T0)).toBe(0); // a prefix is another key
  });

  it('rejects a non-positive rate or a burst below 1', async () => {
    const c = await small();
    expect(() => c.gcra.take('n', 0, 1, T0)).toThrow(RangeError);
    expect(() => c.gcra.take('n', 1, 0.5, T0)).toThrow(RangeError);
  });
});

describe('sliding window', () => {
  it('counts up to the limit, refuses without charging, frees when the oldest bucket leaves', async () => {
    const c = await small();
    const w = 12_800; // 100 ms buckets
    expect(c.window.take('n', w, 2, T0 + 50)).toBe(0); // bucket starting at T0
    expect(c.window.take('n', w, 2, T0 + 1_050)).toBe(0);
    expect(c.window.count('n', w, T0 + 1_050)).toBe(2);
    // The T0 bucket leaves the window 129 buckets after it started.
    expect(c.window.take('n', w, 2, T0 + 2_000)).toBe(T0 + 12_900 - (T0 + 2_000));
    expect(c.window.count('n', w, T0 + 2_000)).toBe(2);
    expect(c.window.count('n', w, T0 + 12_899)).toBe(2);
    expect(c.window.count('n', w, T0 + 12_900)).toBe(1);
    expect(c.window.take('n', w, 2, T0 + 12_900)).toBe(0);
    expect(c.window.count('n', w, T0 + 100_000)).toBe(0);
  });

  it('a shorter window keeps what was counted (conservative), then forgets it one window later', async () => {
    const c = await small();
    for (let i = 0; i < 3; i++) c.window.take('n', 60_000, 10, T0);
    expect(c.window.count('n', 1_000, T0 + 10)).toBe(3);
    expect(c.window.count('n', 1_000, T0 + 2_000)).toBe(0);
  });
});

describe('unique recipients (24 h)', () => {
  it('is idempotent within the window, refuses past the limit, release returns the slot', async () => {
    const c = await small();
    expect(c.unique.charge('pf', 'a', 2, T0)).toBe(0);
    expect(c.unique.charge('pf', 'a', 2, T0 + 1)).toBe(0);
    expect(c.unique.charge('pf', 'b', 2, T0 + 2)).toBe(0);
    expect(c.unique.count('pf', T0 + 3)).toBe(2);
    const wait = c.unique.charge('pf', 'c', 2, T0 + 3);
    expect(wait).toBeGreaterThanOrEqual(DAY_MS - 3);
    expect(wait).toBeLessThanOrEqual(DAY_MS + 60_000);
    expect(c.unique.count('pf', T0 + 3)).toBe(2); // the refusal charged nothing
    c.unique.release('pf', 'b', T0 + 4);
    expect(c.unique.count('pf', T0 + 4)).toBe(1);
    expect(c.unique.charge('pf', 'c', 2, T0 + 5)).toBe(0);
    expect(c.unique.charge('other', 'c', 1, T0 + 5)).toBe(0); // scopes are independent
  });

  it('forgets a recipient 24 h (to the minute) after its latest charge', async () => {
    const c = await small();
    const start = Math.ceil(T0 / 60_000) * 60_000; // a minute boundary
    expect(c.unique.charge('pf', 'a', 1, start)).toBe(0);
    expect(c.unique.charge('pf', 'a', 1, start + 12 * 3_600_000)).toBe(0); // refresh at +12 h
    expect(c.unique.count('pf', start + DAY_MS + 60_000)).toBe(1);
    expect(c.unique.charge('pf', 'b', 1, start + DAY_MS + 60_000)).toBe(12 * 3_600_000);
    expect(c.unique.count('pf', start + 12 * 3_600_000 + DAY_MS + 60_000)).toBe(0);
    expect(c.unique.charge('pf', 'b', 1, start + 12 * 3_600_000 + DAY_MS + 60_000)).toBe(0);
  });
});

describe('repeated content', () => {
  it('admits the same text to maxRecipients distinct recipients, repeats to one recipient are free', async () => {
    const c = await small();
    const fp = c.fingerprintOf('Hi Ana, code 123');
    expect(c.fingerprintOf('Hi Bo, code 456')).toBe(fp);
    const w = 3_200_000; // 100 s buckets
    expect(c.repeat.charge('num', fp, 'a', w, 2, T0)).toBe(0);
    expect(c.repeat.charge('num', fp, 'b', w, 2, T0)).toBe(0);
    expect(c.repeat.charge('num', fp, 'a', w, 2, T0 + 5)).toBe(0);
    const wait = c.repeat.charge('num', fp, 'c', w, 2, T0 + 5);
    expect(wait).toBeGreaterThan(w - 100_000);
    expect(wait).toBeLessThanOrEqual(w + 100_000);
    expect(c.repeat.charge('num', c.fingerprintOf('another text'), 'c', w, 2, T0 + 5)).toBe(0);
    expect(c.repeat.charge('num2', fp, 'c', w, 2, T0 + 5)).toBe(0);
    expect(c.repeat.charge('num', fp, 'c', w, 2, T0 + 5 + wait)).toBe(0);
  });
});
