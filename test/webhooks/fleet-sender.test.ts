/**
 * Two gateway processes on one Redis or Redis Cluster (two clients, two openRedisWebhooks in this
 * test process):
 * exactly one of them delivers a tenant's outbox at a time. Events appended through either reach
 * the tenant once each, in order per recipient, and the holder delivers what the other appended
 * within a second; when the holder stops (gracefully, or its connection is cut as in a crash) the
 * other takes the tenant over within the lease TTL plus a second.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/store/redis/commands.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import type { Webhooks } from '../../src/webhooks/embedded.js';
import { RedisLeases } from '../../src/store/redis/leases.js';
import { RedisOutbox } from '../../src/webhooks/outbox/redis.js';
import { openRedisWebhooks } from '../../src/webhooks/redis.js';
import { RedisWrites } from '../../src/store/redis/writes.js';
import { RedisDeliveryLeases } from '../../src/webhooks/tenant/redis-delivery-leases.js';
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../support/redis-server.js';
import { Receiver, waitFor } from './receiver.js';

const SECRET = 'tenant-webhook-secret';
const LEASE_TTL_MS = 2000;

let server: RedisServer;
let cluster: RedisCluster;
beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()]);
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Process {
  name: string;
  client: RedisClient;
  webhooks: Webhooks;
  close(): Promise<void>;
}

async function fleet(url: string, receiver: Receiver): Promise<{ keys: RedisKeys; start: (name: string) => Promise<Process> }> {
  const keys = new RedisKeys(`test-${randomBytes(6).toString('hex')}`);
  return {
    keys,
    async start(name) {
      const client = await connectRedis(parseRedisUrl(url));
      const webhooks = await openRedisWebhooks({
        client, keys, ownerId: name, leaseTtlMs: LEASE_TTL_MS,
        endpoint: (tenantId) => (tenantId === 'acme' ? { url: receiver.url, secret: SECRET } : undefined),
        sender: { retryScheduleMs: [20, 40, 60], timeoutMs: 2000 },
        onError: () => {},
      });
      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        await webhooks.close();
        await client.quit().catch(() => undefined);
        client.disconnect();
      };
      cleanups.push(close);
      return { name, client, webhooks, close };
    },
  };
}

async function listening(): Promise<Receiver> {
  const receiver = new Receiver(SECRET);
  await receiver.listen();
  cleanups.push(() => receiver.close());
  return receiver;
}

const delivers = (p: Process) => p.webhooks.sender.stats().endpoints.some((e) => e.tenantId === 'acme');
type Event = { recipient: string; n: number; via: string };
const events = (receiver: Receiver): Event[] => receiver.delivered().map((a) => JSON.parse(a.body) as Event);

function expectOncePerEventInOrder(receiver: Receiver, recipients: number, perRecipient: number): void {
  const ids = receiver.attempts.map((a) => a.eventId);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids.length).toBe(recipients * perRecipient);
  for (let r = 0; r < recipients; r++) {
    expect(events(receiver).filter((e) => e.recipient === `r${r}`).map((e) => e.n)).toEqual([...Array(perRecipient).keys()]);
  }
}

/** Enqueues one event through `via` and resolves with how long until the receiver had it. */
async function latencyMs(via: Process, receiver: Receiver, recipient: string, n: number): Promise<number> {
  const before = receiver.delivered().length;
  const startMs = Date.now();
  await via.webhooks.sender.enqueue('acme', { recipient, n, via: via.name });
  await waitFor(() => receiver.delivered().length > before, 5000);
  return Date.now() - startMs;
}

