/**
 * The one scratch region through which batches and bytes cross the boundary, the table key of a
 * JS key hash, and the core's clock.
 *
 *   SCRATCH_PTR                                  +INPUT_BYTES                 +SCRATCH_BYTES
 *   | input: batch key hashes (u32 hi, u32 lo)  |  output: f64 results       |
 *   |   or text bytes to fingerprint (UTF-8)    |  (batch answers, hashes)   |
 *
 * Keys arrive as 64-bit hashes computed in JS (src/core/keyhash.ts), two u32 per key: as call
 * arguments for single decisions, as pairs in the input area for batches. JS caches views over
 * this region and rebuilds them only if memory.buffer changes (it does not after init: memory
 * grows once).
 */
import { xxh64 } from './xxh64';

@inline export const INPUT_BYTES: u32 = 192 * 1024;
@inline export const OUTPUT_BYTES: u32 = 64 * 1024;
@inline export const SCRATCH_BYTES: u32 = INPUT_BYTES + OUTPUT_BYTES;

/** Start of the scratch region: first 16-byte boundary after static data. */
export const SCRATCH_PTR: usize = (__heap_base + 15) & ~(<usize>15);
export const OUTPUT_PTR: usize = SCRATCH_PTR + INPUT_BYTES;

/** Table key of a JS key hash (hi, lo). 0 marks an empty slot, so a hash of 0 becomes 1. */
@inline export function keyOf(hi: u32, lo: u32): u64 {
  const k = (<u64>hi << 32) | <u64>lo;
  return k == 0 ? 1 : k;
}

// Time never runs backwards inside the core: an earlier `now` is read as the latest seen, so a
// wall-clock step back cannot resurrect or block reclaimed keys (see src/core/types.ts).
let lastNowMs: f64 = -Infinity;

@inline export function clampNow(nowMs: f64): f64 {
  if (nowMs > lastNowMs) lastNowMs = nowMs;
  return lastNowMs;
}

/** ms a caller is told to wait when a table is full and nothing can be reclaimed. */
export let fullRetryMs: f64 = 1000;

export function setFullRetryMs(ms: f64): void {
  fullRetryMs = ms;
}

/** Export: xxh64 of `len` scratch bytes with seed 0, written as u64 at the start of the output area. */
export function hashScratch(len: u32): void {
  store<u64>(OUTPUT_PTR, xxh64(SCRATCH_PTR, len, 0));
}

export function scratchPtr(): usize {
  return SCRATCH_PTR;
}
