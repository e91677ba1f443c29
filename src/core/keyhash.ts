/**
 * Table keys of the limits core: a key string → a 64-bit hash as two int32 lanes (hi, lo),
 * computed in JS straight from the UTF-16 code units, so a decision passes four numbers to the
 * WASM module instead of encoding the string into its memory (TextEncoder.encodeInto + the
 * bytes crossing cost more than the decision itself).
 *
 * Algorithm: blocks of two UTF-16 code units (k = u[i] | u[i+1] << 16) go through one invertible
 * block mix (multiply, xorshift) and then into two 32-bit lanes, each with its own seed,
 * multiplier and rotation (lane' = rotl((lane ^ k) * M, r): a bijection of the lane for each
 * block, and the rotation carries high bits down so no difference stays parked in the top bit);
 * the length goes into both lanes; then a cross-mixing finaliser (lane sums around murmur3's
 * fmix32, as in murmur3_x86_128) that is a bijection of the 64-bit lane state. This is about
 * half the arithmetic of two full murmur3 lanes (measured: reading the code units, not the
 * mixing, is most of what is left). Code units are hashed as they are: any string, lone
 * surrogates included, has one hash; no encoding step can fail or merge two strings.
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
      let k = Math.imul(s.charCodeAt(i) | (s.charCodeAt(i + 1) << 16), 0xcc9e2d51);
      k ^= k >>> 15;
      a = Math.imul(a ^ k, 0x1b873593);
      a = (a << 13) | (a >>> 19);
      b = Math.imul(b ^ k, 0x85ebca77);
      b = (b << 17) | (b >>> 15);
    }
    if (i < n) {
      let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
      k ^= k >>> 15;
      a = Math.imul(a ^ k, 0x1b873593);
      b = Math.imul(b ^ k, 0x85ebca77);
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

/** One hasher for every CoreKey (keys are hashed one at a time, synchronously). */
const keyHasher = new KeyHasher();

/**
 * A table key hashed once, for every decision on it: lanes keep theirs for their lifetime, a
 * request its own for all of its checks (the string entry points hash on every call, and a
 * joined key like `pair:${number}:${to}` is a fresh string to build and flatten first).
 * Measured on the 2-core bench machine, 10^5 keys: building the joined key and hashing it
 * ~220 ns; hashing only the recipient under a held group key ~110 ns (bench/micro/core).
 *
 * `CoreKey.of(s)` hashes exactly as the string entry points do (`gcra.take(s)` and
 * `gcra.takeKey(CoreKey.of(s))` charge one bucket). `key.member(part)` chains: part hashed with
 * the key's (hi, lo) as seeds, as the core chains a scope and its recipients (so
 * `unique.chargeKey(CoreKey.of(scope).member(to))` is `unique.charge(scope, to)`). The chain
 * (group, part) is kept for the reference model, which keys its Maps by the parts.
 */
export class CoreKey {
  private constructor(
    /** High lane of the hash (int32). */
    readonly hi: number,
    /** Low lane of the hash (int32). */
    readonly lo: number,
    /** The key this one is a member of (undefined for a root key). */
    readonly group: CoreKey | undefined,
    /** The string hashed last (the whole key for a root key). */
    readonly part: string,
  ) {}

  /** A root key: the hash of `text`. */
  static of(text: string): CoreKey {
    keyHasher.hash(text);
    return new CoreKey(keyHasher.hi, keyHasher.lo, undefined, text);
  }

  /** A member key: `part` hashed with this key's hash as seeds. */
  member(part: string): CoreKey {
    keyHasher.hashWith(part, this.hi, this.lo);
    return new CoreKey(keyHasher.hi, keyHasher.lo, this, part);
  }

  /** The strings of the chain, root first (the reference model's key). */
  parts(): string[] {
    const out: string[] = [];
    for (let k: CoreKey | undefined = this; k !== undefined; k = k.group) out.unshift(k.part);
    return out;
  }
}

/** Hash `part` under `group` into `h` without building a CoreKey (batches of one group's members). */
export function hashMemberInto(h: KeyHasher, group: CoreKey, part: string): void {
  h.hashWith(part, group.hi, group.lo);
}
