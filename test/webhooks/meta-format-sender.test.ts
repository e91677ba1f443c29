/**
 * The sender signs each outbox entry as its own format says, in both backends: a Meta-format
 * entry carries `X-Hub-Signature-256` over its ASCII-escaped body (verified here by whatsapp-api-js's
 * own check, the tenant secret as app secret), a sendgate entry `X-Sendgate-Signature`. The format
 * is kept with the entry: after a restart, and after the tenant switched formats meanwhile, an entry
 * queued as Meta's is still delivered as Meta's. Redis: a real redis-server this file starts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WhatsAppAPI } from 'whatsapp-api-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { RedisWrites } from '../../src/store/redis/writes.js';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { RedisOutbox } from '../../src/webhooks/outbox/redis.js';
import { SqliteOutbox } from '../../src/webhooks/outbox/sqlite.js';
import type { Outbox } from '../../src/webhooks/outbox/types.js';
import { verifyTenantSignature } from '../../src/webhooks/tenant/signature.js';
import { TenantWebhookSender } from '../../src/webhooks/tenant/sender.js';
import type { TenantEndpoint } from '../../src/webhooks/tenant/lane.js';
import { MetaTenantReceiver } from '../support/meta-tenant-receiver.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { eventually } from '../support/stack.js';

const SECRET = 'tenant-secret-as-app-secret';
let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
}, 60_000);
afterAll(() => server?.stop());

interface Storage {
  open(): Promise<Outbox>;
  cleanup(): Promise<void>;
}

const storages: Array<[string, () => Promise<Storage>]> = [
  ['embedded SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-meta-sender-'));
    const dbs: Array<ReturnType<typeof openWebhooksDb>> = [];
    return {
      async open() {
        const db = openWebhooksDb(dir);
        dbs.push(db);
        return new SqliteOutbox(db);
      },
      async cleanup() {
        for (const db of dbs) if (db.open) db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }],
  ['redis', async () => {
    const keys = new RedisKeys(`test-${randomBytes(6).toString('hex')}`);
    const client = await connectRedis(parseRedisUrl(server.url));
    return {
      async open() {
        return new RedisOutbox({ writes: new RedisWrites(client, null), keys });
      },
      async cleanup() {
        await client.quit().catch(() => undefined);
      },
    };
  }],
];

const META_EVENT = {
  object: 'whatsapp_business_account',
  entry: [{ id: 'WABA1', changes: [{ field: 'messages', value: {
    messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001001', phone_number_id: '1001' },
    contacts: [{ profile: { name: 'Zoë' }, wa_id: '16505551234' }],
    messages: [{ from: '16505551234', id: 'wamid.in', timestamp: '1749416383', type: 'text', text: { body: 'Olá 👋🏽' } }],
  } }] }],
};

describe.each(storages)('tenant webhook sender, Meta format: %s', (_name, makeStorage) => {
  it('signs each entry as its format says, across a restart and a format switch', async () => {
    const storage = await makeStorage();
    const api = new WhatsAppAPI({ token: 'unused', appSecret: SECRET, v: 'v23.0' });
    const receiver = new MetaTenantReceiver(async (raw, headers) => {
      const hub = headers['x-hub-signature-256'];
      const own = headers['x-sendgate-signature'];
      const eventId = headers['x-sendgate-event-id'];
      return [{
        raw,
        hubVerified: typeof hub === 'string' && (await api.verifyRequestSignature(raw, hub)),
        ownVerified: typeof own === 'string' && typeof eventId === 'string' && verifyTenantSignature(SECRET, own, raw, eventId, Math.floor(Date.now() / 1000)),
      }];
    });
    let endpoint: TenantEndpoint = { url: 'http://127.0.0.1:1/unreachable', secret: SECRET, format: 'meta' };
    const senders: TenantWebhookSender[] = [];
    const start = async () => {
      const outbox = await storage.open();
      const sender = new TenantWebhookSender({ outbox, endpoint: () => endpoint, retryScheduleMs: [50, 50, 50, 50, 50, 50, 50, 50], timeoutMs: 2000 });
      senders.push(sender);
      await sender.start();
      return { outbox, sender };
    };
    try {
      // Queued as Meta's while the endpoint is unreachable; the process stops.
      const first = await start();
      expect(first.sender.formatOf('acme')).toBe('meta');
      await first.sender.enqueue('acme', META_EVENT, { orderKey: '16505551234', format: 'meta', eventId: 'evt_meta' });
      await first.sender.close();
      await first.outbox.close();

      // The tenant switched to sendgate's format meanwhile and its endpoint is back.
      await receiver.start();
      endpoint = { url: receiver.url, secret: SECRET, format: 'sendgate' };
      const second = await start();
      expect(second.sender.formatOf('acme')).toBe('sendgate');
      await second.sender.enqueue('acme', { type: 'message.inbound', from: '16505551234', text: 'Olá' }, { orderKey: '16505551234', eventId: 'evt_own' });
      await eventually(() => (receiver.items().length >= 2 ? true : undefined));
      const [meta, own] = receiver.items();
      expect(meta).toMatchObject({ hubVerified: true, ownVerified: false });
      expect(/^[\x00-\x7f]*$/.test(meta!.raw)).toBe(true);
      expect(JSON.parse(meta!.raw)).toEqual(META_EVENT);
      expect(own).toMatchObject({ hubVerified: false, ownVerified: true });
      expect(receiver.attempts.map((a) => a.headers['x-sendgate-event-id'])).toEqual(['evt_meta', 'evt_own']);
      await second.sender.close();
      await second.outbox.close();
    } finally {
      for (const sender of senders) await sender.close().catch(() => undefined);
      await receiver.stop();
      await storage.cleanup();
    }
  });
});
