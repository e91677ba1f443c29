/** No allocation after init: a million calls of each export leave WebAssembly memory as it was. */
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../src/core/index.js';

const CALLS = 1_000_000;
const T0 = 1_700_000_000_000;

describe('memory', () => {
  it('stays the same size across 10^6 calls of every export', async () => {
    const c = await loadCore({ gcraKeys: 4096, windowKeys: 1024, uniqueKeys: 4096, repeatKeys: 4096 });
    const before = c.stats().memoryBytes;
    // 4096 distinct keys, several tables filled past capacity over time (expiry and full paths run too).
    const keys = Array.from({ length: 4096 }, (_, i) => `+5511${i.toString().padStart(9, '0')}`);
    const batch = keys.slice(0, 1000);
    const out = new Float64Array(batch.length);
    for (let i = 0; i < CALLS; i++) {
      const k = keys[i & 4095]!;
      const now = T0 + i;
      c.gcra.take(k, 5, 2, now);
      c.gcra.check(k, 5, 2, now);
      c.window.take(k, 15_000, 50, now);
      c.window.count(k, 15_000, now);
      c.unique.charge('pf', k, 3000, now);
      c.unique.count('pf', now);
      if ((i & 7) === 0) c.unique.release('pf', k, now);
      c.repeat.charge('num', 'f00dfeedf00dfeed', k, 60_000, 100, now);
      if ((i & 1023) === 0) {
        c.gcra.takeMany(batch, 5, 2, now, out);
        c.fingerprintOf(`Hi ${k}, your code is ${i}`);
      }
    }
    expect(c.stats().memoryBytes).toBe(before);
  }, 120_000);
});
