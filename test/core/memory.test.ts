/** No allocation after init: a million calls of each export leave WebAssembly memory as it was. */
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../src/core/index.js';
import { instantiateCore } from '../../src/core/wasm.js';

const CALLS = 1_000_000;
const T0 = 1_700_000_000_000;

describe('memory', () => {
  it('stays the same size across 10^6 calls of every decision export', async () => {
    const c = await loadCore({ gcraKeys: 4096, windowKeys: 1024, uniqueKeys: 4096, repeatKeys: 4096 });
    const before = c.stats().memoryBytes;
    // 4096 distinct keys: tables fill past capacity over time, so expiry, shift and full paths run too.
    const keys = Array.from({ length: 4096 }, (_, i) => `+5511${i.toString().padStart(9, '0')}`);
    const pairs = Array.from({ length: 4096 }, (_, i) => [keys[i]!, keys[(i * 7) & 4095]!]);
    const out = new Float64Array(2);
    for (let i = 0; i < CALLS; i++) {
      const k = keys[i & 4095]!;
      const now = T0 + i;
      c.gcra.take(k, 5, 2, now);
      c.gcra.check(k, 5, 2, now);
      c.gcra.takeMany(pairs[i & 4095]!, 5, 2, now, out);
      c.window.take(k, 15_000, 50, now);
      c.window.count(k, 15_000, now);
      c.unique.charge('pf', k, 3000, now);
      c.unique.count('pf', now);
      c.unique.release('pf', keys[(i + 100) & 4095]!, now);
      c.repeat.charge('num', 'f00dfeedf00dfeed', k, 60_000, 100, now);
    }
    expect(c.stats().memoryBytes).toBe(before);
  }, 120_000);

  it('stays the same size across 10^6 calls of the hashing and stats exports', async () => {
    const x = await instantiateCore();
    x.init(64, 64, 64, 64, 64, 64, 1000);
    const before = x.memory.buffer.byteLength;
    let sink = 0;
    for (let i = 0; i < CALLS; i++) {
      x.hashScratch(i & 1023);
      const id = i % 6;
      sink += x.tableCount(id) + x.tableCapacity(id) + x.tableFull(id) + x.tableBytes(id) + x.scratchPtr();
    }
    expect(sink).toBeGreaterThan(0);
    expect(x.memory.buffer.byteLength).toBe(before);
  });
});
