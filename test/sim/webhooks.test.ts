import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { asciiJson, startSimulator, type Simulator } from '../../src/sim/index.js';
import { post, text, TOKEN } from './helpers.js';

const SECRET = 'app-secret-for-tests';

interface Received {
  raw: Buffer;
  signature: string;
  json: any;
}

/** A plain node:http receiver that keeps raw bytes; answers with the next status from `answers` (then 200). */
async function receiver(answers: number[] = []): Promise<{ url: string; got: Received[]; server: Server }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      got.push({ raw, signature: String(req.headers['x-hub-signature-256']), json: JSON.parse(raw.toString('utf8')) });
      res.statusCode = answers.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got, server };
}

/** The standard check a receiver does: HMAC-SHA256 over the raw bytes, constant-time compare. */
function verify(raw: Buffer, header: string, secret: string): boolean {
  const expected = Buffer.from('sha256=' + createHmac('sha256', secret).update(raw).digest('hex'));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const statuses = (got: Received[]) =>
  got.flatMap((g) => g.json.entry.flatMap((e: any) => e.changes.flatMap((c: any) => c.value.statuses ?? [])));

let sim: Simulator | undefined;
let server: Server | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

describe('asciiJson', () => {
  it('escapes every non-ASCII unit as lowercase \\uXXXX and round-trips', () => {
    const original = { body: 'héllo wörld ✓ 👋 日本 STOP', n: 1 };
    const s = asciiJson(original);
    expect(/[^\x00-\x7f]/.test(s)).toBe(false);
    expect(s).toContain('\\u00e9');
    expect(s).toContain('\\ud83d\\udc4b');
    expect(s).not.toMatch(/\\u[0-9a-f]*[A-F]/);
    expect(JSON.parse(s)).toEqual(original);
  });
});

describe('simulator webhooks', () => {
  it('inbound user messages: Meta envelope, ASCII-escaped, signature verifies, text round-trips', async () => {
    const r = await receiver();
    server = r.server;
    sim = await startSimulator({
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, wabaId: '555', displayPhoneNumber: '15550001001' }],
      webhook: { url: r.url, appSecret: SECRET, flushMs: 5 },
    });
    const original = 'STOP — ne plus m’écrire 🙅';
    const wamid = sim.inbound({ phoneNumberId: '1001', from: '+1 650 555 1234', text: original, name: 'Zoë' });
    await sim.flushWebhooks();
    expect(r.got).toHaveLength(1);
    const { raw, signature, json } = r.got[0]!;
    expect(raw.every((b) => b < 0x80)).toBe(true);
    expect(verify(raw, signature, SECRET)).toBe(true);
    expect(verify(raw, signature, 'another-secret')).toBe(false);
    expect(json).toEqual({
      object: 'whatsapp_business_account',
      entry: [{
        id: '555',
        changes: [{
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550001001', phone_number_id: '1001' },
            contacts: [{ profile: { name: 'Zoë' }, wa_id: '16505551234' }],
            messages: [{ from: '16505551234', id: wamid, timestamp: expect.stringMatching(/^[0-9]+$/), type: 'text', text: { body: original } }],
          },
        }],
      }],
    });
  });

  it('statuses follow an accepted send: sent, then delivered and/or read, batched', async () => {
    const r = await receiver();
    server = r.server;
    sim = await startSimulator({
      seed: 7,
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }],
      limits: { pairIntervalMs: 0 },
      webhook: { url: r.url, appSecret: SECRET, flushMs: 5, statuses: { sentMs: 1, deliveredMs: 5, readMs: 10, readRate: 1, skipDeliveredRate: 0.5 } },
    });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await post(`${sim.url}/v23.0/1001/messages`, { ...text('16505551234'), biz_opaque_callback_data: `ref-${i}` });
      ids.push(res.json.messages[0].id);
    }
    await sim.flushWebhooks({ pendingStatuses: true }); // statuses not yet due are emitted now, in due order
    for (const g of r.got) expect(verify(g.raw, g.signature, SECRET)).toBe(true);
    const all = statuses(r.got);
    expect(r.got.length).toBeLessThan(all.length); // several updates per POST
    let skipped = 0;
    for (const [i, id] of ids.entries()) {
      const mine = all.filter((s: any) => s.id === id);
      const kinds = mine.map((s: any) => s.status).sort();
      expect(kinds).toContain('sent');
      expect(kinds).toContain('read');
      if (!kinds.includes('delivered')) skipped++;
      expect(mine.every((s: any) => s.recipient_id === '16505551234' && s.biz_opaque_callback_data === `ref-${i}`)).toBe(true);
      expect(mine.find((s: any) => s.status === 'sent').pricing).toEqual({ billable: false, pricing_model: 'PMP', type: 'free_customer_service', category: 'service' });
    }
    expect(skipped).toBeGreaterThan(0);
    expect(skipped).toBeLessThan(20);
  });

  it('injected async failures arrive as failed with errors[]', async () => {
    const r = await receiver();
    server = r.server;
    sim = await startSimulator({
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, faults: { asyncErrorRates: { 131026: 1 } } }],
      webhook: { url: r.url, appSecret: SECRET, flushMs: 1, statuses: { sentMs: 1 } },
    });
    const res = await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'));
    expect(res.status).toBe(200);
    await sim.flushWebhooks({ pendingStatuses: true });
    const [failed] = statuses(r.got);
    expect(failed).toMatchObject({ id: res.json.messages[0].id, status: 'failed', errors: [{ code: 131026, title: 'Message Undeliverable' }] });
  });

  it('async service-window mode accepts, then fails with 131047', async () => {
    const r = await receiver();
    server = r.server;
    sim = await startSimulator({
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, serviceWindow: 'async' }],
      webhook: { url: r.url, appSecret: SECRET, flushMs: 1, statuses: { sentMs: 1 } },
    });
    const res = await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'));
    expect(res.status).toBe(200);
    await sim.flushWebhooks({ pendingStatuses: true });
    expect(statuses(r.got)[0]).toMatchObject({ status: 'failed', errors: [{ code: 131047 }] });
  });

  it('retries non-200 answers with the same signed bytes, then counts delivery', async () => {
    const r = await receiver([500, 503]);
    server = r.server;
    sim = await startSimulator({
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }],
      webhook: { url: r.url, appSecret: SECRET, flushMs: 1, retryDelaysMs: [5, 5, 5] },
    });
    sim.inbound({ phoneNumberId: '1001', from: '16505551234', text: 'hi' });
    await sim.flushWebhooks();
    expect(r.got).toHaveLength(3);
    expect(r.got[1]!.raw.equals(r.got[0]!.raw)).toBe(true);
    expect(r.got[2]!.signature).toBe(r.got[0]!.signature);
    expect(sim.stats().webhooks).toMatchObject({ posts: 3, retries: 2, delivered: 1, dropped: 0 });
  });

  it('drops a POST after the last retry', async () => {
    const r = await receiver([500, 500, 500]);
    server = r.server;
    sim = await startSimulator({
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }],
      webhook: { url: r.url, appSecret: SECRET, flushMs: 1, retryDelaysMs: [1, 1] },
    });
    sim.inbound({ phoneNumberId: '1001', from: '16505551234', text: 'hi' });
    await sim.flushWebhooks();
    expect(sim.stats().webhooks).toMatchObject({ posts: 3, retries: 2, delivered: 0, dropped: 1 });
  });

  it('flushWebhooks({ pendingStatuses: true }) emits scheduled statuses at once, in order', async () => {
    const r = await receiver();
    server = r.server;
    sim = await startSimulator({
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }],
      webhook: { url: r.url, appSecret: SECRET, flushMs: 1, statuses: { sentMs: 60_000, deliveredMs: 120_000, readMs: 240_000, readRate: 1, skipDeliveredRate: 0 } },
    });
    const res = await post(`${sim.url}/v23.0/1001/messages`, text('16505551234'));
    await sim.flushWebhooks();
    expect(statuses(r.got)).toEqual([]);
    expect(sim.stats().webhooks?.statusesPending).toBe(3);
    await sim.flushWebhooks({ pendingStatuses: true });
    expect(statuses(r.got).map((s: any) => [s.id, s.status])).toEqual([
      [res.json.messages[0].id, 'sent'], [res.json.messages[0].id, 'delivered'], [res.json.messages[0].id, 'read'],
    ]);
    expect(sim.stats().webhooks?.statusesPending).toBe(0);
  });
});
