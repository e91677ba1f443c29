/**
 * Limits core micro-benchmark: GCRA decisions per second and bytes per tracked key for the WASM
 * core (single call and batch), the Map-based TS reference model and rate-limiter-flexible's
 * RateLimiterMemory, at 10^5 and 10^6 keys, with key strings prebuilt and built per decision
 * (bench/micro/core/worker.ts says what each means). Each measurement runs in its own process;
 * each process times several rounds and the median round is reported (min–max alongside).
 * Ratios are medians against the TS model / rate-limiter-flexible of the same run.
 *
 *   npm run build && npm run bench:core                 (= node dist/bench/micro/core.js)
 *   node dist/bench/micro/core.js 100000 prebuilt       (one key count, one key mode)
 */
import { formatTable, runChild } from '../support/child.js';
import { formatMachine } from '../support/machine.js';
import type { Impl, KeyMode, WorkerResult } from './core/worker.js';

const WORKER = new URL('./core/worker.js', import.meta.url);
const IMPLS: readonly Impl[] = ['wasm', 'wasm-batch', 'ts-model', 'rate-limiter-flexible'];
const BREAKDOWN: readonly Impl[] = ['hash-only', 'wasm-prehashed'];

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const fmt = (v: number): string => Math.round(v).toLocaleString('en-US');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const modes = args.filter((a): a is KeyMode => a === 'prebuilt' || a === 'built');
  const counts = args.filter((a) => /^\d+$/.test(a)).map(Number);
  const keyCounts = counts.length > 0 ? counts : [100_000, 1_000_000];
  const keyModes: readonly KeyMode[] = modes.length > 0 ? modes : ['prebuilt', 'built'];
  console.log('limits core, GCRA take (rate 1/s, burst 5), key hashing included');
  console.log(formatMachine());
  const rows: string[][] = [];
  for (const mode of keyModes) {
    for (const keys of keyCounts) {
      const results = new Map<Impl, WorkerResult>();
      for (const impl of [...IMPLS, ...BREAKDOWN]) results.set(impl, await runChild<WorkerResult>(WORKER, [impl, String(keys), mode]));
      const model = median(results.get('ts-model')!.roundsPerSec);
      const rlf = median(results.get('rate-limiter-flexible')!.roundsPerSec);
      for (const impl of [...IMPLS, ...BREAKDOWN]) {
        const r = results.get(impl)!;
        const m = median(r.roundsPerSec);
        const breakdown = BREAKDOWN.includes(impl);
        rows.push([
          breakdown ? `(${impl})` : impl,
          mode,
          keys.toLocaleString('en-US'),
          fmt(m),
          `${fmt(Math.min(...r.roundsPerSec))}–${fmt(Math.max(...r.roundsPerSec))}`,
          breakdown ? '' : (m / model).toFixed(2) + 'x',
          breakdown ? '' : (m / rlf).toFixed(1) + 'x',
          breakdown ? '' : r.bytesPerKey.toFixed(1),
          breakdown ? '' : (r.memoryBytesDelta / 2 ** 20).toFixed(1),
        ]);
      }
    }
  }
  console.log(formatTable(['implementation', 'key mode', 'keys', 'decisions/s (median)', 'min–max of rounds', 'vs ts-model', 'vs rlf', 'bytes/key', 'heap+ext MiB'], rows));
  console.log('bytes/key: WASM = GCRA table bytes / keys (fixed at init); JS = heap+external delta after gc / keys.');
  console.log('(hash-only) = the key hash alone, per key; (wasm-prehashed) = the WASM decision on hashes computed before timing.');
}

await main();
