/**
 * The JS side of the scratch region (layout in assembly/scratch.ts): strings in as UTF-8,
 * answers out as f64. Views are cached and rebuilt only when memory.buffer changes (it does
 * not after init, where memory grows once).
 */
import { INPUT_BYTES, OUTPUT_BYTES, type WasmMemory } from './wasm.js';

const encoder = new TextEncoder();

export class Scratch {
  private bytes!: Uint8Array;
  private input!: Uint8Array;
  private out!: Float64Array;

  constructor(private readonly memory: WasmMemory, private readonly base: number) {
    this.views();
  }

  private views(): void {
    const buffer = this.memory.buffer;
    this.bytes = new Uint8Array(buffer);
    this.input = new Uint8Array(buffer, this.base, INPUT_BYTES);
    this.out = new Float64Array(buffer, this.base + INPUT_BYTES, OUTPUT_BYTES / 8);
  }

  // A WebAssembly memory that grows detaches its old ArrayBuffer, which zeroes the length of
  // every view over it: one length check instead of the `memory.buffer` getter, an API call
  // measured at ~190 ns per read on the 2-core bench machine, more than a whole raw decision
  // call (~50-100 ns).
  private fresh(): void {
    if (this.bytes.byteLength === 0) this.views();
  }

  /** Write `s` as UTF-8 at input offset `at`; returns its byte length. Throws if it does not fit. */
  write(s: string, at: number): number {
    this.fresh();
    const r = encoder.encodeInto(s, at === 0 ? this.input : this.input.subarray(at));
    if (r.read !== s.length) throw new RangeError(`limits core: ${s.length} chars do not fit the scratch region`);
    return r.written;
  }

  /** How many of keys[first..] (at most `max`) fit the input area joined by NUL, whatever their UTF-8 width. */
  batchSize(keys: readonly string[], first: number, max: number): number {
    const end = Math.min(keys.length, first + max);
    let bytes = 0;
    let i = first;
    for (; i < end; i++) {
      bytes += keys[i]!.length * 3 + 1;
      if (bytes > INPUT_BYTES) break;
    }
    if (i === first) throw new RangeError('limits core: key does not fit the scratch region');
    return i - first;
  }

  /** Copy n f64 answers from the output area into out[first..]. */
  results(out: Float64Array, first: number, n: number): void {
    this.fresh();
    out.set(n === this.out.length ? this.out : this.out.subarray(0, n), first);
  }

  /** The output area as bytes (little-endian u64 hash at 0 after hashScratch). */
  output(): Uint8Array {
    this.fresh();
    return this.bytes.subarray(this.base + INPUT_BYTES, this.base + INPUT_BYTES + 8);
  }
}
