/**
 * xxh64 over bytes in linear memory. Must equal `xxhash-wasm`'s h64 for the same bytes and seed
 * (test/core/xxh64.test.ts). Keys are hashed here, inside the module, so that one call from JS is
 * hash + decision with no BigInt or string crossing the boundary.
 *
 * Loads are unaligned little-endian (wasm is little-endian), as the algorithm specifies.
 */
@inline const P1: u64 = 0x9e3779b185ebca87;
@inline const P2: u64 = 0xc2b2ae3d27d4eb4f;
@inline const P3: u64 = 0x165667b19e3779f9;
@inline const P4: u64 = 0x85ebca77c2b2ae63;
@inline const P5: u64 = 0x27d4eb2f165667c5;

@inline function round(acc: u64, input: u64): u64 {
  return rotl<u64>(acc + input * P2, 31) * P1;
}

@inline function merge(acc: u64, val: u64): u64 {
  return (acc ^ round(0, val)) * P1 + P4;
}

export function xxh64(ptr: usize, len: usize, seed: u64): u64 {
  const end = ptr + len;
  let p = ptr;
  let h: u64;
  if (len >= 32) {
    let v1 = seed + P1 + P2;
    let v2 = seed + P2;
    let v3 = seed;
    let v4 = seed - P1;
    const limit = end - 32;
    do {
      v1 = round(v1, load<u64>(p));
      v2 = round(v2, load<u64>(p, 8));
      v3 = round(v3, load<u64>(p, 16));
      v4 = round(v4, load<u64>(p, 24));
      p += 32;
    } while (p <= limit);
    h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
    h = merge(h, v1);
    h = merge(h, v2);
    h = merge(h, v3);
    h = merge(h, v4);
  } else {
    h = seed + P5;
  }
  h += <u64>len;
  while (p + 8 <= end) {
    h = rotl<u64>(h ^ round(0, load<u64>(p)), 27) * P1 + P4;
    p += 8;
  }
  if (p + 4 <= end) {
    h = rotl<u64>(h ^ (<u64>load<u32>(p) * P1), 23) * P2 + P3;
    p += 4;
  }
  while (p < end) {
    h = rotl<u64>(h ^ (<u64>load<u8>(p) * P5), 11) * P1;
    p++;
  }
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  h ^= h >> 32;
  return h;
}
