/**
 * The Redis store's list of failed and expired messages (keys.ts `end:`) stays bounded: entries
 * older than the final-record retention leave it when a newer one is added, as their records
 * leave by TTL. Real redis-server.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { message } from './conformance.js';

const T0 = 1_700_000_000_000;
let server: RedisServer;
let store: RedisStore;
const clock = new ManualClock(T0);

beforeAll(async () => {
  server = await startRedis();
  store = await RedisStore.open({ target: parseRedisUrl(server.url), clock, prefix: `trim-${randomBytes(4).toString('hex')}`, finalRetentionMs: 60_000 });
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

it('drops entries older than the retention when a newer one is listed', async () => {
  const fail = async (): Promise<string> => {
    const m = message({ createdAtMs: clock.nowMs(), deadlineAtMs: clock.nowMs() + 3_600_000 });
    await store.enqueue(m);
    await store.transition(m.id, { state: 'expired', atMs: clock.nowMs() });
    return m.id;
  };
  const key = store.keys.ended('acme', '1001', 'expired');
  const old = await fail();
  clock.advance(30_000);
  const mid = await fail();
  expect(await store.client.zcard(key)).toBe(2);
  clock.advance(45_000); // `old` is now 75 s old, past the 60 s retention; `mid` 45 s
  const fresh = await fail();
  expect(await store.client.zcard(key)).toBe(2);
  const members = await store.client.zrangebylex(key, '-', '+');
  expect(members.map((m) => m.slice(m.lastIndexOf(':') + 1))).toEqual([fresh, mid]);
  expect(members.some((m) => m.endsWith(old))).toBe(false);
  expect(await store.client.pttl(key)).toBeGreaterThan(0);
});
