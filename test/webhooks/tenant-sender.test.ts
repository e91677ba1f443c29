import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openWebhooksDb, type WebhooksDb } from '../../src/webhooks/db.js';
import { SqliteOutbox } from '../../src/webhooks/outbox/sqlite.js';
import { TenantWebhookSender, type TenantWebhookSenderOptions } from '../../src/webhooks/tenant/sender.js';
import { Receiver, waitFor, type Attempt } from './receiver.js';

const SECRET = 'tenant-webhook-secret';
/** Compressed retry schedule: the whole 7-day ladder in well under a second per step. */
const FAST: Partial<TenantWebhookSenderOptions> = {
  retryScheduleMs: [20, 40, 60, 80, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100],
  breaker: { failureThreshold: 3, coolDownMs: 50, maxCoolDownMs: 150 },
  timeoutMs: 2000,
};

interface Harness {
  dir: string;
  db: WebhooksDb;
  outbox: SqliteOutbox;
  sender: TenantWebhookSender;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-wh-out-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function openSender(dir: string, url: () => string | undefined, options: Partial<TenantWebhookSenderOptions> = {}): Promise<Harness> {
  const db = openWebhooksDb(dir);
  const outbox = new SqliteOutbox(db);
  const sender = new TenantWebhookSender({
    outbox,
    endpoint: (tenantId) => {
      const u = url();
      return tenantId === 'acme' && u ? { url: u, secret: SECRET } : undefined;
    },
    ...FAST,
    ...options,
  });
  await sender.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await sender.close();
    await outbox.close();
    db.close();
  };
  cleanups.push(close);
  return { dir, db, outbox, sender, close } as Harness & { close: () => Promise<void> };
}

function receiverFor(): Receiver {
  const r = new Receiver(SECRET);
  cleanups.push(() => r.close());
  return r;
}

/** Per recipient, the seq numbers of 2xx deliveries in delivery order (first delivery of each event). */
function deliveredByRecipient(attempts: Attempt[]): Map<string, number[]> {
  const seen = new Set<string>();
  const out = new Map<string, number[]>();
  for (const a of attempts) {
    if (a.answered >= 300 || seen.has(a.eventId)) continue;
    seen.add(a.eventId);
    const e = JSON.parse(a.body) as { recipient: string; n: number };
    out.set(e.recipient, [...(out.get(e.recipient) ?? []), e.n]);
  }
  return out;
}

/** No attempt for event n of a recipient happened before event n-1 of that recipient was answered 2xx. */
function expectNeverAhead(attempts: Attempt[]): void {
  const done = new Map<string, number>();
  for (const a of attempts) {
    const e = JSON.parse(a.body) as { recipient: string; n: number };
    const last = done.get(e.recipient) ?? -1;
    expect(e.n, `${e.recipient} event ${e.n} attempted before ${last + 1} was delivered`).toBeLessThanOrEqual(last + 1);
    if (a.answered < 300) done.set(e.recipient, Math.max(last, e.n));
  }
}

const RECIPIENTS = ['15550000001', '15550000002', '15550000003'];

async function enqueueAll(sender: TenantWebhookSender, perRecipient: number, from = 0): Promise<string[]> {
  const ids: string[] = [];
  for (let n = from; n < from + perRecipient; n++) {
    for (const recipient of RECIPIENTS) {
      const id = await sender.enqueue('acme', { type: 'message.status', recipient, n, note: 'olá ✓' });
      expect(id).toMatch(/^evt_/);
      ids.push(id!);
    }
  }
  return ids;
}

