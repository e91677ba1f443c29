/**
 * The Redis store under faults, against real redis-server processes: it refuses a Redis that
 * would lose acknowledged writes; a kill -9 of Redis mid-stream loses no acknowledged enqueue
 * (AOF, fsync always), calls fail fast with STORAGE_UNAVAILABLE while it is down, and the same
 * store is healthy again once Redis is back, without reopening.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { GatewayError } from '../../src/errors.js';
import { openStore } from '../../src/store/index.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisDurabilityError } from '../../src/store/redis/durability.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { Store } from '../../src/store/types.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { message } from './conformance.js';

const servers: RedisServer[] = [];
const stores: Store[] = [];

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(args?: readonly string[]): Promise<RedisServer> {
  const started = await startRedis(args === undefined ? {} : { args });
  servers.push(started);
  return started;
}

const prefix = () => `test-${randomBytes(6).toString('hex')}`;

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Redis store: durability at open', () => {
  it('refuses a Redis without the append-only file, naming the settings it needs', async () => {
    const redis = await server(['--appendonly', 'no', '--save', '']);
    const opening = RedisStore.open({ target: parseRedisUrl(redis.url), clock: new ManualClock(), prefix: prefix() });
    await expect(opening).rejects.toThrow(RedisDurabilityError);
    await expect(opening).rejects.toThrow(/appendonly no.*appendonly yes.*appendfsync always/s);
  });

  it('refuses appendfsync everysec (up to a second of acknowledged writes lost), also through openStore', async () => {
    const redis = await server(['--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '']);
    await expect(openStore({ kind: 'redis', url: redis.url }, new ManualClock())).rejects.toThrow(/appendfsync everysec/);
  });

  it('opens against appendonly yes + appendfsync always, and an explicit opt-out opens anywhere', async () => {
    const durable = await server();
    const store = await openStore({ kind: 'redis', url: durable.url }, new ManualClock());
    stores.push(store);
    expect(store.kind).toBe('redis');
    expect(store.healthy()).toBe(true);
    const lossy = await server(['--appendonly', 'no', '--save', '']);
    stores.push(await RedisStore.open({ target: parseRedisUrl(lossy.url), clock: new ManualClock(), prefix: prefix(), durability: 'unchecked' }));
  });
});

describe('Redis store: durability through replicas (WAIT)', () => {
  it('acknowledges a write once the replica holds it, and refuses writes the replicas do not confirm', async () => {
    const master = await server(['--appendonly', 'no', '--save', '', '--repl-diskless-sync-delay', '0']);
    const replica = await server(['--appendonly', 'no', '--save', '', '--replicaof', '127.0.0.1', String(master.port)]);
    const target = parseRedisUrl(master.url);
    const admin = new Redis(master.url);
    const onReplica = new Redis(replica.url);
    onReplica.on('error', () => {}); // the replica is killed below
    try {
      const deadline = Date.now() + 10_000;
      while (!/slave0:.*state=online/.test(await admin.info('replication'))) {
        if (Date.now() > deadline) throw new Error('replica did not attach');
        await new Promise((r) => setTimeout(r, 50));
      }
      await expect(RedisStore.open({ target, clock: new ManualClock(), prefix: prefix(), durability: { replicas: 2, timeoutMs: 100 } }))
        .rejects.toThrow(/1 online replica.*reach 2/);
      const keyPrefix = prefix();
      const store = await RedisStore.open({ target, clock: new ManualClock(), prefix: keyPrefix, durability: { replicas: 1, timeoutMs: 1_500 } });
      stores.push(store);
      const m = message();
      expect((await store.enqueue(m)).kind).toBe('created');
      // Acknowledged means on the replica already: read it there, no waiting.
      expect(await onReplica.hget(`${keyPrefix}:{t:${m.tenantId}}:m:${m.id}`, 'state')).toBe('queued');

      await replica.kill9();
      await expect(store.enqueue(message())).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      await expect(store.putControl('number:1', { mps: 1 })).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
    } finally {
      admin.disconnect();
      onReplica.disconnect();
    }
  });
});

describe('Redis store: kill -9 of Redis', () => {
  it('keeps every acknowledged enqueue, answers STORAGE_UNAVAILABLE while down, and recovers without reopening', async () => {
    const redis = await server();
    const clock = new ManualClock();
    const store = await RedisStore.open({ target: parseRedisUrl(redis.url), clock, prefix: prefix() });
    stores.push(store);

    // 16 writers enqueue as fast as they can; Redis is killed once 500 have been acknowledged.
    const acked: Array<{ tenantId: string; id: string }> = [];
    const failures: unknown[] = [];
    let stop = false;
    const writers = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const m = message({ phoneNumberId: '3001' });
        try {
          const outcome = await store.enqueue(m);
          if (outcome.kind === 'created') acked.push(m);
        } catch (error) {
          failures.push(error);
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    });
    await until(() => acked.length >= 500, 10_000);
    await redis.kill9();
    await until(() => !store.healthy(), 5_000);
    const ackedAtKill = acked.length;

    const started = Date.now();
    const refused = await store.enqueue(message()).then(() => null, (error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe('STORAGE_UNAVAILABLE');
    await expect(store.get('acme', acked[0]!.id)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });

    await redis.restart();
    await until(() => store.healthy(), 10_000);
    await until(() => acked.length >= ackedAtKill + 100, 10_000); // writers resumed on the same store
    stop = true;
    await Promise.all(writers);

    expect(failures.every((e) => e instanceof GatewayError && e.code === 'STORAGE_UNAVAILABLE')).toBe(true);
    const found = await Promise.all(acked.map((m) => store.get(m.tenantId, m.id)));
    const missing = acked.filter((_m, i) => found[i] === null);
    expect(missing).toEqual([]);
    expect((await store.queueCounts()).find((c) => c.phoneNumberId === '3001')?.count).toBeGreaterThanOrEqual(acked.length);
  });
});

describe('Redis store: a Redis that hangs', () => {
  it('fails calls after the command timeout while Redis answers nothing, and serves again once it does', async () => {
    const redis = await server();
    const store = await RedisStore.open({ target: parseRedisUrl(redis.url), clock: new ManualClock(), prefix: prefix(), commandTimeoutMs: 300 });
    stores.push(store);
    const before = message();
    await store.enqueue(before);
    redis.pause();
    try {
      const started = Date.now();
      await expect(store.enqueue(message())).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      await expect(store.get(before.tenantId, before.id)).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      redis.resume();
    }
    await until(() => store.healthy(), 5_000);
    const after = message();
    expect((await store.enqueue(after)).kind).toBe('created');
    expect((await store.get(before.tenantId, before.id))?.id).toBe(before.id);
  });
});