for (const [name, url] of [['redis', () => server.url], ['redis cluster (3 masters)', () => cluster.url]] as const) describe(`tenant webhooks of a fleet on one ${name}`, () => {
  it('one process delivers a tenant; events appended through both arrive once each, in order per recipient; the other\'s within a second', async () => {
    const receiver = await listening();
    const { keys, start } = await fleet(url(), receiver);
    const [a, b] = [await start('A'), await start('B')];
    expect(await latencyMs(a, receiver, 'warm-up', 0)).toBeLessThan(1000);
    expect([delivers(a), delivers(b)]).toEqual([true, false]);
    for (let i = 0; i < 5; i++) expect(await latencyMs(b, receiver, 'from-b', i)).toBeLessThan(1000);
    receiver.attempts.length = 0;

    // Each recipient's events go through A and B in turn, one after the other (so their commit
    // order is n), recipients in parallel.
    const recipients = 6;
    const perRecipient = 30;
    await Promise.all([...Array(recipients).keys()].map(async (r) => {
      for (let n = 0; n < perRecipient; n++) {
        const via = (n + r) % 2 === 0 ? a : b;
        await via.webhooks.sender.enqueue('acme', { recipient: `r${r}`, n, via: via.name });
      }
    }));
    await waitFor(() => receiver.delivered().length >= recipients * perRecipient);
    await new Promise((r) => setTimeout(r, 300)); // room for a duplicate to show up
    expectOncePerEventInOrder(receiver, recipients, perRecipient);
    expect(events(receiver).filter((e) => e.via === 'B').length).toBe((recipients * perRecipient) / 2);
    expect(delivers(b)).toBe(false);
    expect(b.webhooks.sender.stats().attempts).toBe(0);
    expect(await a.client.zcard(keys.outboxPending('acme'))).toBe(0);
  });

  it('when the holder stops, the other takes the tenant over within the lease TTL plus a second', async () => {
    const receiver = await listening();
    const { keys, start } = await fleet(url(), receiver);
    const [a, b] = [await start('A'), await start('B')];
    // An attempt still in flight when its process stops is made again by the next holder
    // (at-least-once): each stop below comes after the holder has settled what it delivered.
    const settled = (via: Process) => waitFor(async () => (await via.client.zcard(keys.outboxPending('acme'))) === 0);
    await latencyMs(a, receiver, 'r0', 0);
    await latencyMs(b, receiver, 'r0', 1);
    expect([delivers(a), delivers(b)]).toEqual([true, false]);

    // Graceful: A releases at close, B takes over at its next try.
    await settled(a);
    await a.close();
    expect(await latencyMs(b, receiver, 'r0', 2)).toBeLessThan(LEASE_TTL_MS + 1000);
    expect(delivers(b)).toBe(true);

    // A crash: C starts, B's connection is cut (it can neither renew nor release); C, which
    // appended meanwhile, delivers once B's lease has lapsed.
    const c = await start('C');
    await settled(c);
    b.client.disconnect();
    expect(await latencyMs(c, receiver, 'r0', 3)).toBeLessThan(LEASE_TTL_MS + 1000);
    await waitFor(() => !delivers(b), LEASE_TTL_MS);
    expect(delivers(c)).toBe(true);
    expect(events(receiver).filter((e) => e.recipient === 'r0').map((e) => e.n)).toEqual([0, 1, 2, 3]);
    const ids = receiver.attempts.map((x) => x.eventId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('tenant webhooks with the replicas durability', () => {
  it('an append the replicas do not confirm is refused: the enqueue rejects, the caller (Meta) retries', async () => {
    const receiver = await listening();
    const client = await connectRedis(parseRedisUrl(server.url));
    const webhooks = await openRedisWebhooks({
      client, keys: new RedisKeys(`test-${randomBytes(6).toString('hex')}`), durability: { replicas: 1, timeoutMs: 50 },
      endpoint: () => ({ url: receiver.url, secret: SECRET }),
    });
    cleanups.push(async () => {
      await webhooks.close();
      client.disconnect();
    });
    await expect(webhooks.sender.enqueue('acme', { recipient: 'r0' })).rejects.toThrow(/WAIT: 0 of 1 replicas/);
  });
});

describe('delivery leases', () => {
  it('a holder whose renewals stalled (event loop blocked past 2/3 of the TTL) gives the tenant up before it may send again', async () => {
    const client = await connectRedis(parseRedisUrl(server.url));
    const keys = new RedisKeys(`test-${randomBytes(6).toString('hex')}`);
    const writes = new RedisWrites(client, null);
    const outbox = new RedisOutbox({ writes, keys });
    const told: string[] = [];
    const gate = (ownerId: string) => new RedisDeliveryLeases({ leases: new RedisLeases(writes.run), keys, outbox, ownerId, ttlMs: 600 });
    const [a, b] = [gate('A'), gate('B')];
    cleanups.push(async () => {
      await Promise.all([a.close(), b.close()]);
      client.disconnect();
    });
    const listener = (name: string) => ({
      gained: (t: string, pending: number) => told.push(`${name} gained ${t} (${pending})`),
      lost: (t: string) => told.push(`${name} lost ${t}`),
      appended: () => {},
    });
    await outbox.append({ eventId: 'e1', tenantId: 'acme', orderKey: 'r', body: '{}', createdAtMs: 1 });
    await a.start(listener('A'));
    await waitFor(() => a.holds('acme'));
    await b.start(listener('B'));
    b.want('acme');
    await new Promise((r) => setTimeout(r, 300));
    expect(b.holds('acme')).toBe(false);

    const blockedUntil = Date.now() + 450; // past 2/3 of the 600 ms TTL, with no renewal
    while (Date.now() < blockedUntil);
    expect(a.holds('acme')).toBe(false);
    expect(told).toEqual(['A gained acme (1)', 'A lost acme']);
    // Then the tenant is held again by one of them: A (its lease had not lapsed in Redis, so the
    // same token comes back) or B (if it had).
    await waitFor(() => told.length === 3, 2000);
    expect(told[2]).toMatch(/^[AB] gained acme \(1\)$/);
    expect([a.holds('acme'), b.holds('acme')].filter(Boolean)).toHaveLength(1);
  });
});
