import { describe, expect, it } from 'vitest';
import { MESSAGE_ID_PATTERN, newMessageId } from '../../src/gateway/ids.js';

describe('message ids', () => {
  it('are unique and well-formed', () => {
    const ids = Array.from({ length: 5000 }, () => newMessageId(1_700_000_000_000));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(MESSAGE_ID_PATTERN);
  });

  it('sort in creation order, for any two distinct milliseconds', () => {
    // Times that cross every base-32 digit boundary (31→32, 1023→1024, …), plus far-apart and
    // adjacent instants; each id is made at a later millisecond than the one before.
    const times = new Set<number>([0, 1, 1_000, 2_000, 1_700_000_000_000, 1_700_000_000_001, 2 ** 50 - 1, 2 ** 50 - 2]);
    for (let digit = 1; digit <= 10; digit++) {
      const boundary = 32 ** digit;
      for (const t of [boundary - 1, boundary, boundary + 1]) if (t < 2 ** 50) times.add(t);
    }
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      times.add(Math.floor((seed / 2 ** 31) * 2 ** 49));
    }
    const ascending = [...times].sort((a, b) => a - b);
    const ids = ascending.map((t) => newMessageId(t));
    expect([...ids].sort()).toEqual(ids);
  });
});
