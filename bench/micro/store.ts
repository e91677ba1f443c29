/**
 * Embedded store write throughput: group commit (many enqueues per transaction and fsync) against
 * one transaction per enqueue, on the same machine, one after the other, each in its own process
 * (so one variant's heap and JIT state cannot colour the other) on a fresh database.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/micro/store.js [--duration-ms 2000] [--concurrency 256] [--dir PATH]
 *
 * `--dir` picks the filesystem under test (default: the OS temp dir); fsync cost depends on it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { systemClock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { formatMachine } from '../support/machine.js';

const { values } = parseArgs({
  options: {
    'duration-ms': { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '256' },
    dir: { type: 'string', default: tmpdir() },
    /** Internal: run one variant and print its result as JSON. */
    variant: { type: 'string' },
  },
});
const durationMs = Number(values['duration-ms']);
const concurrency = Number(values.concurrency);

interface Result {
  name: string;
  enqueues: number;
  commits: number;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
}

const VARIANTS: Record<string, { name: string; maxBatch: number }> = {
  group: { name: 'group commit (maxBatch 512)', maxBatch: 512 },
  single: { name: 'one transaction per enqueue', maxBatch: 1 },
};

const BODY = JSON.stringify({ messaging_product: 'whatsapp', to: '15551234567', type: 'template',
  template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'A-1234' }] }] } });

let seq = 0;
function message(): NewMessage {
  seq++;
  const nowMs = systemClock.nowMs();
  return {
    id: `b${seq}`, tenantId: 'bench', phoneNumberId: '1001', to: '15551234567', toInput: '+15551234567', body: BODY,
    priority: 1, createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000,
    // A third carry an idempotency key, as client retries would.
    idempotencyKey: seq % 3 === 0 ? `k${seq}` : null, bodyHash: seq % 3 === 0 ? 'h' : null,
  };
}

async function run(name: string, maxBatch: number): Promise<Result> {
  const dir = mkdtempSync(join(values.dir, 'sendgate-bench-store-'));
  const store = new EmbeddedStore({ path: dir, clock: systemClock, maxBatch });
  const latenciesMs: number[] = [];
  const commitsBefore = store.commits;
  const start = performance.now();
  const stopAt = start + durationMs;
  let enqueues = 0;
  async function writer(): Promise<void> {
    while (performance.now() < stopAt) {
      const t0 = performance.now();
      await store.enqueue(message());
      latenciesMs.push(performance.now() - t0);
      enqueues++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, writer));
  const elapsedMs = performance.now() - start;
  const commits = store.commits - commitsBefore;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  latenciesMs.sort((a, b) => a - b);
  return { name, enqueues, commits, elapsedMs, p50Ms: percentile(latenciesMs, 50), p99Ms: percentile(latenciesMs, 99) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const only = values.variant === undefined ? undefined : VARIANTS[values.variant];
if (only !== undefined) {
  console.log(JSON.stringify(await run(only.name, only.maxBatch)));
} else {
  const self = process.argv[1]!;
  const forwarded = ['--duration-ms', String(durationMs), '--concurrency', String(concurrency), '--dir', values.dir];
  const results = Object.keys(VARIANTS).map((variant) =>
    JSON.parse(execFileSync(process.execPath, [self, ...forwarded, '--variant', variant], { encoding: 'utf8' })) as Result);
  console.log(formatMachine());
  console.log(`dir ${values.dir} | ${concurrency} concurrent writers | ${durationMs} ms per variant | WAL, synchronous=FULL`);
  console.log('variant                          enqueues/s   writes/commit   p50 ms   p99 ms');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(32)} ${((r.enqueues * 1000) / r.elapsedMs).toFixed(0).padStart(10)}` +
      `   ${(r.enqueues / Math.max(1, r.commits)).toFixed(1).padStart(13)}` +
      `   ${r.p50Ms.toFixed(2).padStart(6)}   ${r.p99Ms.toFixed(2).padStart(6)}`,
    );
  }
}
