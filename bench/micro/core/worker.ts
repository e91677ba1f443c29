/**
 * One implementation, one key count, one process (spawned by bench/micro/core.ts):
 *   node --expose-gc dist/bench/micro/core/worker.js <impl> <keys>
 * Prints one JSON line: decisions per second and bytes per tracked key.
 *
 * Keys are pair keys as the gateway builds them (phone number id : recipient), built before any
 * timing; the timed loop visits them in a scattered order (stride prime to the key count) so
 * that caches see what a real mix of recipients looks like. Hashing the key string is inside
 * the timed loop for every implementation.
 */
import rlf from 'rate-limiter-flexible';
import { loadCore } from '../../../src/core/index.js';
import { createReferenceCore } from '../../../src/core/reference.js';

export type Impl = 'wasm' | 'wasm-batch' | 'ts-model' | 'rate-limiter-flexible' | 'encode-ascii' | 'encode-into';
export interface WorkerResult {
  impl: Impl;
  keys: number;
  decisions: number;
  seconds: number;
  decisionsPerSec: number;
  bytesPerKey: number;
  memoryBytesDelta: number;
}

const RATE_PER_SEC = 1;
const BURST = 5;
const T0 = 1_700_000_000_000;
const BATCH = 1024;

const gc = (globalThis as { gc?: () => void }).gc;
function heapBytes(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

function buildKeys(n: number): string[] {
  const keys = new Array<string>(n);
  for (let i = 0; i < n; i++) keys[i] = `106540352242922:5511${(900_000_000 + i * 7).toString()}`;
  return keys;
}

function stride(n: number): number {
  let s = Math.floor(n * 0.618_033_9) | 1;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  while (gcd(s, n) !== 1) s += 2;
  return s;
}

async function main(): Promise<void> {
  const impl = process.argv[2] as Impl;
  const n = Number(process.argv[3]);
  const keys = buildKeys(n);
  const step = stride(n);
  // Enough decisions for ~1 s on a shared 2-core machine, at least two passes over the keys.
  const decisions = impl === 'rate-limiter-flexible' ? Math.max(n, 400_000) : Math.max(2 * n, 2_000_000);
  let decide: (i: number, now: number) => number | Promise<unknown>;
  let bytesPerKey = 0;
  let memoryBytesDelta = 0;
  const base = heapBytes();

  if (impl === 'wasm' || impl === 'wasm-batch') {
    const core = await loadCore({ gcraKeys: n, windowKeys: 16, uniqueKeys: 16, repeatKeys: 16 });
    const take = core.gcra.take;
    for (let i = 0; i < n; i++) take(keys[i]!, RATE_PER_SEC, BURST, T0);
    bytesPerKey = core.stats().tableBytes.gcra / n;
    memoryBytesDelta = heapBytes() - base;
    if (impl === 'wasm') {
      decide = (i, now) => take(keys[i]!, RATE_PER_SEC, BURST, now);
    } else {
      // Batches are sliced before timing (a broadcast arrives as an array of recipients).
      const batches: string[][] = [];
      let at = 0;
      for (let b = 0; b < Math.ceil(decisions / BATCH); b++) {
        const batch = new Array<string>(BATCH);
        for (let j = 0; j < BATCH; j++, at = (at + step) % n) batch[j] = keys[at]!;
        batches.push(batch);
      }
      const out = new Float64Array(BATCH);
      decide = (b, now) => (core.gcra.takeMany(batches[b]!, RATE_PER_SEC, BURST, now, out), out[0]!);
    }
  } else if (impl === 'ts-model') {
    const model = createReferenceCore();
    const take = model.gcra.take;
    for (let i = 0; i < n; i++) take(keys[i]!, RATE_PER_SEC, BURST, T0);
    memoryBytesDelta = heapBytes() - base;
    bytesPerKey = memoryBytesDelta / n;
    decide = (i, now) => take(keys[i]!, RATE_PER_SEC, BURST, now);
  } else if (impl === 'rate-limiter-flexible') {
    const limiter = new rlf.RateLimiterMemory({ points: BURST, duration: BURST / RATE_PER_SEC });
    for (let i = 0; i < n; i++) await limiter.consume(keys[i]!).catch(() => 0);
    memoryBytesDelta = heapBytes() - base;
    bytesPerKey = memoryBytesDelta / n;
    decide = (i) => limiter.consume(keys[i]!).then(() => 0, () => 1);
  } else {
    const bytes = new Uint8Array(256);
    const encoder = new TextEncoder();
    decide =
      impl === 'encode-into'
        ? (i) => encoder.encodeInto(keys[i]!, bytes).written
        : (i) => {
            const s = keys[i]!;
            for (let j = 0; j < s.length; j++) bytes[j] = s.charCodeAt(j);
            return s.length;
          };
  }

  const batched = impl === 'wasm-batch';
  const calls = batched ? Math.ceil(decisions / BATCH) : decisions;
  const isAsync = impl === 'rate-limiter-flexible';
  // Warm-up pass (JIT), not timed.
  for (let c = 0, i = 0; c < Math.min(calls, 50_000); c++, i = (i + step) % n) {
    const r = decide(batched ? c % calls : i, T0 + 1);
    if (isAsync) await r;
  }
  let i = 0;
  const start = process.hrtime.bigint();
  for (let c = 0; c < calls; c++) {
    const now = T0 + 2 + c / 1000; // time moves: a mix of admitted and refused decisions
    const r = decide(batched ? c : i, now);
    if (isAsync) await r;
    i = (i + step) % n;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const done = batched ? calls * BATCH : calls;
  const result: WorkerResult = { impl, keys: n, decisions: done, seconds, decisionsPerSec: done / seconds, bytesPerKey, memoryBytesDelta };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
