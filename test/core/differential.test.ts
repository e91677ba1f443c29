/**
 * Differential test: random sequences of operations, with random clocks (mostly forward, some
 * steps back), through the WASM core and the Map-based reference model; every answer must be
 * identical. Tables are large enough that the WASM core never reports full here (full tables
 * are covered in table-full.test.ts).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCore, type Core } from '../../src/core/index.js';
import { createReferenceCore, type ReferenceCore } from '../../src/core/reference.js';

const T0 = 1_700_000_000_000;
const key = fc.constantFrom('a', 'b', 'c', 'número-ñ', '+5511999990000');
const rate = fc.constantFrom(0.5, 1, 3, 7, 80, 1000 / 6);
const burst = fc.constantFrom(1, 2, 5, 80, 2.5);
const windowMs = fc.constantFrom(1_000, 15_000, 60_000, 3_600_000, 7_777);
const limit = fc.integer({ min: 0, max: 6 });
// Clock step in ms: mostly small forward steps, sometimes large jumps (idle keys, 24 h expiry),
// sometimes backwards (the core must read it as "no time passed").
const step = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 90_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -60_000, max: -1 }) },
);

type Op = (c: Core | ReferenceCore, nowMs: number) => number;
const op: fc.Arbitrary<{ name: string; run: Op; step: number }> = fc.oneof(
  fc.record({ k: key, r: rate, b: burst, step }).map(({ k, r, b, step }) => ({ name: `gcra.check ${k} ${r} ${b}`, step, run: (c: Core | ReferenceCore, t: number) => c.gcra.check(k, r, b, t) })),
  fc.record({ k: key, r: rate, b: burst, step }).map(({ k, r, b, step }) => ({ name: `gcra.take ${k} ${r} ${b}`, step, run: (c: Core | ReferenceCore, t: number) => c.gcra.take(k, r, b, t) })),
  fc.record({ ks: fc.array(key, { maxLength: 6 }), r: rate, b: burst, step }).map(({ ks, r, b, step }) => ({
    name: `gcra.takeMany ${ks.join(',')} ${r} ${b}`,
    step,
    run: (c: Core | ReferenceCore, t: number) => {
      const out = new Float64Array(ks.length);
      c.gcra.takeMany(ks, r, b, t, out);
      return out.reduce((acc, v, i) => acc + v * (i + 1) * 1e3, 0);
    },
  })),
  fc.record({ k: key, w: windowMs, step }).map(({ k, w, step }) => ({ name: `window.count ${k} ${w}`, step, run: (c: Core | ReferenceCore, t: number) => c.window.count(k, w, t) })),
  fc.record({ k: key, w: windowMs, l: limit, step }).map(({ k, w, l, step }) => ({ name: `window.take ${k} ${w} ${l}`, step, run: (c: Core | ReferenceCore, t: number) => c.window.take(k, w, l, t) })),
  fc.record({ s: key, r: key, l: limit, step }).map(({ s, r, l, step }) => ({ name: `unique.charge ${s} ${r} ${l}`, step, run: (c: Core | ReferenceCore, t: number) => c.unique.charge(s, r, l, t) })),
  fc.record({ s: key, r: key, step }).map(({ s, r, step }) => ({ name: `unique.release ${s} ${r}`, step, run: (c: Core | ReferenceCore, t: number) => (c.unique.release(s, r, t), -1) })),
  fc.record({ s: key, step }).map(({ s, step }) => ({ name: `unique.count ${s}`, step, run: (c: Core | ReferenceCore, t: number) => c.unique.count(s, t) })),
  fc.record({ s: key, f: fc.constantFrom('0123456789abcdef', 'ffffffffffffffff'), r: key, w: windowMs, l: limit, step }).map(({ s, f, r, w, l, step }) => ({
    name: `repeat.charge ${s} ${f} ${r} ${w} ${l}`,
    step,
    run: (c: Core | ReferenceCore, t: number) => c.repeat.charge(s, f, r, w, l, t),
  })),
);

describe('WASM core vs reference model', () => {
  it('gives identical answers for random operation sequences and clocks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 120 }), async (ops) => {
        const wasm = await loadCore({ gcraKeys: 64, windowKeys: 64, uniqueKeys: 256, repeatKeys: 256 });
        const ref = createReferenceCore();
        let now = T0;
        for (const [i, o] of ops.entries()) {
          now += o.step;
          const a = o.run(wasm, now);
          const b = o.run(ref, now);
          if (a !== b) expect({ i, op: o.name, now, wasm: a }).toEqual({ i, op: o.name, now, wasm: b });
        }
        expect(Object.values(wasm.stats().tableFull).every((n) => n === 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('stays identical when 12 keys share 16-slot tables (clusters, reclaim and backward shifts)', async () => {
    const many = fc.integer({ min: 0, max: 11 }).map((i) => `key-${i}`);
    const crowded = fc.oneof(
      fc.record({ k: many, r: rate, b: burst, step }).map(({ k, r, b, step }) => ({ name: `gcra.take ${k} ${r} ${b}`, step, run: (c: Core | ReferenceCore, t: number) => c.gcra.take(k, r, b, t) })),
      fc.record({ k: many, r: rate, b: burst, step }).map(({ k, r, b, step }) => ({ name: `gcra.check ${k} ${r} ${b}`, step, run: (c: Core | ReferenceCore, t: number) => c.gcra.check(k, r, b, t) })),
      fc.record({ k: many, w: windowMs, l: limit, step }).map(({ k, w, l, step }) => ({ name: `window.take ${k} ${w} ${l}`, step, run: (c: Core | ReferenceCore, t: number) => c.window.take(k, w, l, t) })),
      fc.record({ k: many, w: windowMs, step }).map(({ k, w, step }) => ({ name: `window.count ${k} ${w}`, step, run: (c: Core | ReferenceCore, t: number) => c.window.count(k, w, t) })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(crowded, { minLength: 1, maxLength: 200 }), async (ops) => {
        const wasm = await loadCore({ gcraKeys: 1, windowKeys: 1, uniqueKeys: 1, repeatKeys: 1 });
        const ref = createReferenceCore();
        let now = T0;
        for (const [i, o] of ops.entries()) {
          now += o.step;
          const a = o.run(wasm, now);
          const b = o.run(ref, now);
          if (a !== b) expect({ i, op: o.name, now, wasm: a }).toEqual({ i, op: o.name, now, wasm: b });
        }
        expect(wasm.stats().tableFull.gcra + wasm.stats().tableFull.window).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
