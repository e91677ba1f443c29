/**
 * Key hygiene of the Redis store, read back from a real redis-server: after a workload every key
 * under the store's prefix either has a TTL or is one whose owner deletes it (keys.ts), final
 * records expire after the retention period, idempotency keys after 48 h, and a number's queue
 * is gone once its messages are final.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { message } from './conformance.js';

const HOUR_MS = 3_600_000;
const RETENTION_MS = 2 * HOUR_MS;
let server: RedisServer;
let admin: Redis;

beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url);
});

afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

async function keysWithTtl(prefix: string): Promise<Map<string, number>> {
  const keys = await admin.keys(`${prefix}:*`);
  const ttls = await Promise.all(keys.map((k) => admin.pttl(k)));
  return new Map(keys.map((k, i) => [k, ttls[i]!]));
}

it('gives every key a TTL or an owner, and leaves no queue behind once every message is final', async () => {
  const prefix = `test-${randomBytes(6).toString('hex')}`;
  const clock = new ManualClock();
  const store = await RedisStore.open({ target: parseRedisUrl(server.url), clock, prefix, finalRetentionMs: RETENTION_MS });
  try {
    const waiting = message({ tenantId: 'acme', phoneNumberId: '4001' });
    const keyed = message({ tenantId: 'acme', phoneNumberId: '4001', idempotencyKey: 'k', bodyHash: 'h' });
    const sent = message({ tenantId: 'globex', phoneNumberId: '4002', priority: 0 });
    const failed = message({ tenantId: 'globex', phoneNumberId: '4002' });
    for (const m of [waiting, keyed, sent, failed]) await store.enqueue(m);
    await store.enqueue(message({ tenantId: 'acme', idempotencyKey: 'k', bodyHash: 'h' })); // a duplicate
    await store.transition(keyed.id, { state: 'sending', attempts: 1, atMs: clock.nowMs() });
    await store.transition(sent.id, { state: 'sent', wamid: 'wamid.K', atMs: clock.nowMs() });
    await store.transition(sent.id, { state: 'delivered', atMs: clock.nowMs() });
    await store.transition(failed.id, { state: 'failed', lastError: { code: 1, title: 't', details: 'd', httpStatus: 400 }, atMs: clock.nowMs() });
    await store.putControl('number:4001', { mps: 10 });

    const ttls = await keysWithTtl(prefix);
    const unfinishedRecord = (k: string) => k.endsWith(`:m:${waiting.id}`) || k.endsWith(`:m:${keyed.id}`);
    // Owned keys (no TTL): the registry, control state, the tenants' counters, queues with work,
    // unfinished records, endings owed to a tenant (emptied as they are paid).
    const owned = (k: string) => /:\{g\}:(numbers|control)$/.test(k) || k.endsWith(':seq') || /:q:\d+:[01]$/.test(k) || unfinishedRecord(k) || k.endsWith(':owed');
    for (const [key, ttl] of ttls) {
      if (owned(key)) expect({ key, ttl }).toEqual({ key, ttl: -1 });
      else expect({ key, ttl: ttl > 0 }).toEqual({ key, ttl: true });
    }
    const ttlOf = (suffix: string) => [...ttls].find(([k]) => k.endsWith(suffix))?.[1] ?? Number.NaN;
    expect(ttlOf(`:m:${sent.id}`)).toBeGreaterThan(RETENTION_MS - 60_000);
    expect(ttlOf(`:m:${sent.id}`)).toBeLessThanOrEqual(RETENTION_MS);
    expect(ttlOf(`:m:${failed.id}`)).toBeLessThanOrEqual(RETENTION_MS);
    expect(ttlOf(':k:k')).toBeGreaterThan(47 * HOUR_MS);
    expect(ttlOf(':k:k')).toBeLessThanOrEqual(48 * HOUR_MS);
    expect(ttlOf('{w:wamid.K}')).toBeLessThanOrEqual(RETENTION_MS + 24 * HOUR_MS);
    expect(ttlOf(`{i:${sent.id}}`)).toBeLessThanOrEqual(RETENTION_MS + 24 * HOUR_MS);
    expect([...ttls.keys()].filter((k) => k.includes(':q:')).sort()).toEqual([`${prefix}:{t:acme}:q:4001:1`]);
    expect([...ttls.keys()].filter((k) => k.endsWith(':owed'))).toEqual([`${prefix}:{t:globex}:owed`]);
    await store.endingSettled('globex', failed.id);
    expect(await admin.exists(`${prefix}:{t:globex}:owed`)).toBe(0);

    await store.transition(waiting.id, { state: 'expired', atMs: clock.nowMs() });
    await store.transition(keyed.id, { state: 'rejected', atMs: clock.nowMs() });
    await store.putControl('number:4001', null);
    const after = await keysWithTtl(prefix);
    expect([...after.keys()].filter((k) => k.includes(':q:') || k.endsWith(':control'))).toEqual([]);
    // What is left without a TTL: counters, the registry, and the two endings still owed (until paid).
    expect([...after].filter(([k, ttl]) => ttl === -1 && !k.endsWith(':seq') && !k.endsWith(':numbers')).map(([k]) => k)).toEqual([`${prefix}:{t:acme}:owed`]);
    expect((await store.owedEndings('acme', clock.nowMs() + 1, 10)).sort()).toEqual([waiting.id, keyed.id].sort());
    expect(await store.queueCounts()).toEqual([]);
  } finally {
    await store.close();
  }
});
