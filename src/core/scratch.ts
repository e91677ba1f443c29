/**
 * The JS side of the scratch region (layout in assembly/scratch.ts): batch key hashes in as
 * int32 pairs, text in as UTF-8 (fingerprints only), answers out as f64. Views are cached and
 * rebuilt only when memory.buffer changes (it does not after init, where memory grows once).
 */
import { INPUT_BYTES, OUTPUT_BYTES, type WasmMemory } from './wasm.js';

const encoder = new TextEncoder();

/** Keys per batch call: one (hi, lo) pair in, one f64 answer out each. */
export const BATCH_MAX = Math.min(INPUT_BYTES, OUTPUT_BYTES) / 8;

export class Scratch {
  private bytes!: Uint8Array;
  private input!: Uint8Array;
  /** Batch key hashes: pairs[2i] = hi, pairs[2i + 1] = lo. */
  pairs!: Int32Array;
  private out!: Float64Array;

  constructor(private readonly memory: WasmMemory, private readonly base: number) {
    this.views();
  }

  private views(): void {
    const buffer = this.memory.buffer;
    this.bytes = new Uint8Array(buffer);
    this.input = new Uint8Array(buffer, this.base, INPUT_BYTES);
    this.pairs = new Int32Array(buffer, this.base, INPUT_BYTES / 4);
    this.out = new Float64Array(buffer, this.base + INPUT_BYTES, OUTPUT_BYTES / 8);
  }

  // A WebAssembly memory that grows detaches its old ArrayBuffer, which zeroes the length of
  // every view over it: one length check instead of the `memory.buffer` getter, an API call
  // measured at ~190 ns per read on the 2-core bench machine, more than a whole raw decision
  // call (~50-100 ns).
  fresh(): void {
    if (this.bytes.byteLength === 0) this.views();
  }

  /** Write `s` as UTF-8 at the start of the input area; returns its byte length. Throws if it does not fit. */
  write(s: string): number {
    this.fresh();
    const r = encoder.encodeInto(s, this.input);
    if (r.read !== s.length) throw new RangeError(`limits core: ${s.length} chars do not fit the scratch region`);
    return r.written;
  }

  /** Copy n f64 answers from the output area into out[first..]. */
  results(out: Float64Array, first: number, n: number): void {
    const src = this.out;
    for (let i = 0; i < n; i++) out[first + i] = src[i]!;
  }

  /** The output area as bytes (little-endian u64 hash at 0 after hashScratch). */
  output(): Uint8Array {
    this.fresh();
    return this.bytes.subarray(this.base + INPUT_BYTES, this.base + INPUT_BYTES + 8);
  }
}
