/**
 * Tenant webhooks in Meta's format on Redis storage (the outbox, the parked statuses and the
 * wamid-answer notes in a real redis-server this file starts): the same deliveries as on the
 * embedded store reach @great-detail/whatsapp's webhook helper, each verified with the tenant
 * secret as app secret.
 */
import Client from '@great-detail/whatsapp';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { settleLane, startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';
import { MetaTenantReceiver, SignatureRefused, type Handled } from '../support/meta-tenant-receiver.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { eventually, NUMBER } from '../support/stack.js';

const SECRET = 'tenant-meta-app-secret-redis';
const WORDS = 'Olá, ação já! 日本語 🇧🇷 👋🏽';

let redis: RedisServer;
let s: E2eStack;
let receiver: MetaTenantReceiver;

beforeAll(async () => {
  redis = await startRedis();
  const sdk = new Client();
  receiver = new MetaTenantReceiver(async (raw, headers): Promise<Handled> => {
    const notification = await sdk.webhook.eventNotification({ method: 'POST', headers, body: raw } as any);
    if (!(await notification.checkSignature(SECRET))) throw new SignatureRefused('signature');
    const value = (notification.eventNotification as any).entry[0].changes[0].value;
    return [...(value.messages ?? []).map((m: any) => ({ kind: 'message', message: m })), ...(value.statuses ?? []).map((x: any) => ({ kind: 'status', item: x }))];
  });
  await receiver.start();
  s = await startE2e({
    tenant: { webhook: { url: receiver.url, secret: SECRET, format: 'meta' } },
    sim: { webhook: { statuses: { sentMs: 100, deliveredMs: 160, readMs: 240, readRate: 1, skipDeliveredRate: 0 } } },
    gateway: { storage: { kind: 'redis', url: redis.url, prefix: `meta${randomBytes(4).toString('hex')}` } },
  });
  await settleLane(s, s.clock, NUMBER, 2000);
}, 60_000);
afterAll(async () => {
  expect(receiver.attempts.filter((a) => !a.verified || a.answered !== 200).map((a) => a.error ?? a.answered)).toEqual([]);
  await s?.close();
  await receiver?.stop();
  await redis?.stop();
});

describe('tenant webhooks in Meta format on Redis', () => {
  it('delivers inbound text intact and a sent message\'s statuses under the id the send answered', async () => {
    expect(s.config.storage.kind).toBe('redis');
    const from = user(951);
    await s.inbound(from, WORDS);
    await eventually(() => receiver.items().find((x) => x.kind === 'message' && x.message.text?.body === WORDS));
    const res = await s.send(tpl(user(952), 'order_update'), { 'x-sendgate-category': 'utility' });
    expect(res.status).toBe(202);
    const id = res.json.messages[0].id as string;
    const { wamid } = await s.waitForState(id, ['read']);
    await eventually(() => (receiver.items().filter((x) => x.kind === 'status' && x.item.id === id).length >= 3 ? true : undefined));
    for (const x of receiver.items().filter((x) => x.kind === 'status' && x.item.id === id)) expect(x.item).toMatchObject({ gateway_id: id, wamid });
  });

  it('keeps the wamid for a Prefer: wait send, and relays an expiry as a failed status', async () => {
    const waited = await s.send(tpl(user(953), 'order_update'), { 'x-sendgate-category': 'utility', prefer: 'wait=5' });
    expect(waited.status).toBe(200);
    const { id: wamid, gateway_id: gatewayId } = waited.json.messages[0];
    await s.waitForState(gatewayId, ['read']);
    await eventually(() => (receiver.items().filter((x) => x.kind === 'status' && x.item.id === wamid).length >= 3 ? true : undefined));

    s.sim.setFaults({ errorRates: { '131049': 1 } }, NUMBER);
    const res = await s.send(tpl(user(954), 'promo'), { 'x-sendgate-category': 'marketing' });
    const id = res.json.messages[0].id as string;
    await s.waitForState(id, ['expired']);
    s.sim.setFaults(undefined, NUMBER);
    const failed = await eventually(() => receiver.items().find((x) => x.kind === 'status' && x.item.id === id));
    expect(failed.item).toMatchObject({ status: 'failed', errors: [{ code: 900504, title: 'Message expired' }] });
  });
});
