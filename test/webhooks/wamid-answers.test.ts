/**
 * The notes of sends answered with Meta's wamid (`Prefer: wait`), in both backends: kept across a
 * reopen, scoped to the tenant, forgotten after their TTL; written only for tenants whose webhook
 * takes Meta's format. Redis: a real redis-server this file starts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { RedisWrites } from '../../src/store/redis/writes.js';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { RedisWamidAnswers, SqliteWamidAnswers, WamidAnswerNotes, type WamidAnswerStore } from '../../src/webhooks/tenant/wamid-answers.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const TTL_MS = 1000;
let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
}, 60_000);
afterAll(() => server?.stop());

interface Harness {
  store: WamidAnswerStore;
  reopen(): Promise<WamidAnswerStore>;
  close(): Promise<void>;
}

const backends: Array<[string, () => Promise<Harness>]> = [
  ['embedded SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-wamid-answers-'));
    let db = openWebhooksDb(dir);
    return {
      store: new SqliteWamidAnswers(db, TTL_MS),
      async reopen() {
        db.close();
        db = openWebhooksDb(dir);
        return new SqliteWamidAnswers(db, TTL_MS);
      },
      async close() {
        db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }],
  ['redis', async () => {
    const keys = new RedisKeys(`test-${randomBytes(6).toString('hex')}`);
    const client = await connectRedis(parseRedisUrl(server.url));
    return {
      store: new RedisWamidAnswers(new RedisWrites(client, null), keys, TTL_MS),
      async reopen() {
        return new RedisWamidAnswers(new RedisWrites(client, null), keys, TTL_MS);
      },
      async close() {
        await client.quit().catch(() => undefined);
      },
    };
  }],
];

describe.each(backends)('wamid answers: %s', (_name, open) => {
  it('keeps a note across a reopen, per tenant, until its TTL', async () => {
    const h = await open();
    try {
      const now = Date.now();
      await h.store.note('acme', 'sg_1', now);
      const again = await h.reopen();
      expect(await again.has('acme', 'sg_1', now)).toBe(true);
      expect(await again.has('other', 'sg_1', now)).toBe(false);
      expect(await again.has('acme', 'sg_2', now)).toBe(false);
      // Past the TTL (Redis expires the key on its own clock: wait it out).
      await new Promise((r) => setTimeout(r, TTL_MS + 100));
      expect(await again.has('acme', 'sg_1', Date.now())).toBe(false);
    } finally {
      await h.close();
    }
  });

  it('notes only for tenants taking Meta\'s format', async () => {
    const h = await open();
    try {
      const notes = new WamidAnswerNotes(h.store, (tenantId) => (tenantId === 'acme' ? 'meta' : tenantId === 'plain' ? 'sendgate' : undefined), () => Date.now());
      for (const tenantId of ['acme', 'plain', 'none']) await notes.noteWamidAnswered(tenantId, `sg_${tenantId}`);
      expect(await Promise.all(['acme', 'plain', 'none'].map((t) => notes.answeredWamid(t, `sg_${t}`)))).toEqual([true, false, false]);
    } finally {
      await h.close();
    }
  });
});
