/**
 * Runtime tenants in a fleet (two gateway processes on one Redis): a number moved from the config
 * tenant to a tenant created at run time on one process is sent by whichever process owns it, with
 * a key issued on that process and used on the other; a key revoked on one process is refused by
 * both as soon as the revocation is answered; a token replaced on one process is used by the owner.
 */
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, startFleet, until, type Fleet } from '../support/fleet.js';

const KEPT = '5711';
const MOVED = '5712';

let fleet: Fleet | undefined;
afterAll(async () => {
  await fleet?.stop();
});

async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request(`${url}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}

const send = (url: string, key: string, number: string, to: string) => call(url, 'POST', `/v23.0/${number}/messages`, key, {
  messaging_product: 'whatsapp', to, type: 'text', text: { body: `runtime tenant ${to}` },
});

describe('runtime tenants and keys in a fleet', () => {
  it('changes made on one process hold on the other: a new tenant sends, a revoked key is refused everywhere', async () => {
    fleet = await startFleet({ gateways: 2, numbers: [KEPT, MOVED], mps: 20, burst: 5, pairIntervalMs: 1000, leaseTtlMs: 3000 });
    const a = fleet.gateways[0]!;
    const b = fleet.gateways[1]!;

    // The number leaves the config tenant and joins a tenant created at run time (with the wrong token first).
    expect((await call(a.url, 'PATCH', '/admin/tenants/fleet', ADMIN, { numbers: [{ phoneNumberId: KEPT }] })).status).toBe(200);
    const created = await call(a.url, 'POST', '/admin/tenants', ADMIN, { id: 'late', numbers: [{ phoneNumberId: MOVED, accessToken: 'EAAG-wrong', mps: 20, burst: 5 }] });
    expect(created.status).toBe(201);
    const issued = await call(a.url, 'POST', '/admin/tenants/late/api-keys', ADMIN);
    expect(issued.status).toBe(201);
    const key: string = issued.json.key;
    const second: string = (await call(b.url, 'POST', '/admin/tenants/late/api-keys', ADMIN)).json.key;

    // Both processes know the tenant, its key and its number at once (the change waited for them).
    expect((await call(b.url, 'GET', '/admin/tenants/late', ADMIN)).json.numbers[0].phoneNumberId).toBe(MOVED);
    expect((await send(b.url, key, MOVED, '+15557100001')).status).toBe(202);
    expect((await send(a.url, second, MOVED, '+15557100002')).status).toBe(202);

    // The wrong token draws a 190 at whichever process owns the number; a new token set on the other resumes it.
    await until('a 190 for the wrong token', async () => ((await fleet!.upstream.stats()).numbers[MOVED]?.refused?.['190'] ?? 0) > 0, 15_000);
    const redis = new Redis(fleet.redis.url);
    try {
      await until('the tenant pause recorded', async () => (await redis.hexists(`${fleet!.prefix}:{g}:control`, 'tenant:late')) === 1, 15_000);
    } finally {
      redis.disconnect();
    }
    const token = await call(b.url, 'PUT', `/admin/numbers/${MOVED}/access-token`, ADMIN, { accessToken: `EAAG-${MOVED}` });
    expect(token.status).toBe(200);
    expect(token.json.resumed).toBe(true);
    await until('both messages sent with the new token', async () => ((await fleet!.upstream.stats()).numbers[MOVED]?.accepted ?? 0) >= 2, 15_000);

    // Revoked through one process: refused by both from the answer on.
    const view = await call(b.url, 'GET', '/admin/tenants/late', ADMIN);
    const keyId = view.json.apiKeys[0].id as string;
    expect((await call(b.url, 'DELETE', `/admin/tenants/late/api-keys/${keyId}`, ADMIN)).status).toBe(200);
    expect((await send(a.url, key, MOVED, '+15557100003')).status).toBe(401);
    expect((await send(b.url, key, MOVED, '+15557100004')).status).toBe(401);
    expect((await send(a.url, second, MOVED, '+15557100005')).status).toBe(202);

    // Deleted through one process: its keys are refused on both.
    expect((await call(a.url, 'DELETE', '/admin/tenants/late', ADMIN)).status).toBe(200);
    expect((await send(b.url, second, MOVED, '+15557100006')).status).toBe(401);
    expect((await call(b.url, 'GET', '/admin/tenants/late', ADMIN)).status).toBe(404);
  }, 90_000);
});
