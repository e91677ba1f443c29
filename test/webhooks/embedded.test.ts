import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { metaWebhookRoutes, openEmbeddedWebhooks, signMetaBody, type Webhooks } from '../../src/webhooks/index.js';
import { statusPayload } from './fixtures.js';
import { Receiver, waitFor } from './receiver.js';

const SECRETS = { appSecret: 'app-secret', verifyToken: 'verify' };
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** One gateway lifetime: Meta statuses in → the owning tenant's webhook out. */
async function lifetime(dir: string, receiverUrl: string) {
  const webhooks: Webhooks = await openEmbeddedWebhooks({
    storagePath: dir,
    endpoint: (id) => (id === 'acme' ? { url: receiverUrl, secret: 'tenant-secret' } : undefined),
    sender: { retryScheduleMs: [20, 20, 20, 20, 20, 20, 20, 20, 20, 20], breaker: { failureThreshold: 2, coolDownMs: 30 } },
  });
  const app = Fastify();
  await app.register(metaWebhookRoutes, webhooks.routeOptions(SECRETS, async (events) => {
    for (const e of events) if (e.kind === 'status') await webhooks.sender.enqueue('acme', { type: 'status', recipient: e.recipient, wamid: e.wamid, status: e.status });
  }));
  const post = async (body: string) => (await app.inject({ method: 'POST', url: '/webhooks/whatsapp', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, SECRETS.appSecret) }, payload: body })).statusCode;
  const close = async () => {
    await app.close();
    await webhooks.close();
  };
  return { webhooks, post, close };
}

describe('openEmbeddedWebhooks', () => {
  it('turns Meta statuses into tenant webhooks, and keeps both dedupe and undelivered events across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-wh-emb-'));
    dirs.push(dir);
    const receiver = new Receiver('tenant-secret');
    await receiver.listen();
    const port = receiver.port;
    await receiver.close();
    try {
      const first = await lifetime(dir, `http://127.0.0.1:${port}/hook`);
      const batch = JSON.stringify(statusPayload([{ id: 'wamid.1', status: 'sent' }, { id: 'wamid.1', status: 'delivered' }, { id: 'wamid.2', status: 'sent', recipient: '447700900000' }]));
      expect(await first.post(batch)).toBe(200);
      expect(first.webhooks.stats().tenant).toMatchObject({ enqueued: 3, pending: 3, delivered: 0 });
      await first.close();

      await receiver.listen();
      const second = await lifetime(dir, receiver.url);
      // Meta retries the same batch after the restart: nothing new is enqueued.
      expect(await second.post(batch)).toBe(200);
      expect(second.webhooks.stats().meta.duplicates).toBe(3);
      await waitFor(() => second.webhooks.stats().tenant.delivered === 3);
      expect(receiver.delivered().map((a) => JSON.parse(a.body).wamid + '/' + JSON.parse(a.body).status).sort()).toEqual(['wamid.1/delivered', 'wamid.1/sent', 'wamid.2/sent']);
      const forFirst = receiver.delivered().map((a) => JSON.parse(a.body)).filter((b) => b.wamid === 'wamid.1').map((b) => b.status);
      expect(forFirst).toEqual(['sent', 'delivered']);
      expect(receiver.attempts.every((a) => a.signatureValid)).toBe(true);
      await second.close();
    } finally {
      await receiver.close();
    }
  });
});
