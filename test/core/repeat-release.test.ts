/**
 * Repeated content can give back what an admission counted: take() tells a recipient counted now
 * (0) from one already counted (-1), release() undoes the former. WASM core and reference model
 * answer alike for random sequences of charge, take, release and the clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCore, type Core } from '../../src/core/index.js';
import { createReferenceCore, type ReferenceCore } from '../../src/core/reference.js';

const T0 = 1_700_000_000_000;
const W = 60_000;

describe('repeat take and release', () => {
  it('take tells a recipient counted now from one already counted; release frees the slot', async () => {
    for (const c of [await loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 16, repeatKeys: 64 }), createReferenceCore()]) {
      expect(c.repeat.take('t', 'fp', 'a', W, 1, T0)).toBe(0);
      expect(c.repeat.take('t', 'fp', 'a', W, 1, T0 + 1)).toBe(-1);
      expect(c.repeat.charge('t', 'fp', 'a', W, 1, T0 + 1)).toBe(0);
      expect(c.repeat.take('t', 'fp', 'b', W, 1, T0 + 2)).toBeGreaterThan(0);
      c.repeat.release('t', 'fp', 'a', T0 + 3);
      expect(c.repeat.take('t', 'fp', 'b', W, 1, T0 + 4)).toBe(0);
      expect(c.repeat.take('t', 'fp', 'a', W, 1, T0 + 5)).toBeGreaterThan(0);
    }
  });

  it('WASM core and reference model agree on random sequences', async () => {
    const key = fc.constantFrom('a', 'b', 'c', 'd');
    const step = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 5_000 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 200_000 }) });
    type Op = { name: string; step: number; run: (c: Core | ReferenceCore, t: number) => number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ r: key, l: fc.integer({ min: 0, max: 3 }), step }).map(({ r, l, step }) => ({ name: `take ${r} ${l}`, step, run: (c: Core | ReferenceCore, t: number) => c.repeat.take('s', 'fp', r, W, l, t) })),
      fc.record({ r: key, l: fc.integer({ min: 0, max: 3 }), step }).map(({ r, l, step }) => ({ name: `charge ${r} ${l}`, step, run: (c: Core | ReferenceCore, t: number) => c.repeat.charge('s', 'fp', r, W, l, t) })),
      fc.record({ r: key, step }).map(({ r, step }) => ({ name: `release ${r}`, step, run: (c: Core | ReferenceCore, t: number) => (c.repeat.release('s', 'fp', r, t), -2) })),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 80 }), async (ops) => {
        const wasm = await loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 16, repeatKeys: 256 });
        const ref = createReferenceCore();
        let now = T0;
        for (const [i, o] of ops.entries()) {
          now += o.step;
          const a = o.run(wasm, now);
          const b = o.run(ref, now);
          if (a !== b) expect({ i, op: o.name, now, wasm: a }).toEqual({ i, op: o.name, now, wasm: b });
        }
      }),
      { numRuns: 300 },
    );
  });
});
