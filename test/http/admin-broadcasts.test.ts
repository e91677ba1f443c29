/**
 * GET /admin/broadcasts: every tenant's broadcasts newest first with their progress, filtered by
 * state and tenant, paged by cursor; the admin token only. On Redis storage the same: a broadcast
 * created through the API runs to its end and is listed.
 */
import { Value } from '@sinclair/typebox/value';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { AdminBroadcastSchema } from '../../src/http/routes/admin-broadcasts.js';
import { startGateway } from '../../src/server.js';
import { broadcastBody, call, employee, waitForBroadcast } from '../broadcasts/support.js';
import { startRedis } from '../support/redis-server.js';
import { API_KEY, NUMBER, OTHER_KEY, OTHER_NUMBER, startStack, TOKEN, type Stack } from '../support/stack.js';

const ADMIN = 'admin-token-0123456789';
let s: Stack;

beforeAll(async () => {
  // Slow enough that a five-recipient broadcast is still running when listed.
  const numbers = [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 1, burst: 1 }];
  s = await startStack({
    numbers,
    gateway: {
      admin: { token: ADMIN },
      tenants: [
        { id: 'acme', apiKeys: [API_KEY], messagingLimit: 'unlimited', policy: { optIn: 'off' }, numbers },
        { id: 'other', apiKeys: [OTHER_KEY], messagingLimit: 'unlimited', policy: { optIn: 'off' }, numbers: [{ phoneNumberId: OTHER_NUMBER, accessToken: 'EAAG-other-token' }] },
      ],
    },
  });
}, 30_000);
afterAll(async () => {
  await s?.close();
});

const admin = (path: string, token = ADMIN) => call(s.gateway.url, 'GET', path, undefined, { authorization: `Bearer ${token}` });

async function create(recipients: number, first: number, key = API_KEY, number = NUMBER): Promise<string> {
  const res = await call(s.gateway.url, 'POST', '/v1/broadcasts',
    broadcastBody(Array.from({ length: recipients }, (_, i) => ({ to: employee(first + i) })), { phone_number_id: number }),
    { authorization: `Bearer ${key}` });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return res.json.id as string;
}

