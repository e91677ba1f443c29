/**
 * xxh64 in plain TypeScript (BigInt), the reference for the WASM implementation in
 * assembly/xxh64.ts and used by the reference model. Slow (BigInt), never on a hot path;
 * both must equal `xxhash-wasm`'s h64 for the same bytes (test/core/xxh64.test.ts).
 */
const MASK = 0xffff_ffff_ffff_ffffn;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK;
const mul = (a: bigint, b: bigint): bigint => (a * b) & MASK;
const add = (a: bigint, b: bigint): bigint => (a + b) & MASK;
const round = (acc: bigint, input: bigint): bigint => mul(rotl(add(acc, mul(input, P2)), 31n), P1);
const merge = (acc: bigint, val: bigint): bigint => add(mul(acc ^ round(0n, val), P1), P4);

function read64(b: Uint8Array, at: number): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[at + i]!);
  return v;
}

function read32(b: Uint8Array, at: number): bigint {
  return BigInt((b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0);
}

/** xxh64 of `bytes` with `seed`, as an unsigned 64-bit bigint. */
export function xxh64(bytes: Uint8Array, seed = 0n): bigint {
  const len = bytes.length;
  let at = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = add(add(seed, P1), P2);
    let v2 = add(seed, P2);
    let v3 = seed;
    let v4 = (seed - P1) & MASK;
    for (; at + 32 <= len; at += 32) {
      v1 = round(v1, read64(bytes, at));
      v2 = round(v2, read64(bytes, at + 8));
      v3 = round(v3, read64(bytes, at + 16));
      v4 = round(v4, read64(bytes, at + 24));
    }
    h = add(add(rotl(v1, 1n), rotl(v2, 7n)), add(rotl(v3, 12n), rotl(v4, 18n)));
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = add(seed, P5);
  }
  h = add(h, BigInt(len));
  for (; at + 8 <= len; at += 8) h = add(mul(rotl(h ^ round(0n, read64(bytes, at)), 27n), P1), P4);
  if (at + 4 <= len) {
    h = add(mul(rotl(h ^ mul(read32(bytes, at), P1), 23n), P2), P3);
    at += 4;
  }
  for (; at < len; at++) h = mul(rotl(h ^ mul(BigInt(bytes[at]!), P5), 11n), P1);
  h ^= h >> 33n;
  h = mul(h, P2);
  h ^= h >> 29n;
  h = mul(h, P3);
  h ^= h >> 32n;
  return h;
}

/** xxh64 (seed 0) as 16 lowercase hex chars. */
export function xxh64Hex(bytes: Uint8Array): string {
  return xxh64(bytes).toString(16).padStart(16, '0');
}
