/**
 * Limits core micro-benchmark: GCRA decisions per second and bytes per tracked key for the WASM
 * core (single call and batch), the Map-based TS reference model and rate-limiter-flexible's
 * RateLimiterMemory, at 10^5 and 10^6 keys, with key strings prebuilt and built per decision
 * (bench/micro/core/worker.ts says what each means). Each measurement runs in its own process;
 * each process times several rounds; every implementation runs twice, in forward then reverse
 * order, so drift in the machine's load hits all alike; the median round is reported (min–max
 * alongside). The machine is shared: decisions per CPU second (time the process actually ran)
 * are the primary figure. Ratios are per pass (the implementation's median round over the TS
 * model's / rate-limiter-flexible's of the same pass, run next to each other), and the median of
 * the passes' ratios is reported with their min–max; wall-clock medians are printed too.
 *
 *   npm run build && npm run bench:core                 (= node dist/bench/micro/core.js)
 *   node dist/bench/micro/core.js 100000 prebuilt       (one key count, one key mode)
 */
import { formatTable, runChild } from '../support/child.js';
import { formatMachine } from '../support/machine.js';
import type { Impl, KeyMode, WorkerResult } from './core/worker.js';

const WORKER = new URL('./core/worker.js', import.meta.url);
const IMPLS: readonly Impl[] = ['wasm', 'wasm-batch', 'wasm-string', 'ts-model', 'rate-limiter-flexible'];
const BREAKDOWN: readonly Impl[] = ['hash-only', 'wasm-prehashed'];
const PASSES = 4;

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
  console.log(`limits core, GCRA take (rate 1/s, burst 5), key hashing included; decisions per second, ${PASSES} processes x 5 rounds each`);
  console.log(formatMachine());
  const rows: string[][] = [];
  for (const mode of keyModes) {
    for (const keys of keyCounts) {
      const all = [...IMPLS, ...BREAKDOWN];
      const cpu = new Map<Impl, number[]>(all.map((i) => [i, []]));
      /** Per pass: the median round of each implementation. */
      const passes: Map<Impl, number>[] = [];
      const wall = new Map<Impl, number[]>(all.map((i) => [i, []]));
      const last = new Map<Impl, WorkerResult>();
      for (let pass = 0; pass < PASSES; pass++) {
        const medians = new Map<Impl, number>();
        passes.push(medians);
        for (const impl of pass % 2 === 0 ? all : [...all].reverse()) {
          const r = await runChild<WorkerResult>(WORKER, [impl, String(keys), mode]);
          medians.set(impl, median(r.roundsPerCpuSec));
          cpu.get(impl)!.push(...r.roundsPerCpuSec);
          wall.get(impl)!.push(...r.roundsPerSec);
          last.set(impl, r);
        }
      }
      const ratio = (impl: Impl, base: Impl, digits: number): string => {
        const rs = passes.map((p) => p.get(impl)! / p.get(base)!);
        return `${median(rs).toFixed(digits)}x (${Math.min(...rs).toFixed(digits)}–${Math.max(...rs).toFixed(digits)})`;
      };
      for (const impl of all) {
        const c = cpu.get(impl)!;
        const m = median(c);
        const r = last.get(impl)!;
        const breakdown = BREAKDOWN.includes(impl);
        rows.push([
          breakdown ? `(${impl})` : impl,
          mode,
          keys.toLocaleString('en-US'),
          fmt(m),
          `${fmt(Math.min(...c))}–${fmt(Math.max(...c))}`,
          fmt(median(wall.get(impl)!)),
          breakdown ? '' : ratio(impl, 'ts-model', 2),
          breakdown ? '' : ratio(impl, 'rate-limiter-flexible', 1),
          breakdown ? '' : r.bytesPerKey.toFixed(1),
          breakdown ? '' : (r.memoryBytesDelta / 2 ** 20).toFixed(1),
        ]);
      }
    }
  }
  console.log(formatTable(['implementation', 'key mode', 'keys', 'per CPU-s (median)', 'min–max of rounds', 'per wall-s', 'vs ts-model (passes)', 'vs rlf (passes)', 'bytes/key', 'heap+ext MiB'], rows));
  console.log('bytes/key: WASM = GCRA table bytes / keys (fixed at init); JS = heap+external delta after gc / keys.');
  console.log('Ratios: median over passes of (median round / the baseline\'s median round in the same pass), min–max of passes in parentheses.');
  console.log('wasm = keys hashed once as the gateway does (built: recipient hashed under the held group key, per decision; prebuilt: held keys); wasm-string = the string entry point on the joined key.');
  console.log('(hash-only) = the key preparation alone, per key; (wasm-prehashed) = the WASM decision on hashes computed before timing.');
}

await main();
