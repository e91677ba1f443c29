/**
 * Backward-shift deletion, pinned with keys whose home slots are computed here: reclaiming an
 * idle key must never hide a live key displaced behind it.
 */
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../src/core/index.js';
import { KeyHasher } from '../../src/core/keyhash.js';

const T0 = 1_700_000_000_000;
const CAP = 16; // any configured size below 8 gets 16 slots
// Same seeds as the core in this process: home slot = high lane (u32) scaled to the capacity.
const hasher = new KeyHasher();
const homeOf = (key: string): number => {
  hasher.hash(key);
  return Math.floor(((hasher.hi >>> 0) * CAP) / 2 ** 32);
};

/** `count` keys sharing one home slot. */
function collidingKeys(count: number): string[] {
  const byHome = new Map<number, string[]>();
  for (let i = 0; ; i++) {
    const key = `k${i}`;
    const list = byHome.get(homeOf(key)) ?? [];
    list.push(key);
    byHome.set(homeOf(key), list);
    if (list.length === count) return list;
  }
}

describe('table deletion', () => {
  it('a live key displaced behind an idle one is still found after the idle one is reclaimed', async () => {
    const [idle, live, later] = collidingKeys(3) as [string, string, string];
    const c = await loadCore({ gcraKeys: 1, windowKeys: 1, uniqueKeys: 1, repeatKeys: 1 });
    expect(c.gcra.take(idle, 1, 1, T0)).toBe(0); // home slot, TAT T0 + 1 s
    expect(c.gcra.take(live, 0.1, 1, T0 + 500)).toBe(0); // next slot, TAT T0 + 10.5 s
    expect(c.gcra.take(later, 0.1, 1, T0 + 500)).toBe(0); // the one after
    // At T0 + 2 s the idle key is reclaimed by the probe; both live keys must still refuse.
    expect(c.gcra.take(live, 0.1, 1, T0 + 2_000)).toBe(8_500);
    expect(c.gcra.take(later, 0.1, 1, T0 + 2_000)).toBe(8_500);
    expect(c.stats().liveKeys.gcra).toBe(2);
  });
});
