/**
 * The operators' views through the real gateway and simulator: numbers' live state with pauses and
 * why, tenants' messaging-limit use, failed messages listed with cursor paging and requeued (sent
 * the second time), and tenant-webhook dead letters listed and replayed.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBER, OTHER_NUMBER, eventually, startStack, templateBody, textBody, type Stack } from '../support/stack.js';
import { TenantReceiver } from '../support/tenant-receiver.js';

const ADMIN = 'admin-token-0123456789';
const HOOK_SECRET = 'hook-secret-0123456789';
let stack: Stack;
let receiver: TenantReceiver;

beforeAll(async () => {
  receiver = new TenantReceiver(HOOK_SECRET, () => Math.floor(Date.now() / 1000));
  await receiver.start();
  stack = await startStack({
    gateway: {
      admin: { token: ADMIN },
      // One retry 50 ms after the first attempt, then dead.
      webhookDelivery: { retryScheduleMs: [50], breakerFailures: 1000 },
      tenants: [
        { id: 'acme', apiKeys: ['key-acme-test-1'], messagingLimit: 250, webhook: { url: receiver.url, secret: HOOK_SECRET },
          numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-acme-token', mps: 20, burst: 20 }] },
        { id: 'other', apiKeys: ['key-other-test-1'], numbers: [{ phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token' }] },
      ],
    },
  });
});

afterAll(async () => {
  await stack?.close();
  await receiver?.stop();
});

async function admin(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, token = ADMIN): Promise<{ status: number; json: any }> {
  const res = await request(`${stack.gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: await res.body.json() };
}

async function simFaults(faults: unknown): Promise<void> {
  const res = await request(`${stack.sim.url}/__sim/faults`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumberId: NUMBER, faults }),
  });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
}

const numberView = async (id: string) => ((await admin('GET', '/admin/numbers')).json as any[]).find((n) => n.phone_number_id === id);

describe('admin views', () => {
  it('need the admin token, and answer in the Graph envelope', async () => {
    for (const path of ['/admin/numbers', '/admin/usage', '/admin/messages?state=failed', '/admin/tenants/acme/webhooks/dead']) {
      const res = await admin('GET', path, undefined, 'not-the-admin-token');
      expect(res.status).toBe(403);
      expect(res.json.error).toMatchObject({ code: expect.any(Number), fbtrace_id: expect.any(String) });
    }
  });

  it('GET /admin/numbers: every number, its queue while paused, and who paused it', async () => {
    const initial = (await admin('GET', '/admin/numbers')).json;
    expect(initial.map((n: any) => n.phone_number_id)).toEqual([NUMBER, OTHER_NUMBER]);
    expect(initial[0]).toMatchObject({ tenant: 'acme', mps: 20, burst: 20, queue_depth: 0, paused: null, sent_total: 0 });
    expect(initial[0].owner).toBeUndefined(); // one process: nobody else owns anything

    expect((await admin('POST', `/admin/numbers/${NUMBER}/pause`)).status).toBe(200);
    const paused = await numberView(NUMBER);
    expect(paused.paused).toMatchObject({ by: 'operator', scope: 'number', since: expect.any(String) });

    await admin('POST', `/admin/numbers/${NUMBER}/resume`);
    expect((await numberView(NUMBER)).paused).toBeNull();
  });

  it('shows queue depth and age of a number whose sends wait', async () => {
    await admin('PUT', `/admin/numbers/${NUMBER}/limits`, { mps: 0.5, burst: 1 });
    for (let i = 0; i < 4; i++) expect((await stack.send(textBody(`+1650555100${i}`))).status).toBe(202);
    const view = await eventually(async () => {
      const v = await numberView(NUMBER);
      return v.queue_depth >= 2 ? v : undefined;
    });
    expect(view.mps).toBe(0.5);
    expect(view.oldest_queued_age_sec).toBeGreaterThanOrEqual(0);
    await admin('PUT', `/admin/numbers/${NUMBER}/limits`, { mps: 20, burst: 20 });
    const drained = await eventually(async () => {
      const v = await numberView(NUMBER);
      return v.queue_depth === 0 && v.sent_total >= 4 ? v : undefined;
    });
    expect(drained.in_flight).toBeGreaterThanOrEqual(0);
  });

  it('messaging-limit use per tenant', async () => {
    const before = (await admin('GET', '/admin/tenants/acme/usage')).json;
    expect(before).toMatchObject({ tenant: 'acme', limit: 250 });
    for (let i = 0; i < 3; i++) expect((await stack.send(templateBody(`+1650555200${i}`))).status).toBe(202);
    const after = (await admin('GET', '/admin/tenants/acme/usage')).json;
    expect(after.used).toBe(before.used + 3);
    expect(after.free).toBe(250 - after.used);
    const all = (await admin('GET', '/admin/usage')).json;
    expect(all.map((u: any) => u.tenant)).toEqual(['acme', 'other']);
    expect((await admin('GET', '/admin/tenants/nobody/usage')).status).toBe(404);
  });

  it('lists failed messages newest first with cursor paging, and a requeue sends one again', async () => {
    // Earlier tests' sends all gone first: only these three fail.
    await eventually(async () => {
      const v = await numberView(NUMBER);
      return v.queue_depth === 0 && v.in_flight === 0 ? true : undefined;
    });
    await simFaults({ errorRates: { 131009: 1 } });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await stack.send(textBody(`+1650555300${i}`));
      expect(res.status).toBe(202);
      ids.push(res.json.messages[0].id);
      await eventually(async () => ((await stack.get(`/v1/messages/${ids[i]}`)).json.state === 'failed' ? true : undefined));
    }
    await simFaults(null);

    const first = await admin('GET', '/admin/messages?state=failed&limit=2&tenant=acme');
    expect(first.status).toBe(200);
    expect(first.json.data.map((m: any) => m.id)).toEqual([ids[2], ids[1]]);
    expect(first.json.data[0]).toMatchObject({ tenant: 'acme', state: 'failed', last_error: { code: 131009 } });
    const second = await admin('GET', `/admin/messages?state=failed&limit=2&tenant=acme&cursor=${encodeURIComponent(first.json.next)}`);
    expect(second.json.data.map((m: any) => m.id)).toEqual([ids[0]]);
    expect(second.json.next).toBeNull();
    expect((await admin('GET', `/admin/messages?state=failed&number=${OTHER_NUMBER}`)).json).toEqual({ data: [], next: null });
    expect((await admin('GET', '/admin/messages?state=expired')).json.data).toEqual([]);

    const requeued = await admin('POST', `/admin/messages/${ids[0]}/requeue`, { deadline_sec: 600 });
    expect(requeued.status).toBe(200);
    expect(requeued.json).toMatchObject({ id: ids[0], state: 'queued', attempts: 0 });
    expect(Date.parse(requeued.json.deadline_at) - Date.now()).toBeGreaterThan(590_000);
    const sent = await eventually(async () => {
      const status = (await stack.get(`/v1/messages/${ids[0]}`)).json;
      return status.state === 'sent' ? status : undefined;
    });
    expect(sent.wamid).toMatch(/^wamid\./);
    expect((await admin('GET', '/admin/messages?state=failed&tenant=acme')).json.data.map((m: any) => m.id)).toEqual([ids[2], ids[1]]);
    // Not failed any more: a second requeue changes nothing.
    expect((await admin('POST', `/admin/messages/${ids[0]}/requeue`)).status).toBe(400);
  });

  it('refuses bad listing queries and unknown messages in the envelope', async () => {
    for (const query of ['state=sent', 'state=failed&limit=0', 'state=failed&limit=100000', 'state=failed&cursor=nonsense', '']) {
      const res = await admin('GET', `/admin/messages?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.error.error_data.details).toEqual(expect.any(String));
    }
    expect((await admin('POST', '/admin/messages/sg_nope/requeue')).status).toBe(404);
    expect((await admin('POST', '/admin/messages/nope!/requeue')).status).toBe(404);
    expect((await admin('POST', '/admin/messages/sg_nope/requeue', { deadline_sec: -5 })).status).toBe(400);
  });

  it('lists a tenant\'s dead webhook events and replays them once its endpoint works', async () => {
    receiver.failing = true;
    // The message's failure goes to the tenant's webhook, which keeps failing: dead after one retry.
    await simFaults({ errorRates: { 131009: 1 } });
    const failedRes = await stack.send(textBody('+16505554001'));
    await eventually(async () => ((await stack.get(`/v1/messages/${failedRes.json.messages[0].id}`)).json.state === 'failed' ? true : undefined));
    await simFaults(null);
    const dead = await eventually(async () => {
      const page = (await admin('GET', '/admin/tenants/acme/webhooks/dead?limit=100')).json;
      return page.data.some((d: any) => d.body.id === failedRes.json.messages[0].id) ? page : undefined;
    });
    expect(dead.data[0]).toMatchObject({ event_id: expect.any(String), attempts: 2, last_error: expect.stringContaining('500') });
    const paged = (await admin('GET', `/admin/tenants/acme/webhooks/dead?limit=1`)).json;
    expect(paged.data).toHaveLength(1);
    expect(paged.next).toBe(paged.data[0].seq);

    receiver.failing = false;
    const replay = await admin('POST', '/admin/tenants/acme/webhooks/dead/replay');
    expect(replay.json).toEqual({ tenant: 'acme', replayed: dead.data.length });
    await eventually(() => (receiver.delivered().some((a) => a.event.id === failedRes.json.messages[0].id) ? true : undefined));
    expect((await admin('GET', '/admin/tenants/acme/webhooks/dead')).json).toEqual({ data: [], next: null });
    expect((await admin('GET', '/admin/tenants/nobody/webhooks/dead')).status).toBe(404);
  });
});
