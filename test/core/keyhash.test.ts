/** The JS key hash that keys the WASM tables (src/core/keyhash.ts). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyHasher } from '../../src/core/keyhash.js';

/** (hi, lo) of `s` as one bigint-free string, for sets and equality. */
function pairOf(h: KeyHasher, s: string, seeds?: [number, number]): string {
  if (seeds) h.hashWith(s, seeds[0], seeds[1]);
  else h.hash(s);
  return `${h.hi}:${h.lo}`;
}

describe('key hash', () => {
  it('is deterministic for given seeds, and both lanes are int32', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.integer(), fc.integer(), (s, a, b) => {
        const h1 = new KeyHasher(a, b);
        const h2 = new KeyHasher(a, b);
        const first = pairOf(h1, s);
        expect(pairOf(h2, 'something else first')).not.toBe('');
        expect(pairOf(h2, s)).toBe(first);
        expect(h1.hi | 0).toBe(h1.hi);
        expect(h1.lo | 0).toBe(h1.lo);
      }),
    );
  });

  it('depends on the seeds (a process cannot predict another process\'s keys)', () => {
    const a = new KeyHasher(1, 2);
    const b = new KeyHasher(1, 3);
    const c = new KeyHasher(4, 2);
    const key = '106540352242922:5511900000000';
    expect(pairOf(a, key)).not.toBe(pairOf(b, key));
    expect(pairOf(a, key)).not.toBe(pairOf(c, key));
  });

  it('has no collision over sequential pair keys ("1001:16505550000".."1001:16505559999", "1001:…".."9999:…")', () => {
    const h = new KeyHasher();
    const keys = new Set<string>();
    for (let i = 0; i <= 9999; i++) keys.add(`1001:1650555${String(i).padStart(4, '0')}`);
    for (let n = 1001; n <= 9999; n++) keys.add(`${n}:16505550000`);
    const pairs = new Set<string>();
    const his = new Set<number>();
    const los = new Set<number>();
    for (const key of keys) {
      pairs.add(pairOf(h, key));
      his.add(h.hi);
      los.add(h.lo);
    }
    expect(keys.size).toBe(10_000 + 8_998);
    expect(pairs.size).toBe(keys.size);
    // One 32-bit lane alone: P(any collision among 19k keys) ≈ 19k² / 2^33 ≈ 4 %, so allow one.
    expect(his.size).toBeGreaterThanOrEqual(keys.size - 1);
    expect(los.size).toBeGreaterThanOrEqual(keys.size - 1);
  });

  it('spreads sequential keys evenly over home slots and sets every output bit about half the time', () => {
    const h = new KeyHasher();
    const SLOTS = 64;
    const KEYS = 64_000;
    const homes = new Array<number>(SLOTS).fill(0);
    const bits = new Array<number>(64).fill(0);
    for (let i = 0; i < KEYS; i++) {
      h.hash(`1001:1650555${String(i).padStart(5, '0')}`);
      homes[Math.floor(((h.hi >>> 0) * SLOTS) / 2 ** 32)]!++;
      for (let b = 0; b < 32; b++) {
        bits[b]! += (h.hi >>> b) & 1;
        bits[32 + b]! += (h.lo >>> b) & 1;
      }
    }
    // Uniform: 1000 per slot, sd ≈ 31; chi-square over 63 dof stays well under 120 for a good hash.
    const expected = KEYS / SLOTS;
    const chi2 = homes.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
    expect(chi2).toBeLessThan(120);
    for (const ones of bits) expect(Math.abs(ones / KEYS - 0.5)).toBeLessThan(0.02);
  });

  it('hashes any UTF-16, lone surrogates included, and tells apart strings an encoder would merge', () => {
    const h = new KeyHasher(7, 11);
    // encodeInto writes U+FFFD for both lone surrogates and for U+FFFD itself: three keys, one UTF-8.
    const keys = ['\ud800', '\udc00', '\ufffd', '\ud83d\ude00', '\ude00\ud83d', '', '\0', '\0\0', 'a', 'a\0'];
    const seen = new Set(keys.map((k) => pairOf(h, k)));
    expect(seen.size).toBe(keys.length);
    expect(pairOf(h, '\ud800x')).toBe(pairOf(h, '\ud800x'));
  });

  it('chains: a member hash seeded by its group differs across groups and from the plain hash', () => {
    const h = new KeyHasher(5, 6);
    h.hash('tenant-a');
    const a: [number, number] = [h.hi, h.lo];
    h.hash('tenant-b');
    const b: [number, number] = [h.hi, h.lo];
    const recipient = '16505550000';
    const inA = pairOf(h, recipient, a);
    expect(pairOf(h, recipient, b)).not.toBe(inA);
    expect(pairOf(h, recipient)).not.toBe(inA);
    expect(pairOf(h, recipient, a)).toBe(inA);
  });

  it('a one-unit change anywhere flips about half of the 64 output bits', () => {
    const h = new KeyHasher(123, 456);
    const base = '106540352242922:5511900000000';
    let flipped = 0;
    let trials = 0;
    for (let i = 0; i < base.length; i++) {
      for (const delta of [1, 2, 0x100, 0x8000]) {
        const changed = base.slice(0, i) + String.fromCharCode(base.charCodeAt(i) ^ delta) + base.slice(i + 1);
        h.hash(base);
        const [hi, lo] = [h.hi, h.lo];
        h.hash(changed);
        flipped += popcount(hi ^ h.hi) + popcount(lo ^ h.lo);
        trials++;
      }
    }
    expect(Math.abs(flipped / trials / 64 - 0.5)).toBeLessThan(0.03);
  });
});

function popcount(v: number): number {
  let n = 0;
  for (let x = v >>> 0; x !== 0; x &= x - 1) n++;
  return n;
}
