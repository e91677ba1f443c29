/**
 * The route against the bundled simulator's webhook encoding (ASCII-escaped JSON, Meta's batching,
 * its signature), over real HTTP on 127.0.0.1, inside an app with the gateway's small body limit.
 */
import Fastify from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciiJson, hubSignature256 } from '../../src/sim/ascii-json.js';
import { buildPayload, type WebhookUpdate } from '../../src/sim/webhook-sender.js';
import type { MetaEvent } from '../../src/webhooks/meta/events.js';
import { createMetaWebhookCounters, metaWebhookRoutes } from '../../src/webhooks/meta/routes.js';

const SECRET = 'interop-secret';
const received: MetaEvent[] = [];
const counters = createMetaWebhookCounters();
const app = Fastify({ bodyLimit: 64 * 1024 });
let url = '';

beforeAll(async () => {
  await app.register(metaWebhookRoutes, { appSecret: SECRET, verifyToken: 'tok', counters, onEvents: async (e) => void received.push(...e) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}/webhooks/whatsapp`;
});
afterAll(() => app.close());

async function send(body: string, signature = hubSignature256(body, SECRET)) {
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body });
  await res.body.dump();
  return res.statusCode;
}

describe('simulator-encoded webhooks', () => {
  it('accepts a 1000-update batch far above the app body limit, with non-ASCII text, once', async () => {
    const updates: WebhookUpdate[] = [];
    for (let i = 0; i < 999; i++) {
      updates.push({ wabaId: 'W1', phoneNumberId: '1001', displayPhoneNumber: '15550001001', status: { id: `wamid.${i}`, status: 'delivered', timestamp: '1750030073', recipient_id: `1555000${i}` } });
    }
    updates.push({
      wabaId: 'W1', phoneNumberId: '1001', displayPhoneNumber: '15550001001',
      message: { contact: { profile: { name: 'Søren' }, wa_id: '4520000000' }, message: { from: '4520000000', id: 'wamid.in', timestamp: '1750030074', type: 'text', text: { body: 'ARRÊT 🙏' } } },
    });
    const body = asciiJson(buildPayload(updates));
    expect(body.length).toBeGreaterThan(64 * 1024);
    expect(await send(body)).toBe(200);
    expect(await send(body)).toBe(200);
    expect(received).toHaveLength(1000);
    const inbound = received.find((e) => e.kind === 'inbound');
    expect(inbound?.kind === 'inbound' && inbound.text).toBe('ARRÊT 🙏');
    expect(counters.duplicates).toBe(1000);
  });

  it('refuses the same bytes signed with another secret', async () => {
    const body = asciiJson(buildPayload([{ wabaId: 'W1', phoneNumberId: '1001', displayPhoneNumber: '1', status: { id: 'wamid.x', status: 'sent', timestamp: '1' } }]));
    expect(await send(body, hubSignature256(body, 'wrong'))).toBe(401);
    expect(received.some((e) => e.kind === 'status' && e.wamid === 'wamid.x')).toBe(false);
  });
});
