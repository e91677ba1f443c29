/**
 * Differential test of service order: the same random history (many equal due times, retries,
 * messages in `sending`, final ones) applied to the Redis store and to the embedded store must
 * page identically, page by page, for any page size and due-by, with the same next due time, and
 * give the same counts and unfinished list.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { PageCursor, Priority, Store, Transition } from '../../src/store/types.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { message } from './conformance.js';

const T0 = 1_700_000_000_000;
let server: RedisServer;
let dir: string;

beforeAll(async () => {
  server = await startRedis();
  dir = mkdtempSync(join(tmpdir(), 'sendgate-paging-'));
});

afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** mulberry32: a small seeded generator, so a failure replays. */
function random(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n);
  };
}

async function pagesOf(store: Store, phoneNumberId: string, priority: Priority, dueByMs: number, pick: (n: number) => number) {
  const pages: Array<{ ids: string[]; nextDueMs: number | null }> = [];
  let after: PageCursor | null = null;
  for (;;) {
    const page = await store.queuePage({ phoneNumberId, priority, after, dueByMs, limit: 1 + pick(13) });
    pages.push({ ids: page.records.map((r) => r.id), nextDueMs: page.nextDueMs });
    if (page.last === null) return pages;
    after = page.last;
  }
}

it.each([1, 2, 3])('pages a random history exactly like the embedded store (seed %i)', async (seed) => {
  const clock = new ManualClock(T0);
  const redis = await RedisStore.open({ target: parseRedisUrl(server.url), clock, prefix: `test-${randomBytes(6).toString('hex')}` });
  const embedded = new EmbeddedStore({ path: join(dir, `seed-${seed}`), clock });
  const stores = [redis, embedded];
  try {
    const r = random(seed);
    const numbers = ['5001', '5002'];
    const messages = Array.from({ length: 400 }, () => message({
      phoneNumberId: numbers[r(2)]!, priority: r(2) as Priority, createdAtMs: T0 + r(20),
    }));
    for (const m of messages) await Promise.all(stores.map((s) => s.enqueue(m)));
    for (const m of messages) {
      const roll = r(100);
      let change: Transition | null = null;
      if (roll < 30) change = { state: 'sending', attempts: 1, atMs: T0 + 50 };
      else if (roll < 50) change = { state: 'queued', notBeforeMs: T0 + r(40), lastError: null, atMs: T0 + 50 };
      else if (roll < 60) change = { state: 'sent', wamid: `wamid.${m.id}`, atMs: T0 + 50 };
      else if (roll < 65) change = { state: 'expired', atMs: T0 + 50 };
      if (change !== null) {
        const [a, b] = await Promise.all(stores.map((s) => s.transition(m.id, change)));
        expect(a).toBe(b);
      }
    }

    let pagedAtEnd = 0;
    for (const phoneNumberId of numbers) {
      for (const priority of [0, 1] as const) {
        for (const dueByMs of [T0 + 5, T0 + 19, T0 + 30, T0 + 1_000]) {
          const pageSeed = seed * 1_000 + dueByMs - T0;
          const [fromRedis, fromEmbedded] = await Promise.all(stores.map((s) => pagesOf(s, phoneNumberId, priority, dueByMs, random(pageSeed))));
          expect(fromRedis).toEqual(fromEmbedded);
          if (dueByMs === T0 + 1_000) pagedAtEnd += fromRedis!.flatMap((p) => p.ids).length;
        }
      }
    }
    expect(pagedAtEnd).toBeGreaterThan(200); // about 3 in 4 of the 400 stay unfinished
    const sortCounts = (c: Array<{ phoneNumberId: string; count: number }>) => [...c].sort((x, y) => x.phoneNumberId.localeCompare(y.phoneNumberId));
    expect(sortCounts(await redis.queueCounts())).toEqual(sortCounts(await embedded.queueCounts()));
    expect((await redis.unfinished()).map((m) => m.id)).toEqual((await embedded.unfinished()).map((m) => m.id));
  } finally {
    await Promise.all(stores.map((s) => s.close()));
  }
});
