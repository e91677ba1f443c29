/**
 * Limits core micro-benchmark: GCRA decisions per second and bytes per tracked key for the WASM
 * core (single call and batch), the Map-based TS reference model and rate-limiter-flexible's
 * RateLimiterMemory, at 10^5 and 10^6 keys. Each measurement runs in its own process
 * (bench/micro/core/worker.ts). Ratios are against the TS model of the same run.
 *
 *   npm run build && npm run bench:core        (= node dist/bench/micro/core.js)
 *   node dist/bench/micro/core.js 100000       (one key count)
 */
import { formatTable, runChild } from '../support/child.js';
import { formatMachine } from '../support/machine.js';
import type { Impl, WorkerResult } from './core/worker.js';

const WORKER = new URL('./core/worker.js', import.meta.url);
const IMPLS: readonly Impl[] = ['wasm', 'wasm-batch', 'ts-model', 'rate-limiter-flexible'];

async function main(): Promise<void> {
  const keyCounts = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [100_000, 1_000_000];
  console.log(`limits core, GCRA take (rate 1/s, burst 5), key hashing included`);
  console.log(formatMachine());
  const rows: string[][] = [];
  for (const keys of keyCounts) {
    const results = new Map<Impl, WorkerResult>();
    for (const impl of IMPLS) results.set(impl, await runChild<WorkerResult>(WORKER, [impl, String(keys)]));
    const model = results.get('ts-model')!;
    for (const impl of IMPLS) {
      const r = results.get(impl)!;
      rows.push([
        impl,
        keys.toLocaleString('en-US'),
        Math.round(r.decisionsPerSec).toLocaleString('en-US'),
        (r.decisionsPerSec / model.decisionsPerSec).toFixed(2) + 'x',
        r.bytesPerKey.toFixed(1),
        (r.memoryBytesDelta / 2 ** 20).toFixed(1),
      ]);
    }
  }
  console.log(formatTable(['implementation', 'keys', 'decisions/s', 'vs ts-model', 'bytes/key', 'heap+ext MiB'], rows));
  console.log('bytes/key: WASM = GCRA table bytes / keys (fixed at init); JS = heap+external delta after gc / keys.');

  const enc: string[][] = [];
  for (const impl of ['encode-ascii', 'encode-into'] as const) {
    const r = await runChild<WorkerResult>(WORKER, [impl, '100000']);
    enc.push([impl, Math.round(r.decisionsPerSec).toLocaleString('en-US')]);
  }
  console.log(`\nkey string → scratch bytes (26-char ASCII key)\n${formatTable(['method', 'keys/s'], enc)}`);
}

await main();
