/**
 * The JS side of the scratch region (layout in assembly/scratch.ts): strings in as UTF-8,
 * answers out as f64. Views are cached and rebuilt only when memory.buffer changes (it does
 * not after init; the check is a pointer compare).
 */
import { INPUT_BYTES, OUTPUT_BYTES, type WasmMemory } from './wasm.js';

// Keys are mostly short ASCII (ids, E.164 numbers): copying char codes is ~3x faster than
// TextEncoder.encodeInto for a 20-char key on Node 20 (bench/micro/core.ts, ascii-copy vs
// encodeInto); anything non-ASCII or long takes encodeInto.
const ASCII_COPY_MAX = 64;
const encoder = new TextEncoder();

export class Scratch {
  private buffer: ArrayBuffer;
  private bytes!: Uint8Array;
  private input!: Uint8Array;
  private out!: Float64Array;

  constructor(private readonly memory: WasmMemory, private readonly base: number) {
    this.buffer = memory.buffer;
    this.views();
  }

  private views(): void {
    this.buffer = this.memory.buffer;
    this.bytes = new Uint8Array(this.buffer);
    this.input = new Uint8Array(this.buffer, this.base, INPUT_BYTES);
    this.out = new Float64Array(this.buffer, this.base + INPUT_BYTES, OUTPUT_BYTES / 8);
  }

  private fresh(): void {
    if (this.memory.buffer !== this.buffer) this.views();
  }

  /** Write `s` as UTF-8 at input offset `at`; returns its byte length. Throws if it does not fit. */
  write(s: string, at: number): number {
    this.fresh();
    const n = s.length;
    if (n <= ASCII_COPY_MAX && at + n <= INPUT_BYTES) {
      const bytes = this.bytes;
      const p = this.base + at;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        bytes[p + i] = c;
      }
      if (i === n) return n;
    }
    const r = encoder.encodeInto(s, at === 0 ? this.input : this.input.subarray(at));
    if (r.read !== n) throw new RangeError(`limits core: key of ${n} chars does not fit the scratch region`);
    return r.written;
  }

  /** Pack keys[first..] as [u32 len][bytes]... until the input area or `max` keys; returns how many. */
  pack(keys: readonly string[], first: number, max: number): number {
    let at = 0;
    let i = first;
    const end = Math.min(keys.length, first + max);
    for (; i < end; i++) {
      const key = keys[i]!;
      if (at + 4 + key.length * 3 > INPUT_BYTES) {
        if (i === first) throw new RangeError('limits core: key does not fit the scratch region');
        break;
      }
      const len = this.write(key, at + 4);
      const p = this.base + at;
      const b = this.bytes;
      b[p] = len & 0xff;
      b[p + 1] = (len >>> 8) & 0xff;
      b[p + 2] = (len >>> 16) & 0xff;
      b[p + 3] = len >>> 24;
      at += 4 + len;
    }
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
