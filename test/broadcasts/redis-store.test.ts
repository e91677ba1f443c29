/**
 * The Redis BroadcastStore against a real redis-server (AOF, fsync always) and a real 3-master
 * Cluster (every script in one slot: no CROSSSLOT): the store contract (store-conformance.ts),
 * each test on its own key prefix, and what only Redis has: two processes creating with one
 * Idempotency-Key get one broadcast, and a create's keys expire if its process dies.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedisBroadcastStore } from '../../src/broadcasts/redis-store.js';
import { systemClock } from '../../src/clock.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { serverAndCluster } from '../support/redis-server.js';
import { emptyCounts } from '../../src/broadcasts/store.js';
import { describeBroadcastStoreConformance, record, recipients } from './store-conformance.js';

const redis = serverAndCluster();

/** A store on its own prefix; closing it closes the connection (in the gateway, the message store's). */
async function open(url: string, prefix = `test-${randomBytes(6).toString('hex')}`): Promise<RedisBroadcastStore & { messages: RedisStore }> {
  const messages = await RedisStore.open({ target: parseRedisUrl(url), clock: systemClock, prefix });
  const store = new RedisBroadcastStore(messages, systemClock) as RedisBroadcastStore & { messages: RedisStore };
  store.messages = messages;
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await messages.close();
  };
  return store;
}

describeBroadcastStoreConformance('redis', () => ({ open: () => open(redis.server.url) }));
describeBroadcastStoreConformance('redis cluster (3 masters)', () => ({ open: () => open(redis.cluster.url) }));

describe('RedisBroadcastStore', () => {
  it('two processes creating with one Idempotency-Key store one broadcast', async () => {
    const prefix = `test-${randomBytes(6).toString('hex')}`;
    const [a, b] = await Promise.all([open(redis.server.url, prefix), open(redis.server.url, prefix)]);
    try {
      const [x, y] = await Promise.all([
        a.create(record('bc_00000000000000000000000001', 20_000, 'same'), recipients(20_000)),
        b.create(record('bc_00000000000000000000000002', 20_000, 'same'), recipients(20_000)),
      ]);
      expect(x.id).toBe(y.id);
      expect((await a.active()).map((r) => r.id)).toEqual([x.id]);
      expect((await b.list({ limit: 10 })).records.map((r) => r.id)).toEqual([x.id]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('leaves a create of a dead process to expire: its key is held meanwhile, never listed', async () => {
    const store = await open(redis.server.url);
    try {
      const client = store.messages.client;
      const key = store.messages.keys.broadcastKey('acme', 'dead');
      await store.create(record('bc_00000000000000000000000003', 1, 'dead'), recipients(1));
      // What a kill between the create script and its end leaves, made here: state creating with a TTL.
      await client.hset(store.messages.keys.broadcast('acme', 'bc_00000000000000000000000003'), 'state', 'creating');
      await client.pexpire(store.messages.keys.broadcast('acme', 'bc_00000000000000000000000003'), 300);
      await client.pexpire(key, 300);
      expect((await store.byKey('acme', 'dead'))?.state).toBe('creating');
      expect(await store.active()).toEqual([]);
      await new Promise((r) => setTimeout(r, 400));
      expect(await store.byKey('acme', 'dead')).toBeNull();
      expect(await store.active()).toEqual([]);
      // The index entry whose record is gone was removed when read.
      expect(await client.scard(store.messages.keys.broadcastActive())).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('keeps a broadcast\'s recipient rows while some are pending or queued, not once it ended and drained', async () => {
    const store = await open(redis.server.url);
    try {
      const client = store.messages.client;
      const done = 'bc_00000000000000000000000004';
      const draining = 'bc_00000000000000000000000005';
      const rows = (bid: string) => client.exists(store.messages.keys.broadcastRecipients('acme', bid));
      for (const bid of [done, draining]) {
        const r = await store.create({ ...record(bid, 2), deadlineAtMs: Date.now() + 3_600_000 }, recipients(2));
        await store.commitChunk({ tenantId: 'acme', broadcastId: bid, cursor: 2, queued: [{ idx: 0, messageId: `${bid}-0` }, { idx: 1, messageId: `${bid}-1` }], rejected: [] }, r.counts, false);
      }
      // All admitted: the rows still name the queued messages' recipients.
      await store.active();
      expect(await rows(done)).toBe(1);
      await store.endMessages([{ tenantId: 'acme', messageId: `${done}-0`, status: 'sent' }, { tenantId: 'acme', messageId: `${done}-1`, status: 'sent' }], () => undefined);
      await store.end('acme', done, 'completed', Date.now(), emptyCounts(), null);
      expect(await rows(done)).toBe(0);
      await store.end('acme', draining, 'cancelled', Date.now(), emptyCounts(), 'cancelled');
      expect((await store.draining(Date.now())).map((r) => r.id)).toEqual([draining]);
      expect(await rows(draining)).toBe(1);
      expect((await store.queuedOf('acme', draining, -1, 10)).map((q) => q.to)).toEqual(['14155550000', '14155550001']);
      // Drained: its rows go when it leaves the active list.
      await store.endMessages([{ tenantId: 'acme', messageId: `${draining}-0`, status: 'sent' }, { tenantId: 'acme', messageId: `${draining}-1`, status: 'rejected' }], () => undefined);
      expect(await store.draining(Date.now())).toEqual([]);
      expect(await rows(draining)).toBe(0);
    } finally {
      await store.close();
    }
  });
});