describe('GET /admin/broadcasts', () => {
  it('needs the admin token', async () => {
    expect((await call(s.gateway.url, 'GET', '/admin/broadcasts', undefined, { authorization: '' })).status).toBe(403);
    const tenantKey = await call(s.gateway.url, 'GET', '/admin/broadcasts'); // acme's API key
    expect(tenantKey.status).toBe(403);
    expect(tenantKey.json.error.fbtrace_id).toEqual(expect.any(String));
  });

  it('answers an empty list before any broadcast', async () => {
    const res = await admin('/admin/broadcasts');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ data: [], next: null });
  });

  it('lists every tenant\'s broadcasts newest first with their progress, filtered and paged', async () => {
    const done = await create(1, 0);
    await waitForBroadcast(s.gateway.url, done, (v) => v.state === 'completed');
    const others = await create(1, 100, OTHER_KEY, OTHER_NUMBER);
    const running = [await create(5, 10), await create(5, 20)];

    const all = await admin('/admin/broadcasts');
    expect(all.status).toBe(200);
    expect(all.json.data.map((b: any) => b.id)).toEqual([running[1], running[0], others, done]);
    expect(all.json.next).toBeNull();
    for (const b of all.json.data) expect(Value.Errors(AdminBroadcastSchema, b).First(), JSON.stringify(b)).toBeUndefined();

    const finished = all.json.data[3];
    expect(finished).toMatchObject({ tenant: 'acme', phone_number_id: NUMBER, state: 'completed', recipients: 1, eta_seconds: 0, waiting_for_limit: 0 });
    expect(finished.counts).toMatchObject({ sent: 1, pending: 0, queued: 0, failed: 0 });
    expect(finished.ended_at).toEqual(expect.any(String));
    const last = all.json.data[0];
    expect(last).toMatchObject({ tenant: 'acme', state: 'running', recipients: 5, ended_at: null });
    // Every recipient is somewhere: not yet admitted, queued, or ended.
    expect(Object.values(last.counts as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(5);
    expect(last.counts.sent).toBeLessThan(5);
    expect(last.eta_seconds).toBeGreaterThan(0);

    const other = await admin('/admin/broadcasts?tenant=other');
    expect(other.json.data.map((b: any) => b.id)).toEqual([others]);
    expect((await admin('/admin/broadcasts?tenant=acme&state=completed')).json.data.map((b: any) => b.id)).toEqual([done]);
    expect((await admin('/admin/broadcasts?state=running&tenant=acme')).json.data.map((b: any) => b.id)).toEqual(running.reverse());
    expect((await admin('/admin/broadcasts?tenant=nobody')).json).toEqual({ data: [], next: null });

    const first = await admin('/admin/broadcasts?limit=3');
    expect(first.json.data).toHaveLength(3);
    expect(first.json.next).toBe(first.json.data[2].id);
    const second = await admin(`/admin/broadcasts?limit=3&cursor=${first.json.next}`);
    expect(second.json.data.map((b: any) => b.id)).toEqual([done]);
    expect(second.json.next).toBeNull();
    const byTwo = await admin('/admin/broadcasts?limit=2');
    expect(byTwo.json.next).toBe(byTwo.json.data[1].id);
    expect((await admin(`/admin/broadcasts?limit=2&cursor=${byTwo.json.next}`)).json).toMatchObject({ next: null });
  }, 30_000);

  it('refuses a bad query in the Graph envelope', async () => {
    for (const q of ['cursor=sg_nope', 'state=sending', 'limit=0', 'limit=201']) {
      const res = await admin(`/admin/broadcasts?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.json.error.fbtrace_id).toEqual(expect.any(String));
    }
  });
});

describe('GET /admin/broadcasts on Redis storage', () => {
  it('lists a broadcast created through the API, which runs to its end', async () => {
    const redis = await startRedis();
    const gateway = await startGateway(parseConfig({
      listen: { host: '127.0.0.1', port: 0 },
      storage: { kind: 'redis', url: redis.url, prefix: 'admin-bc' },
      upstream: { baseUrl: s.sim.url, version: 'v23.0', timeoutMs: 2000 },
      admin: { token: ADMIN },
      log: { level: 'silent' },
      tenants: [{ id: 'acme', apiKeys: [API_KEY], policy: { optIn: 'off' }, numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN }] }],
    }, 'redis config'), { defaultMetrics: false });
    try {
      const empty = await request(`${gateway.url}/admin/broadcasts`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(await empty.body.json()).toEqual({ data: [], next: null });
      const created = await call(gateway.url, 'POST', '/v1/broadcasts', broadcastBody([0, 1, 2].map((i) => ({ to: employee(700 + i) })), { category: 'utility' }));
      expect(created.status).toBe(201);
      const done = await waitForBroadcast(gateway.url, created.json.id, (v) => v.state === 'completed');
      expect(done.counts).toMatchObject({ pending: 0, queued: 0, sent: 3 });
      const res = await request(`${gateway.url}/admin/broadcasts`, { headers: { authorization: `Bearer ${ADMIN}` } });
      expect(res.statusCode).toBe(200);
      const page = (await res.body.json()) as { data: unknown[]; next: string | null };
      expect(page.next).toBeNull();
      expect(page.data).toEqual([expect.objectContaining({ id: created.json.id, tenant: 'acme', state: 'completed', recipients: 3, counts: expect.objectContaining({ sent: 3 }) })]);
      expect(Value.Check(AdminBroadcastSchema, page.data[0])).toBe(true);
    } finally {
      await gateway.close();
      await redis.stop();
    }
  }, 30_000);
});
