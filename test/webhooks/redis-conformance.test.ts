/**
 * The webhook seams' conformance suites against a real redis-server this file starts (AOF, fsync
 * always) and a real 3-master Redis Cluster: every script touches one slot, so no CROSSSLOT. Each
 * harness gets its own random key prefix and its own client (closed at cleanup).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisClient } from '../../src/store/redis/commands.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { RedisSeenMarks } from '../../src/webhooks/meta/redis-seen-marks.js';
import { RedisUnmatchedStatuses } from '../../src/webhooks/meta/redis-unmatched-statuses.js';
import { RedisOutbox } from '../../src/webhooks/outbox/redis.js';
import { RedisWrites } from '../../src/store/redis/writes.js';
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../support/redis-server.js';
import { describeOutboxConformance, entry } from './outbox-conformance.js';
import { describeSeenMarksConformance } from './seen-marks-conformance.js';
import { describeUnmatchedConformance } from './unmatched-statuses-conformance.js';

let server: RedisServer;
let cluster: RedisCluster;

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
}, 60_000);

afterAll(async () => {
  await Promise.all([server?.stop(), cluster?.stop()]);
});

const prefix = () => `test-${randomBytes(6).toString('hex')}`;

async function quit(client: RedisClient): Promise<void> {
  await client.quit().catch(() => undefined);
  client.disconnect();
}

for (const [name, url] of [['redis', () => server.url], ['redis cluster (3 masters)', () => cluster.url]] as const) {
  describeOutboxConformance(name, async () => {
    const keys = new RedisKeys(prefix());
    const client = await connectRedis(parseRedisUrl(url()));
    const writes = new RedisWrites(client, null);
    let outbox = new RedisOutbox({ writes, keys });
    return {
      outbox,
      async reopen() {
        await outbox.close();
        outbox = new RedisOutbox({ writes: new RedisWrites(client, null), keys });
        return outbox;
      },
      cleanup: () => quit(client),
    };
  });

  describeSeenMarksConformance(name, async () => {
    const keys = new RedisKeys(prefix());
    const clients: RedisClient[] = [];
    return {
      async open({ ttlMs, nowMs }) {
        const client = await connectRedis(parseRedisUrl(url()));
        clients.push(client);
        const marks = new RedisSeenMarks({ client, keys, ttlMs, nowMs, flushEveryMs: 60_000 });
        return { marks, close: () => marks.close() };
      },
      cleanup: async () => {
        await Promise.all(clients.map(quit));
      },
    };
  });

  describeUnmatchedConformance(name, async () => {
    const keys = new RedisKeys(prefix());
    const clients: RedisClient[] = [];
    return {
      async open(maxParked) {
        const client = await connectRedis(parseRedisUrl(url()));
        clients.push(client);
        return RedisUnmatchedStatuses.open({ writes: new RedisWrites(client, null), keys, maxParked });
      },
      cleanup: async () => {
        await Promise.all(clients.map(quit));
      },
    };
  });
}

describe('webhook keys in Redis are bounded: a TTL or an owner that deletes them', () => {
  const open = async () => {
    const keys = new RedisKeys(prefix());
    const client = await connectRedis(parseRedisUrl(server.url));
    const all = async () => (await client.keys(`${keys.prefix}:*`)).sort();
    return { keys, client, all, done: () => quit(client) };
  };

  it('outbox: delivered entries leave nothing but the tenant\'s counter; dead ones are capped and expire', async () => {
    const { keys, client, all, done } = await open();
    try {
      const outbox = new RedisOutbox({ writes: new RedisWrites(client, null), keys, maxDeadPerTenant: 2, deadRetentionMs: 60_000 });
      const appended = [];
      for (let i = 0; i < 4; i++) appended.push((await outbox.append(entry(i)))!);
      expect(await client.pttl(keys.outboxEntry('t1', appended[0]!.seq))).toBe(-1); // pending: its settle owns it
      await outbox.settle('t1', appended[0]!.seq, { kind: 'delivered' });
      for (const e of appended.slice(1)) await outbox.settle('t1', e.seq, { kind: 'dead', attempts: 14, lastError: 'HTTP 500' });
      // The oldest dead entry went with its event id: the id may be appended again.
      expect(await client.exists(keys.outboxEntry('t1', appended[1]!.seq), keys.outboxEventId('t1', 'e1'))).toBe(0);
      for (const key of [keys.outboxDead('t1'), keys.outboxEntry('t1', appended[3]!.seq), keys.outboxEventId('t1', 'e3')]) {
        const ttl = await client.pttl(key);
        expect(ttl).toBeGreaterThan(50_000);
        expect(ttl).toBeLessThanOrEqual(60_000);
      }
      expect((await outbox.requeueDead('t1', 5)).map((e) => e.eventId)).toEqual(['e2', 'e3']);
      expect(await outbox.append(entry(1))).not.toBeNull();
      for (const e of await outbox.pending('t1', 0, 10)) await outbox.settle('t1', e.seq, { kind: 'delivered' });
      expect(await all()).toEqual([keys.outboxTenants(), keys.outboxSequence('t1')].sort());
    } finally {
      await done();
    }
  });

  it('parked statuses and dedupe marks expire', async () => {
    const { keys, client, all, done } = await open();
    try {
      const parked = await RedisUnmatchedStatuses.open({ writes: new RedisWrites(client, null), keys, maxParked: 10, ttlMs: 30_000 });
      await parked.park([{ kind: 'status', phoneNumberId: '1', wamid: 'w1', status: 'read', recipient: '2', timestampMs: 3 }], 1000, 1500);
      const marks = new RedisSeenMarks({ client, keys, ttlMs: 20_000, nowMs: () => 1_000_000 });
      marks.mark(['s:w1:read'], 995_000);
      await marks.close();
      const ttls = await Promise.all((await all()).map((key) => client.pttl(key)));
      expect(ttls).toHaveLength(5);
      for (const ttl of ttls) expect(ttl).toBeGreaterThan(0);
      expect(await client.pttl(keys.seenMark('s:w1:read'))).toBeLessThanOrEqual(15_000);
    } finally {
      await done();
    }
  });
});

describe('Redis outbox across a Redis crash', () => {
  it('every resolved append survives kill -9 of redis-server (AOF, fsync always) with its seq', async () => {
    const crashing = await startRedis();
    const keys = new RedisKeys(prefix());
    const client = await connectRedis(parseRedisUrl(crashing.url));
    try {
      const outbox = new RedisOutbox({ writes: new RedisWrites(client, null), keys });
      const appended = await Promise.all([...Array(50).keys()].map((i) => outbox.append(entry(i))));
      await crashing.kill9();
      await crashing.restart();
      await waitForReady(client);
      const pending = await outbox.pending('t1', 0, 100);
      expect(pending.map((e) => [e.seq, e.eventId])).toEqual(appended.map((e) => [e!.seq, e!.eventId]));
      expect((await outbox.append(entry(50)))!.seq).toBe(51);
    } finally {
      await quit(client);
      await crashing.stop();
    }
  });
});

async function waitForReady(client: RedisClient): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (client.status !== 'ready') {
    if (Date.now() > deadline) throw new Error('client did not reconnect');
    await new Promise((r) => setTimeout(r, 20));
  }
}
