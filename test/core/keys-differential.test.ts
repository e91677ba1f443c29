/**
 * Keys hashed once (CoreKey, src/core/keyhash.ts): random sequences mixing the string entry points
 * and the key entry points on the same keys, through the WASM core and the reference model; every
 * answer must be identical, and a key entry point must charge the very bucket its string
 * counterpart charges (CoreKey.of(s) ≡ s; scope.member(to) ≡ (scope, to)).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoreKey, loadCore, type Core } from '../../src/core/index.js';
import { KeyHasher } from '../../src/core/keyhash.js';
import { createReferenceCore, type ReferenceCore } from '../../src/core/reference.js';

const T0 = 1_700_000_000_000;
const word = fc.constantFrom('a', 'b', 'número-ñ', '+5511999990000', '106540352242922', '');
const rate = fc.constantFrom(0.5, 1, 7, 1000 / 6);
const burst = fc.constantFrom(1, 2, 5, 2.5);
const windowMs = fc.constantFrom(1_000, 60_000, 7_777);
const limit = fc.integer({ min: 0, max: 4 });
const step = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 90_000_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: -60_000, max: -1 }) },
);

type Any = Core | ReferenceCore;
interface Op { name: string; step: number; run: (c: Any, t: number) => number }

const op: fc.Arbitrary<Op> = fc.oneof(
  // GCRA: root keys (≡ strings) and member keys (a lane's pair keys).
  fc.record({ k: word, r: rate, b: burst, step }).map(({ k, r, b, step }) => ({ name: `gcra.take ${k}`, step, run: (c: Any, t: number) => c.gcra.take(k, r, b, t) })),
  fc.record({ k: word, r: rate, b: burst, step }).map(({ k, r, b, step }) => ({ name: `gcra.takeKey ${k}`, step, run: (c: Any, t: number) => c.gcra.takeKey(CoreKey.of(k), r, b, t) })),
  fc.record({ k: word, r: rate, b: burst, step }).map(({ k, r, b, step }) => ({ name: `gcra.checkKey ${k}`, step, run: (c: Any, t: number) => c.gcra.checkKey(CoreKey.of(k), r, b, t) })),
  fc.record({ g: word, m: word, r: rate, b: burst, step }).map(({ g, m, r, b, step }) => ({ name: `gcra.takeKey ${g}/${m}`, step, run: (c: Any, t: number) => c.gcra.takeKey(CoreKey.of(g).member(m), r, b, t) })),
  fc.record({ g: word, ms: fc.array(word, { maxLength: 5 }), r: rate, b: burst, step }).map(({ g, ms, r, b, step }) => ({
    name: `gcra.takeMembers ${g}/${ms.join(',')}`,
    step,
    run: (c: Any, t: number) => {
      const out = new Float64Array(ms.length);
      c.gcra.takeMembers(CoreKey.of(g), ms, r, b, t, out);
      return out.reduce((acc, v, i) => acc + v * (i + 1) * 1e3, 0);
    },
  })),
  // Windows.
  fc.record({ k: word, w: windowMs, l: limit, step }).map(({ k, w, l, step }) => ({ name: `window.take ${k}`, step, run: (c: Any, t: number) => c.window.take(k, w, l, t) })),
  fc.record({ k: word, w: windowMs, l: limit, step }).map(({ k, w, l, step }) => ({ name: `window.takeKey ${k}`, step, run: (c: Any, t: number) => c.window.takeKey(CoreKey.of(k), w, l, t) })),
  fc.record({ k: word, w: windowMs, step }).map(({ k, w, step }) => ({ name: `window.countKey ${k}`, step, run: (c: Any, t: number) => c.window.countKey(CoreKey.of(k), w, t) })),
  // Unique recipients: (scope, recipient) strings and scope.member(recipient) keys share state.
  fc.record({ s: word, r: word, l: limit, step }).map(({ s, r, l, step }) => ({ name: `unique.charge ${s} ${r}`, step, run: (c: Any, t: number) => c.unique.charge(s, r, l, t) })),
  fc.record({ s: word, r: word, l: limit, step }).map(({ s, r, l, step }) => ({ name: `unique.chargeKey ${s} ${r}`, step, run: (c: Any, t: number) => c.unique.chargeKey(CoreKey.of(s).member(r), l, t) })),
  fc.record({ s: word, r: word, step }).map(({ s, r, step }) => ({ name: `unique.releaseKey ${s} ${r}`, step, run: (c: Any, t: number) => (c.unique.releaseKey(CoreKey.of(s).member(r), t), -1) })),
  fc.record({ s: word, step }).map(({ s, step }) => ({ name: `unique.countKey ${s}`, step, run: (c: Any, t: number) => c.unique.countKey(CoreKey.of(s), t) })),
  fc.record({ s: word, step }).map(({ s, step }) => ({ name: `unique.count ${s}`, step, run: (c: Any, t: number) => c.unique.count(s, t) })),
  // Repeated content: (scope, fingerprint, recipient) strings and scope.member(fp).member(to) keys.
  fc.record({ s: word, f: fc.constantFrom('0123456789abcdef', 'ffffffffffffffff'), r: word, w: windowMs, l: limit, step }).map(({ s, f, r, w, l, step }) => ({
    name: `repeat.take ${s} ${f} ${r}`, step, run: (c: Any, t: number) => c.repeat.take(s, f, r, w, l, t),
  })),
  fc.record({ s: word, f: fc.constantFrom('0123456789abcdef', 'ffffffffffffffff'), r: word, w: windowMs, l: limit, step }).map(({ s, f, r, w, l, step }) => ({
    name: `repeat.takeKey ${s} ${f} ${r}`, step, run: (c: Any, t: number) => c.repeat.takeKey(CoreKey.of(s).member(f).member(r), w, l, t),
  })),
  fc.record({ s: word, f: fc.constantFrom('0123456789abcdef', 'ffffffffffffffff'), r: word, step }).map(({ s, f, r, step }) => ({
    name: `repeat.releaseKey ${s} ${f} ${r}`, step, run: (c: Any, t: number) => (c.repeat.releaseKey(CoreKey.of(s).member(f).member(r), t), -1),
  })),
);

describe('keys hashed once (CoreKey)', () => {
  it('hash as the string entry points do: a root key is the string\'s hash, a member the chained hash', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), (s, m) => {
        const h = new KeyHasher();
        h.hash(s);
        const root = CoreKey.of(s);
        expect([root.hi, root.lo]).toEqual([h.hi, h.lo]);
        h.hashWith(m, h.hi, h.lo);
        const member = root.member(m);
        expect([member.hi, member.lo]).toEqual([h.hi, h.lo]);
        expect(member.parts()).toEqual([s, m]);
      }),
    );
  });

  it('give the reference model\'s answers, mixed with the string entry points on the same state', async () => {
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

  it('charge the bucket of their string counterparts', async () => {
    const core = await loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 16, repeatKeys: 16 });
    expect(core.gcra.take('pacer', 1, 1, T0)).toBe(0);
    expect(core.gcra.checkKey(CoreKey.of('pacer'), 1, 1, T0)).toBe(1000);
    expect(core.unique.chargeKey(CoreKey.of('tenant').member('15550000001'), 1, T0)).toBe(0);
    expect(core.unique.charge('tenant', '15550000002', 1, T0)).toBeGreaterThan(0);
    expect(core.unique.count('tenant', T0)).toBe(1);
  });

  it('refuse a root key where a member key is needed', async () => {
    const core = await loadCore({ gcraKeys: 16, windowKeys: 16, uniqueKeys: 16, repeatKeys: 16 });
    expect(() => core.unique.chargeKey(CoreKey.of('tenant'), 1, T0)).toThrow(RangeError);
    expect(() => createReferenceCore().repeat.takeKey(CoreKey.of('tenant'), 1000, 1, T0)).toThrow(RangeError);
  });
});
