/**
 * A gateway with 200,000 queued messages, killed with SIGKILL and started again: it is ready
 * without loading the backlog (its memory stays what an empty gateway's is), and it goes on
 * delivering each number's messages in their order.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type Child } from '../../bench/macro/processes.js';
import { startCrashGateway } from '../support/crash-gateway.js';
import { systemClock } from '../../src/clock.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { DB_FILE } from '../../src/store/embedded/database.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';

const NUMBERS = Array.from({ length: 10 }, (_, i) => String(7100 + i));
const QUEUED = 200_000;
const MPS = 200;
const MIB = 1024 * 1024;

let sim: Simulator | undefined;
const children: Child[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const child of children) await child.stop();
  await sim?.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-backlog-'));
  dirs.push(dir);
  return dir;
}

/** Stores the backlog directly, as a previous gateway would have left it: one message per recipient. */
async function prefill(path: string): Promise<void> {
  const store = new EmbeddedStore({ path, clock: systemClock, maxBatch: 10_000 });
  const nowMs = Date.now();
  let batch: Promise<unknown>[] = [];
  for (let i = 0; i < QUEUED; i++) {
    const to = `1777${String(i).padStart(7, '0')}`;
    batch.push(store.enqueue({
      id: `q${i}`, tenantId: 'acme', phoneNumberId: NUMBERS[i % NUMBERS.length]!, to, toInput: `+${to}`,
      body: JSON.stringify({ messaging_product: 'whatsapp', to: `+${to}`, type: 'text', text: { body: `backlog ${i}` } }),
      priority: 1, createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000, idempotencyKey: null, bodyHash: null,
    }));
    if (batch.length === 10_000) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
  await store.close();
}

async function start(dataDir: string, simUrl: string): Promise<Child> {
  const port = await freePort();
  const child = await startCrashGateway({
    port, dataDir, simUrl, upstream: { http2: false },
    tenants: [{
      id: 'acme', apiKeys: ['key-backlog-test-1'], messagingLimit: 'unlimited', policy: { optIn: 'off', serviceWindow: 'off' },
      numbers: NUMBERS.map((id) => ({ phoneNumberId: id, accessToken: `EAAG-${id}`, mps: MPS, burst: 20 })),
    }],
  });
  children.push(child);
  return child;
}

function rssMiB(child: Child): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.process.pid}/status`, 'utf8'))?.[1]);
  return (kb * 1024) / MIB;
}

function kill9(child: Child): Promise<void> {
  children.splice(children.indexOf(child), 1);
  return new Promise((ok) => {
    child.process.once('exit', () => ok());
    child.process.kill('SIGKILL');
  });
}

const accepted = (): number => sim!.stats().totals.accepted;

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const endMs = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > endMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Peak RSS over a few samples while the gateway works. */
async function peakRssMiB(child: Child, samples: number): Promise<number> {
  let peak = 0;
  for (let i = 0; i < samples; i++) {
    peak = Math.max(peak, rssMiB(child));
    await new Promise((r) => setTimeout(r, 100));
  }
  return peak;
}

describe('restart with a backlog of 200,000 messages', () => {
  it('is ready without loading the backlog and delivers each number in order', async () => {
    sim = await startSimulator({ acceptAnyNumber: true, limits: { mps: 100_000, burst: 100_000, pairIntervalMs: 0 } });
    // The memory of a gateway with nothing queued, under the same config.
    const empty = await start(tempDir(), sim.url);
    const emptyRss = await peakRssMiB(empty, 10);
    await empty.stop();
    children.splice(children.indexOf(empty), 1);

    const dataDir = tempDir();
    await prefill(dataDir);
    const first = await start(dataDir, sim.url);
    await until('the first sends', () => accepted() >= 1000);
    await kill9(first);

    const before = accepted();
    const again = await start(dataDir, sim.url);
    const rss = await peakRssMiB(again, 10);
    await until('sends after the restart', () => accepted() >= before + 3000);
    await again.stop();
    children.splice(children.indexOf(again), 1);

    // Loading 200,000 records would take hundreds of MiB (~1.6 KiB each); a window per number takes
    // a few. The bound leaves room for the allocator and GC timing of a busy machine (71 MiB seen once).
    expect(rss - emptyRss).toBeLessThan(128);

    // Per number, what was sent is a prefix of its queue in arrival order: nothing behind a
    // message still waiting was sent, across the kill and the restart.
    const db = new Database(join(dataDir, DB_FILE), { readonly: true });
    try {
      const rows = db.prepare(`SELECT phone_number_id AS n,
          MAX(CASE WHEN state = 'sent' THEN seq END) AS lastSent,
          MIN(CASE WHEN state IN ('queued', 'sending') THEN seq END) AS firstWaiting,
          SUM(state = 'sent') AS sent, SUM(state IN ('queued', 'sending')) AS waiting
        FROM messages GROUP BY phone_number_id`).all() as Array<{ n: string; lastSent: number; firstWaiting: number; sent: number; waiting: number }>;
      expect(rows).toHaveLength(NUMBERS.length);
      for (const row of rows) {
        expect(row.sent).toBeGreaterThan(0);
        expect(row.sent + row.waiting).toBe(QUEUED / NUMBERS.length);
        expect(row.lastSent).toBeLessThan(row.firstWaiting);
      }
    } finally {
      db.close();
    }
  }, 60_000);
});
