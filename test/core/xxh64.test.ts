import xxhash from 'xxhash-wasm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadCore } from '../../src/core/index.js';
import { createReferenceCore } from '../../src/core/reference.js';
import { instantiateCore } from '../../src/core/wasm.js';
import { XXH64_VECTORS } from './vectors.js';

/** xxh64 (seed 0) computed by the WASM core over raw bytes copied into its scratch region. */
async function wasmHasher(): Promise<(bytes: Uint8Array) => bigint> {
  const x = await instantiateCore();
  x.init(8, 8, 8, 8, 8, 8, 1000);
  const base = x.scratchPtr() >>> 0;
  return (bytes) => {
    new Uint8Array(x.memory.buffer, base, bytes.length).set(bytes);
    x.hashScratch(bytes.length);
    return new DataView(x.memory.buffer).getBigUint64(base + 192 * 1024, true);
  };
}

describe('xxh64 in WASM', async () => {
  const { h64Raw } = await xxhash();
  const hash = await wasmHasher();

  for (const v of XXH64_VECTORS) {
    it(`equals xxhash-wasm h64 for ${v.name}`, () => {
      expect(hash(v.bytes)).toBe(h64Raw(v.bytes));
    });
  }

  it('equals xxhash-wasm h64 for random byte strings of every length up to 100', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => hash(bytes) === h64Raw(bytes)),
      { numRuns: 500 },
    );
  });

  it('fingerprintOf equals the reference model and xxhash-wasm of the normalised text', async () => {
    const core = await loadCore({ gcraKeys: 8, windowKeys: 8, uniqueKeys: 8, repeatKeys: 8 });
    const ref = createReferenceCore();
    const { h64ToString } = await xxhash();
    expect(core.fingerprintOf('Olá João, código 123 ✓')).toBe(h64ToString('olá <name>, código # ✓'));
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (text) => core.fingerprintOf(text) === ref.fingerprintOf(text)),
      { numRuns: 300 },
    );
  });
});
