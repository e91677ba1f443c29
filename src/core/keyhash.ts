/**
 * Table keys of the limits core: a key string → a 64-bit hash as two int32 lanes (hi, lo),
 * computed in JS straight from the UTF-16 code units, so a decision passes four numbers to the
 * WASM module instead of encoding the string into its memory (TextEncoder.encodeInto + the
 * bytes crossing cost more than the decision itself).
 *
 * Algorithm: two murmur3_32-style lanes over pairs of UTF-16 code units (k = u[i] | u[i+1] << 16),
 * each lane with its own block-mixing constants, rotations and seed, so neither lane is a
 * function of the other; string length mixed into both; then a cross-mixing finaliser (lane sums
 * around murmur3's fmix32, as in murmur3_x86_128) that is a bijection of the 64-bit lane state.
 * Code units are hashed as they are: any string, lone surrogates included, has one hash;
 * there is no encoding step that could fail or normalise two strings to one.
 *
 * Collisions (the WASM tables store only the hash: two keys with one hash share a bucket):
 * for keys that are not crafted against the seed, the chance that some pair among n keys
 * collides is ~n²/2⁶⁵ — 3e-8 at 10^6 live keys, 3e-6 at 10^7. The seeds are random per process
 * (crypto), so an outsider cannot precompute colliding keys; murmur-style mixing is not a
 * cryptographic hash, so this is protection against accidents and casual crafting, not against
 * an attacker who can observe many decisions. Keys here are gateway-built (ids, E.164 numbers).
 * Hashes differ between processes: nothing persists them; state is rebuilt from strings.
 *
 * Chaining: a member key is hashed with its group's (hi, lo) as seeds, so (scope, recipient)
 * needs no joined string.
 */
import { getRandomValues } from 'node:crypto';

const SEEDS = getRandomValues(new Int32Array(2));

export class KeyHasher {
  /** High lane of the last hash (int32; also picks the table's home slot). */
  hi = 0;
  /** Low lane of the last hash (int32). */
  lo = 0;

  constructor(
    private readonly seedHi: number = SEEDS[0]!,
    private readonly seedLo: number = SEEDS[1]!,
  ) {}

  /** Hash `s` with this hasher's seeds into (hi, lo). */
  hash(s: string): void {
    this.hashWith(s, this.seedHi, this.seedLo);
  }

  /** Hash `s` with the given seeds (a group's hi, lo for its member keys) into (hi, lo). */
  hashWith(s: string, seedHi: number, seedLo: number): void {
    let a = seedHi | 0;
    let b = seedLo | 0;
    const n = s.length;
    const pairs = n & ~1;
    let i = 0;
    for (; i < pairs; i += 2) {
      const k = s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16);
      let ka = Math.imul(k, 0xcc9e2d51);
      ka = Math.imul((ka << 15) | (ka >>> 17), 0x1b873593);
      a ^= ka;
      a = (Math.imul((a << 13) | (a >>> 19), 5) + 0xe6546b64) | 0;
      let kb = Math.imul(k, 0x85ebca77);
      kb = Math.imul((kb << 16) | (kb >>> 16), 0xc2b2ae3d);
      b ^= kb;
      b = (Math.imul((b << 17) | (b >>> 15), 5) + 0x561ccd1b) | 0;
    }
    if (i < n) {
      const k = s.charCodeAt(i);
      const ka = Math.imul(k, 0xcc9e2d51);
      a ^= Math.imul((ka << 15) | (ka >>> 17), 0x1b873593);
      const kb = Math.imul(k, 0x85ebca77);
      b ^= Math.imul((kb << 16) | (kb >>> 16), 0xc2b2ae3d);
    }
    a ^= n;
    b ^= n;
    a = (a + b) | 0;
    b = (b + a) | 0;
    a = fmix32(a);
    b = fmix32(b);
    a = (a + b) | 0;
    this.hi = a;
    this.lo = (b + a) | 0;
  }
}

/** murmur3's finaliser: every input bit flips each output bit with probability ~1/2 (a bijection). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
