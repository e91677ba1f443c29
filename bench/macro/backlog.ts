/**
 * Memory and restart time against the size of the backlog. The store is the queue (lanes page it),
 * so neither should grow with the number of messages waiting.
 *
 * For each size (cumulative: the store grows from one to the next), with 10 numbers:
 * 1. the store is filled directly (EmbeddedStore, large group commits), not over HTTP;
 * 2. a gateway is started from the built CLI, left to settle, and its RSS read from /proc;
 * 3. it is killed with SIGKILL and started again: restart-to-ready is from the spawn to the first
 *    /readyz 200; its RSS is read again once it settled.
 * The numbers are paced at 1 msg/s towards an upstream that refuses connections, so the backlog
 * stays (a message that fails is retried later, still queued).
 *
 *   node dist/bench/macro/backlog.js [--sizes 10000,100000,1000000,2000000] [--settle-ms 3000]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { systemClock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { formatTable } from '../support/child.js';
import { CLI, freePort, machineLine } from './processes.js';
import { spawn, type ChildProcess } from 'node:child_process';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000,2000000' },
    'settle-ms': { type: 'string', default: '3000' },
  },
});
const NUMBERS = 10;
const sizes = values.sizes.split(',').map(Number);
const settleMs = Number(values['settle-ms']);
const MIB = 1024 * 1024;

const body = (to: string): string =>
  JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${to}`, type: 'template', template: { name: 'order_update', language: { code: 'en' } } });

/** Adds messages `from`…`to - 1` to the store, spread over the numbers, one large commit per 10,000. */
async function prefill(path: string, from: number, to: number): Promise<void> {
  const store = new EmbeddedStore({ path, clock: systemClock, maxBatch: 10_000 });
  const nowMs = Date.now();
  let batch: Promise<unknown>[] = [];
  for (let i = from; i < to; i++) {
    const digits = `1666${String(i).padStart(7, '0')}`;
    const message: NewMessage = {
      id: `bl${i}`, tenantId: 'bench', phoneNumberId: String(6000 + (i % NUMBERS)), to: digits, toInput: `+${digits}`,
      body: body(digits), priority: i % 10 === 0 ? 0 : 1, createdAtMs: nowMs, deadlineAtMs: nowMs + 30 * 86_400_000,
      idempotencyKey: null, bodyHash: null,
    };
    batch.push(store.enqueue(message));
    if (batch.length >= 10_000) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
  await store.close();
}

function rssMiB(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return (kb * 1024) / MIB;
}

interface Started {
  child: ChildProcess;
  readyMs: number;
}

/** Spawns the gateway and times spawn → first /readyz 200. */
async function start(configPath: string, url: string): Promise<Started> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gateway exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await request(`${url}/readyz`);
      await res.body.dump();
      if (res.statusCode === 200) return { child, readyMs: performance.now() - t0 };
    } catch { /* not listening yet */ }
    if (performance.now() - t0 > 120_000) {
      child.kill('SIGKILL');
      throw new Error(`gateway not ready in 120 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((ok) => {
    if (child.exitCode !== null || child.signalCode !== null) return ok();
    child.once('exit', () => ok());
    child.kill('SIGKILL');
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-backlog-'));
  const storePath = join(dir, 'store');
  const port = await freePort();
  const deadPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configPath = join(dir, 'gateway.json');
  writeFileSync(configPath, JSON.stringify({
    listen: { host: '127.0.0.1', port },
    storage: { kind: 'embedded', path: storePath },
    upstream: { baseUrl: `http://127.0.0.1:${deadPort}`, http2: false, timeoutMs: 1000 },
    log: { level: 'fatal' },
    limits: { maxQueuedPerNumber: 10_000_000 },
    tenants: [{
      id: 'bench', apiKeys: ['bench-backlog-key'], messagingLimit: 'unlimited',
      policy: { optIn: 'off', serviceWindow: 'off' },
      numbers: Array.from({ length: NUMBERS }, (_, i) => ({ phoneNumberId: String(6000 + i), accessToken: `token-${i}`, mps: 1, burst: 1 })),
    }],
  }));

  const rows: string[][] = [];
  let filled = 0;
  let previous: { size: number; rss: number } | null = null;
  try {
    for (const size of sizes) {
      const fillStart = performance.now();
      await prefill(storePath, filled, size);
      const fillSec = (performance.now() - fillStart) / 1000;
      filled = size;
      const first = await start(configPath, url);
      await new Promise((r) => setTimeout(r, settleMs));
      const rssFirst = rssMiB(first.child.pid);
      await kill9(first.child);
      const again = await start(configPath, url);
      await new Promise((r) => setTimeout(r, settleMs));
      const rssAgain = rssMiB(again.child.pid);
      await kill9(again.child);
      const rss = Math.max(rssFirst, rssAgain);
      const growth = previous === null ? '' : (((rss - previous.rss) * MIB) / (size - previous.size)).toFixed(1);
      rows.push([
        size.toLocaleString('en-US'), fillSec.toFixed(1), first.readyMs.toFixed(0), rssFirst.toFixed(0),
        again.readyMs.toFixed(0), rssAgain.toFixed(0), growth,
      ]);
      previous = { size, rss };
      console.log(`  ${size} queued: ready after restart in ${again.readyMs.toFixed(0)} ms, RSS ${rssAgain.toFixed(0)} MiB`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nbacklog: ${NUMBERS} numbers, settled ${settleMs} ms before each RSS reading; ${machineLine()}`);
  console.log(formatTable(
    ['queued', 'prefill s', 'boot→ready ms', 'RSS MiB', 'kill -9→ready ms', 'RSS after restart MiB', 'growth B/msg'],
    rows,
  ));
  console.log('growth: RSS change from the previous size over the messages added (the larger of the two readings).');
}

await main();