describe('TenantWebhookSender', () => {
  it('delivers everything, in order per recipient, after the receiver failed with 500 then was down', async () => {
    const receiver = receiverFor();
    receiver.status = 500;
    await receiver.listen();
    const h = await openSender(tempDir(), () => receiver.url);
    const ids = await enqueueAll(h.sender, 4);
    await waitFor(() => receiver.attempts.length >= 6);
    // Now the port is closed: connection refused.
    await receiver.close();
    const laterIds = await enqueueAll(h.sender, 3, 4);
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.delivered()).toHaveLength(0);
    expect(h.sender.stats().breakerOpens).toBeGreaterThan(0);
    receiver.status = 200;
    await receiver.listen();
    await waitFor(() => new Set(receiver.delivered().map((a) => a.eventId)).size === 21);
    const byRecipient = deliveredByRecipient(receiver.attempts);
    for (const r of RECIPIENTS) expect(byRecipient.get(r)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expectNeverAhead(receiver.attempts);
    expect(receiver.attempts.every((a) => a.signatureValid)).toBe(true);
    expect(new Set(receiver.delivered().map((a) => a.eventId))).toEqual(new Set(ids.concat(laterIds)));
    await waitFor(() => h.sender.stats().pending === 0);
    const stats = h.sender.stats();
    expect(stats).toMatchObject({ enqueued: 21, delivered: 21, dead: 0, pending: 0, inFlight: 0, openBreakers: 0 });
    expect(stats.failedAttempts).toBeGreaterThan(0);
    expect(stats.attempts).toBe(stats.delivered + stats.failedAttempts);
  });

  it('delivers events left pending by a previous process after restart', async () => {
    const dir = tempDir();
    const receiver = receiverFor();
    await receiver.listen();
    const port = receiver.port;
    await receiver.close();
    const first = (await openSender(dir, () => `http://127.0.0.1:${port}/hook`)) as Harness & { close: () => Promise<void> };
    const ids = await enqueueAll(first.sender, 5);
    await new Promise((r) => setTimeout(r, 100));
    expect(first.sender.stats().delivered).toBe(0);
    await first.close();

    await receiver.listen();
    expect(receiver.port).toBe(port);
    const second = await openSender(dir, () => receiver.url);
    expect(second.sender.stats().pending).toBe(15);
    await waitFor(() => second.sender.stats().delivered === 15);
    expect(new Set(receiver.delivered().map((a) => a.eventId))).toEqual(new Set(ids));
    const byRecipient = deliveredByRecipient(receiver.attempts);
    for (const r of RECIPIENTS) expect(byRecipient.get(r)).toEqual([0, 1, 2, 3, 4]);
    expect(receiver.attempts.every((a) => a.signatureValid)).toBe(true);
    // Settles are group-committed within settleFlushMs.
    await waitFor(async () => (await second.outbox.summary()).pending === 0, 2000);
  });

  it('keeps memory to a window, reading the backlog in pages, and caps concurrency per endpoint', async () => {
    const receiver = receiverFor();
    receiver.delayMs = 15;
    await receiver.listen();
    const h = await openSender(tempDir(), () => receiver.url, { windowPerEndpoint: 8, pageSize: 4, concurrencyPerEndpoint: 2 });
    const enqueued = enqueueAll(h.sender, 20);
    let maxLoaded = 0;
    const sample = setInterval(() => (maxLoaded = Math.max(maxLoaded, h.sender.stats().loaded)), 2);
    await enqueued;
    await waitFor(() => h.sender.stats().delivered === 60);
    clearInterval(sample);
    expect(maxLoaded).toBeLessThanOrEqual(8);
    expect(receiver.maxInFlight).toBeLessThanOrEqual(2);
    expect(receiver.maxInFlight).toBe(2);
    const byRecipient = deliveredByRecipient(receiver.attempts);
    for (const r of RECIPIENTS) expect(byRecipient.get(r)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('marks an event dead when its retries run out, then moves on to the next for that recipient', async () => {
    const receiver = receiverFor();
    receiver.status = 503;
    await receiver.listen();
    const h = await openSender(tempDir(), () => receiver.url, { retryScheduleMs: [10, 10], breaker: { failureThreshold: 100 } });
    await h.sender.enqueue('acme', { recipient: 'r1', n: 0 });
    await waitFor(() => h.sender.stats().dead === 1);
    expect(receiver.attempts).toHaveLength(3);
    receiver.status = 200;
    await h.sender.enqueue('acme', { recipient: 'r1', n: 1 });
    await waitFor(() => h.sender.stats().delivered === 1);
    expect(h.sender.stats()).toMatchObject({ dead: 1, delivered: 1, pending: 0, failedAttempts: 3 });
    const rows = () => h.db.prepare('SELECT attempts, state, last_error FROM tenant_outbox').all();
    await waitFor(() => rows().length === 1, 2000);
    expect(rows()).toEqual([{ attempts: 3, state: 1, last_error: 'HTTP 503' }]);
    // The tenant fixed its endpoint: the dead event is delivered on replay.
    expect(await h.sender.replayDead('acme')).toBe(1);
    await waitFor(() => h.sender.stats().delivered === 2);
    expect(receiver.delivered().map((a) => JSON.parse(a.body).n)).toEqual([1, 0]);
    await waitFor(() => rows().length === 0, 2000);
  });

  it('after an outage, a probe at the end of the cool-down brings every event back without waiting out its backoff', async () => {
    const receiver = receiverFor();
    receiver.status = 500;
    await receiver.listen();
    const h = await openSender(tempDir(), () => receiver.url, {
      retryScheduleMs: [60_000, 60_000],
      breaker: { failureThreshold: 2, coolDownMs: 100, maxCoolDownMs: 100 },
    });
    await enqueueAll(h.sender, 2);
    await waitFor(() => h.sender.stats().openBreakers === 1);
    // Several failed probes, one per cool-down: they cost the probed events none of their 2 retries.
    const failedBefore = h.sender.stats().failedAttempts;
    await waitFor(() => h.sender.stats().failedAttempts >= failedBefore + 4, 5000);
    expect(h.sender.stats().dead).toBe(0);
    receiver.status = 200;
    const startMs = Date.now();
    await waitFor(() => h.sender.stats().delivered === 6, 5000);
    expect(Date.now() - startMs).toBeLessThan(5000);
    const byRecipient = deliveredByRecipient(receiver.attempts);
    for (const r of RECIPIENTS) expect(byRecipient.get(r)).toEqual([0, 1]);
    expectNeverAhead(receiver.attempts);
    expect(h.sender.stats()).toMatchObject({ breakerOpens: 1, openBreakers: 0, dead: 0 });
  });

  it('closes promptly with attempts in flight, which stay pending and go again after restart', async () => {
    const dir = tempDir();
    const receiver = receiverFor();
    let answer!: () => void;
    receiver.gate = new Promise<void>((resolve) => { answer = resolve; });
    cleanups.push(async () => answer()); // runs before the receiver closes
    await receiver.listen();
    // An attempt timeout far beyond the test's: only aborting the attempts can end them in time.
    const first = (await openSender(dir, () => receiver.url, { timeoutMs: 600_000 })) as Harness & { close: () => Promise<void> };
    const ids = await enqueueAll(first.sender, 1);
    await waitFor(() => receiver.inFlight === 3);
    // The receiver answers nothing until the gate opens, and it opens only after this test: a close
    // that waited for the answers (or for the attempts to time out) would not resolve within the
    // test. It resolves with all three still held.
    await first.close();
    expect(receiver.inFlight).toBe(3);
    expect(receiver.attempts).toEqual([]);
    expect(first.sender.stats()).toMatchObject({ failedAttempts: 0, delivered: 0 });
    receiver.gate = undefined;
    const second = await openSender(dir, () => receiver.url);
    await waitFor(() => second.sender.stats().delivered === 3);
    // The three aborted attempts went again: the receiver answered each event once, all after the restart.
    expect(receiver.delivered().map((a) => a.eventId).sort()).toEqual([...ids].sort());
  });

  it('enqueues an event id once; the receiver sees it once', async () => {
    const receiver = receiverFor();
    await receiver.listen();
    const h = await openSender(tempDir(), () => receiver.url);
    const ids = await Promise.all([0, 1, 2].map(() => h.sender.enqueue('acme', { recipient: 'r', n: 0 }, { eventId: 'evt_fixed' })));
    expect(ids).toEqual(['evt_fixed', 'evt_fixed', 'evt_fixed']);
    await waitFor(() => h.sender.stats().delivered === 1);
    expect(h.sender.stats()).toMatchObject({ enqueued: 1, duplicates: 2 });
    await new Promise((r) => setTimeout(r, 50));
    expect(receiver.attempts.map((a) => a.eventId)).toEqual(['evt_fixed']);
  });

  it('stores nothing for a tenant without a webhook', async () => {
    const h = await openSender(tempDir(), () => 'http://127.0.0.1:9/hook');
    expect(await h.sender.enqueue('other', { recipient: 'x' })).toBeNull();
    expect(h.sender.stats()).toMatchObject({ dropped: 1, enqueued: 0, pending: 0 });
    expect((await h.outbox.summary()).pending).toBe(0);
  });
});
