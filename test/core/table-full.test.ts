/** A full table answers the safe refusal (the configured wait, nothing charged) and counts it. */
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../src/core/index.js';

const T0 = 1_700_000_000_000;
// Capacity is 16 slots for any configured size below 8.
const tiny = () => loadCore({ gcraKeys: 1, windowKeys: 1, uniqueKeys: 1, repeatKeys: 1, uniqueScopes: 1, repeatGroups: 1, fullRetryMs: 777 });

describe('full tables', () => {
  it('refuses tables that cannot fit in WebAssembly memory, without growing it', async () => {
    await expect(loadCore({ gcraKeys: 2 ** 29, windowKeys: 1, uniqueKeys: 1, repeatKeys: 1 })).rejects.toThrow(RangeError);
  });

  it('refuses a fullRetryMs that would read as admitted', async () => {
    await expect(loadCore({ gcraKeys: 1, windowKeys: 1, uniqueKeys: 1, repeatKeys: 1, fullRetryMs: 0 })).rejects.toThrow(RangeError);
  });

  it('gcra: refuses a new key with fullRetryMs and counts it; known keys still answer; idle keys free slots', async () => {
    const c = await tiny();
    for (let i = 0; i < 16; i++) expect(c.gcra.take(`k${i}`, 1, 1, T0)).toBe(0);
    expect(c.gcra.take('new', 1, 1, T0)).toBe(777);
    expect(c.gcra.check('new', 1, 1, T0)).toBe(0); // check of an absent key needs no slot
    expect(c.stats().tableFull.gcra).toBe(1);
    expect(c.stats().liveKeys.gcra).toBe(16);
    expect(c.gcra.take('k3', 1, 1, T0)).toBe(1000);
    expect(c.gcra.take('new', 1, 1, T0 + 1_000)).toBe(0); // every TAT reached: all slots reclaimable
    expect(c.stats().liveKeys.gcra).toBeLessThanOrEqual(16);
  });

  it('window, unique and repeat: safe refusal, nothing charged, counters per table', async () => {
    const c = await tiny();
    for (let i = 0; i < 16; i++) expect(c.window.take(`w${i}`, 60_000, 5, T0)).toBe(0);
    expect(c.window.take('w-new', 60_000, 5, T0)).toBe(777);
    expect(c.window.count('w-new', 60_000, T0)).toBe(0);

    for (let i = 0; i < 16; i++) expect(c.unique.charge('pf', `r${i}`, 100, T0)).toBe(0);
    expect(c.unique.charge('pf', 'r-new', 100, T0)).toBe(777);
    expect(c.unique.count('pf', T0)).toBe(16);
    expect(c.unique.charge('pf', 'r5', 100, T0)).toBe(0); // already counted: costs nothing, needs no slot

    for (let i = 0; i < 16; i++) expect(c.repeat.charge(`s${i}`, 'fp', 'r', 60_000, 5, T0)).toBe(0);
    expect(c.repeat.charge('s-new', 'fp', 'r', 60_000, 5, T0)).toBe(777);

    const full = c.stats().tableFull;
    expect(full).toMatchObject({ window: 1, uniqueMember: 1, repeatGroup: 1, gcra: 0 });
  });
});
