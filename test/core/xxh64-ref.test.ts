import xxhash from 'xxhash-wasm';
import { describe, expect, it } from 'vitest';
import { xxh64 } from '../../src/core/xxh64.js';
import { XXH64_VECTORS } from './vectors.js';

describe('xxh64 (TypeScript reference)', async () => {
  const { h64Raw } = await xxhash();
  for (const v of XXH64_VECTORS) {
    it(`equals xxhash-wasm h64 for ${v.name}`, () => {
      expect(xxh64(v.bytes)).toBe(h64Raw(v.bytes));
      expect(xxh64(v.bytes, 0x1234_5678_9abc_def0n)).toBe(h64Raw(v.bytes, 0x1234_5678_9abc_def0n));
    });
  }
});
