/**
 * Per-tenant shares of the member tables (CoreOptions.scopeShare, assembly/distinct.ts): a scope
 * that holds its share is refused (the safe answer, counted in shareFull) and every other scope
 * keeps charging; without shares one scope fills the shared table and the others are refused.
 */
import { describe, expect, it } from 'vitest';
import { CoreKey, loadCore } from '../../src/core/index.js';

const T0 = 1_700_000_000_000;
const LIMIT = 1e9; // no tier limit in the way: only the table and the shares bound the charges
const WINDOW_MS = 60_000;
const to = (i: number): string => `1650555${String(i).padStart(5, '0')}`;

describe('scope shares of the member tables', () => {
  it('unique recipients: tenant A at its share is refused, tenant B charges its whole share', async () => {
    const core = await loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 1024, repeatKeys: 16, scopeShare: 0.5 });
    for (let i = 0; i < 512; i++) expect(core.unique.charge('A', to(i), LIMIT, T0)).toBe(0);
    expect(core.unique.charge('A', to(512), LIMIT, T0)).toBe(1000);
    expect(core.lastShareRefused()).toBe(true);
    // Already counted: still admitted (no new slot).
    expect(core.unique.charge('A', to(3), LIMIT, T0)).toBe(0);
    for (let i = 0; i < 512; i++) expect(core.unique.chargeKey(CoreKey.of('B').member(to(i)), LIMIT, T0)).toBe(0);
    expect(core.lastShareRefused()).toBe(false);
    const s = core.stats();
    expect(s.shareFull.uniqueMember).toBe(1);
    expect(s.tableFull.uniqueMember).toBe(0);
    expect(s.liveKeys.uniqueMember).toBe(1024);
    // A release gives A one slot back; the 24 h window frees the rest.
    core.unique.release('A', to(0), T0);
    expect(core.unique.charge('A', to(513), LIMIT, T0)).toBe(0);
    expect(core.unique.charge('A', to(514), LIMIT, T0 + 86_460_001)).toBe(0);
  });

  it('repeated content: A\'s members over all its fingerprints count against its share; B is unaffected', async () => {
    const core = await loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 1024, repeatKeys: 1024, scopeShare: 0.25 });
    // 256 members = A's share, spread over 32 fingerprints of 8 recipients each.
    for (let i = 0; i < 256; i++) expect(core.repeat.take('A', `fp-${i >> 3}`, to(i), WINDOW_MS, LIMIT, T0)).toBe(0);
    expect(core.repeat.take('A', 'fp-new', to(999), WINDOW_MS, LIMIT, T0)).toBe(1000);
    expect(core.lastShareRefused()).toBe(true);
    for (let i = 0; i < 256; i++) {
      expect(core.repeat.takeKey(CoreKey.of('B').member(`fp-${i >> 3}`).member(to(i)), WINDOW_MS, LIMIT, T0)).toBe(0);
    }
    expect(core.stats().shareFull.repeatMember).toBe(1);
    expect(core.stats().tableFull.repeatMember).toBe(0);
    // A release frees one of A's slots; the window frees them all.
    core.repeat.release('A', 'fp-0', to(0), T0 + 1);
    expect(core.repeat.take('A', 'fp-new', to(999), WINDOW_MS, LIMIT, T0 + 1)).toBe(0);
    expect(core.repeat.take('A', 'fp-new', to(998), WINDOW_MS, LIMIT, T0 + 2)).toBe(1000);
    expect(core.repeat.take('A', 'fp-new', to(998), WINDOW_MS, LIMIT, T0 + WINDOW_MS * 2)).toBe(0);
  });

  it('without shares, one tenant filling the table refuses the others (what shares prevent)', async () => {
    const core = await loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 1024, repeatKeys: 16 });
    for (let i = 0; i < 4096; i++) core.unique.charge('A', to(i), LIMIT, T0);
    expect(core.stats().tableFull.uniqueMember).toBeGreaterThan(0);
    let refused = 0;
    for (let i = 0; i < 64; i++) if (core.unique.charge('B', to(i), LIMIT, T0) > 0) refused++;
    expect(refused).toBeGreaterThan(0);
    expect(core.stats().shareFull.uniqueMember).toBe(0);
  });

  it('refuses a share outside (0, 1]', async () => {
    await expect(loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 16, repeatKeys: 16, scopeShare: 0 })).rejects.toThrow(RangeError);
    await expect(loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 16, repeatKeys: 16, scopeShare: 1.5 })).rejects.toThrow(RangeError);
  });
});
